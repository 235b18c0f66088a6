"""``/api/reports``: response-time reports over a period, as JSON, CSV or self-contained HTML.

Readers (analysts, operators, admins) only. The database is the app's (``app.state.engine``, else
``app.state.store.engine``); the work (one query, statistics, figures) runs in a worker thread,
not on the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from sar.api.security import READERS, allow
from sar.reports.compute import compute_report
from sar.reports.model import MEDIA_TYPES
from sar.reports.output import render
from sar.reports.period import MAX_DAYS, ReportError, report_period

router = APIRouter(prefix="/api/reports", tags=["reports"], dependencies=[allow(READERS)])


def _engine(request: Request) -> Engine:
    """The app's engine, else its store's (the same database the server writes)."""
    state = request.app.state
    engine: Engine | None = getattr(state, "engine", None) or getattr(getattr(state, "store", None), "engine", None)
    if engine is None:
        raise HTTPException(503, "reports need the database: storage is not configured on this server")
    return engine


@router.get("/response-times", response_model=None)
def response_times(
    request: Request,
    first: Annotated[str, Query(alias="from", min_length=1, max_length=40, description="first day YYYY-MM-DD (UTC)")],
    last: Annotated[str, Query(alias="to", min_length=1, max_length=40, description="last day YYYY-MM-DD, included")],
    format: Annotated[Literal["json", "csv", "html"], Query(description="json, csv or html")] = "json",
) -> Response:
    """Response times per stage pair (count, median, p90, max) per agency, section, 10 km band,
    type, local hour, shift and ISO week, for the incidents detected from ``from`` 00:00 UTC to
    the end of ``to`` (at most 400 days). CSV columns: group_kind, group, from_stage, to_stage,
    count, median_s, p90_s, max_s."""
    try:
        period = report_period(first, last, MAX_DAYS)
    except ReportError as exc:
        raise HTTPException(422, str(exc)) from None
    engine = _engine(request)
    try:
        report = compute_report(engine, period, now=request.app.state.clock.now())
    except SQLAlchemyError as exc:
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
        raise HTTPException(503, f"database: {detail}") from None
    if format == "json":
        return JSONResponse(report.to_dict())
    layers: dict[str, Any] | None = getattr(request.app.state, "layers", None)
    body = render(report, format, layers)
    headers = {}
    if format == "csv":
        headers["Content-Disposition"] = (
            f'attachment; filename="response-times-{period.first_day}-{period.last_day}.csv"'
        )
    return Response(body, media_type=MEDIA_TYPES[format], headers=headers)
