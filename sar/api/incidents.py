"""``/api/incidents``: incidents raised by the rules or reported by people, and operator actions.

The routes are ``async``: the book, the live feed and the orders are only touched from the event
loop (the pipeline's tick runs there too), never from a worker thread."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from sar.api.security import OPERATIONAL, READERS, allow
from sar.incidents.book import IncidentBook
from sar.incidents.model import IncidentAlreadyClosed, IncidentError, IncidentStatus, SarPhase, UnknownIncident
from sar.live import LiveFeed

router = APIRouter(prefix="/api/incidents", tags=["incidents"], dependencies=[allow(READERS, OPERATIONAL)])


def _book(request: Request) -> IncidentBook:
    book: IncidentBook = request.app.state.book
    return book


Book = Annotated[IncidentBook, Depends(_book)]


class ReportIn(BaseModel):
    """A report by a person (a call from a fisherman, a crew's sighting)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["manual", "person_in_water", "border_crossing", "rendezvous", "loitering", "dark_target"] = "manual"
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    time: datetime | None = Field(default=None, description="when it was seen (ISO 8601 with offset); default now")
    reporter: str = Field(min_length=1, max_length=200)
    text: str = Field(default="", max_length=4000)
    sar_phase: Literal["uncertainty", "alert", "distress"] | None = None


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str = Field(min_length=1, max_length=200)
    reason: str = Field(default="", max_length=2000)


def _feed(request: Request) -> LiveFeed:
    feed: LiveFeed = request.app.state.feed
    return feed


def _error(exc: IncidentError) -> HTTPException:
    if isinstance(exc, UnknownIncident):
        return HTTPException(404, str(exc).strip("'\""))
    if isinstance(exc, IncidentAlreadyClosed):
        return HTTPException(409, str(exc))
    return HTTPException(409, str(exc))


@router.get("")
async def incidents(
    book: Book, status: Annotated[Literal["open", "closed"] | None, Query(description="filter")] = None
) -> list[dict[str, Any]]:
    """Incidents by impact (high first), then age (oldest first)."""
    return [i.to_dict() for i in book.list(IncidentStatus(status) if status else None)]


@router.get("/{incident_id}")
async def incident(incident_id: str, book: Book) -> dict[str, Any]:
    try:
        return book.get(incident_id).to_dict()
    except IncidentError as exc:
        raise _error(exc) from None


@router.get("/{incident_id}/stages")
async def stages(incident_id: str, request: Request, book: Book) -> list[dict[str, Any]]:
    """The response stages reached (detected, alerted, acknowledged, dispatched, accepted,
    under_way, on_scene, resolved) with the time between each; 503 without storage."""
    try:
        book.get(incident_id)
    except IncidentError as exc:
        raise _error(exc) from None
    store = getattr(request.app.state, "store", None)
    if store is None:
        raise HTTPException(503, "storage is off: response stages are kept only with storage.enabled")
    found: list[dict[str, Any]] = store.stages(incident_id)
    return found


@router.post("", status_code=201)
async def report(body: ReportIn, request: Request, book: Book) -> dict[str, Any]:
    """Open an incident from a person's report; section, river km and side come from the river model."""
    when = body.time or request.app.state.clock.now()
    if when.tzinfo is None:
        raise HTTPException(422, "time: give a UTC offset (e.g. 2026-11-28T03:10:00Z)")
    phase = SarPhase(body.sar_phase) if body.sar_phase else None
    try:
        created = book.report(body.type, body.lon, body.lat, when, body.reporter, body.text, sar_phase=phase)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    _feed(request).publish("incident", created.to_dict())
    return created.to_dict()


@router.post("/{incident_id}/close")
async def close(incident_id: str, body: CloseIn, request: Request, book: Book) -> dict[str, Any]:
    """An operator closes an incident (resolved, false alarm, ...)."""
    try:
        closed = book.close(incident_id, by=body.by, reason=body.reason, time=request.app.state.clock.now())
    except IncidentError as exc:
        raise _error(exc) from None
    _feed(request).publish("incident", closed.to_dict())
    orders = request.app.state.orders
    for order in orders.list(open_only=True):  # nobody is sent to a closed incident
        if order.incident_id == closed.id:
            orders.cancel(order.id, by=f"operator:{body.by}", now=closed.updated_at, reason="incident closed")
    return closed.to_dict()
