"""The stage times of the incidents in a period, in one query: SQL filters by time, pivots the
stages and turns times into epoch seconds, so only numbers cross into Python; numpy does the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, Connection, Float, and_, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from sar.reports.model import ASSET_STAGES, FloatArray
from sar.reports.period import ReportError, ReportPeriod
from sar.store.schema import STAGES, IncidentEventRow, IncidentRow, Stage


class epoch_s(FunctionElement[float]):  # noqa: N801 (an SQL function's name)
    """Seconds since 1970-01-01 UTC of a UTCDateTime column, computed by the database."""

    type = Float()
    inherit_cache = True


@compiles(epoch_s, "sqlite")
def _epoch_sqlite(element: epoch_s, compiler: SQLCompiler, **kw: Any) -> str:
    # UTCDateTime stores naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' on SQLite: whole seconds from
    # strftime of the text up to the seconds, the fraction from the rest (SQLite's date functions
    # round to the millisecond)
    x = compiler.process(element.clauses, **kw)
    return f"(CAST(strftime('%s', substr({x}, 1, 19)) AS REAL) + CAST(substr({x}, 20) AS REAL))"


@compiles(epoch_s, "postgresql")
def _epoch_postgresql(element: epoch_s, compiler: SQLCompiler, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch_s)
def _epoch_other(element: epoch_s, compiler: SQLCompiler, **kw: Any) -> str:
    raise ReportError(f"reports support SQLite and PostgreSQL, not {compiler.dialect.name}")


@dataclass(frozen=True)
class StageTimes:
    """Per incident: what, where, the agency of the responding asset ("" when none) and each
    stage's first time (epoch s, NaN when absent; columns in ``STAGES`` order)."""

    ids: list[str]
    type: NDArray[np.str_]
    section: NDArray[np.str_]  # "" when none
    river_km: FloatArray
    lon: FloatArray
    lat: FloatArray
    agency: NDArray[np.str_]
    times: FloatArray  # (incidents, len(STAGES))

    def __len__(self) -> int:
        return len(self.ids)


def _first(event: Any, stage: Stage, column: str = "time") -> ColumnElement[Any]:
    """A column of the incident's (first) event of a stage."""
    return func.min(case((event.c.event == stage.value, event.c[column])))


def load_stage_times(conn: Connection, period: ReportPeriod) -> StageTimes:
    """One pass over the events of the incidents opened in the period: the stages pivoted per
    incident, times converted to epoch seconds once per stage. The responding asset's agency is
    that of the on-scene event, else of the latest asset stage reached."""
    i, e = IncidentRow.__table__, IncidentEventRow.__table__
    pivot = (
        select(
            i.c.id,
            i.c.type,
            func.coalesce(i.c.section, "").label("section"),
            i.c.river_km,
            i.c.lon,
            i.c.lat,
            func.coalesce(*(_first(e, s, "agency") for s in reversed(ASSET_STAGES)), "").label("agency"),
            i.c.opened_at,
            *(_first(e, s).label(s.value) for s in STAGES),
        )
        .select_from(i.outerjoin(e, and_(e.c.incident_id == i.c.id, e.c.event.in_([s.value for s in STAGES]))))
        .where(i.c.opened_at >= period.start, i.c.opened_at < period.end)
        .group_by(i.c.id)
        .subquery()
    )
    query = select(
        *(pivot.c[c] for c in ("id", "type", "section", "river_km", "lon", "lat", "agency")),
        epoch_s(pivot.c.opened_at),
        *(epoch_s(pivot.c[s.value]) for s in STAGES),
    )
    rows = conn.execute(query).all()
    first = 7
    cols: list[tuple[Any, ...]] = list(zip(*rows)) if rows else [()] * (first + 1 + len(STAGES))
    floats = np.array(cols[first:], dtype=float).reshape(1 + len(STAGES), len(rows))
    times = floats[1:].T.copy()
    times[:, 0] = np.where(np.isnan(times[:, 0]), floats[0], times[:, 0])  # no detected event: the opening
    return StageTimes(
        ids=[str(x) for x in cols[0]],
        type=np.array(cols[1], dtype=str),
        section=np.array(cols[2], dtype=str),
        river_km=np.array(cols[3], dtype=float),
        lon=np.array(cols[4], dtype=float),
        lat=np.array(cols[5], dtype=float),
        agency=np.array(cols[6], dtype=str),
        times=times,
    )
