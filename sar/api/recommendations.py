"""``/api/incidents/{id}/recommendations`` and ``/api/coverage``: which boat gets there first,
and how well the river is covered right now.

A person in the water drifts with the current, and a tracked boat moves: both are met at the
intercept, not at the first reported point. A :class:`CoverageWatch` recomputes coverage every
few seconds and puts a ``coverage`` message on the live feed when the gaps change (with
``alert`` when a new gap opened), so the operator sees a hole in the cover as it appears.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from geo.river import RiverModel
from sar.api.security import OPERATIONAL, READERS, allow
from sar.dispatch.coverage import Coverage, CoverageAnalyzer, is_available_boat
from sar.dispatch.fleet import Fleet
from sar.dispatch.orders import ProposeNext
from sar.dispatch.recommend import Recommender, TargetMotion
from sar.incidents.book import IncidentBook
from sar.incidents.model import Incident, IncidentType, UnknownIncident
from sar.live import LiveFeed
from sar.periodic import Periodic
from sar.pipeline import Pipeline
from sensors.adapter import Clock

router = APIRouter(tags=["dispatch"], dependencies=[allow(READERS, OPERATIONAL)])
log = logging.getLogger("sar.coverage")

_TRACK_LOOKAHEAD_S = 10.0

RecordCoverage = Callable[[datetime, Coverage, int], None]  # (time, coverage, boats available)


def target_motion(incident: Incident, pipeline: Pipeline, river: RiverModel) -> TargetMotion | None:
    """How the incident's target moves along the river: a person in the water drifts with the
    current; a tracked target moves at its track's speed along the axis; otherwise None."""
    tracks = {t.id: t for t in pipeline.tracker.tracks()}
    track = next((tracks[i] for i in incident.track_ids if i in tracks), None)
    if track is not None and incident.type is not IncidentType.PERSON_IN_WATER:
        lon1, lat1 = river.projector.to_lonlat(
            [track.x_m + track.vx_mps * _TRACK_LOOKAHEAD_S], [track.y_m + track.vy_mps * _TRACK_LOOKAHEAD_S]
        )
        loc = river.locate_many([track.lon, float(lon1[0])], [track.lat, float(lat1[0])])
        if loc.section_index[0] >= 0 and loc.section_index[0] == loc.section_index[1]:
            along = float(loc.chainage_m[1] - loc.chainage_m[0]) / _TRACK_LOOKAHEAD_S
            return TargetMotion(track.lon, track.lat, track.time, along_river_mps=along)
        return None
    if incident.type is IncidentType.PERSON_IN_WATER:
        if track is not None:
            return TargetMotion(track.lon, track.lat, track.time)
        return TargetMotion(incident.lon, incident.lat, incident.updated_at)
    return None


def next_best(
    recommender: Recommender, fleet: Fleet, book: IncidentBook, pipeline: Pipeline, river: RiverModel, clock: Clock
) -> ProposeNext:
    """The order book's escalation: the best eligible asset by the recommender's ranking (the
    same an operator sees), leaving out those already tried; boats before drones."""

    def propose(incident_id: str, exclude: frozenset[str]) -> dict[str, Any] | None:
        incident = book.get(incident_id)
        target = target_motion(incident, pipeline, river)
        ranked = recommender.rank(incident, fleet.all(), clock.now(), target=target, routes=0)
        fit = [r for r in ranked if r.eligible and r.asset_id not in exclude]
        best = next((r for r in fit if r.kind == "boat"), fit[0] if fit else None)
        if best is None:
            return None
        return {"asset_id": best.asset_id, "call_sign": best.call_sign, "agency": best.agency, "eta_s": best.eta_s}

    return propose


def _state(request: Request) -> Any:
    return request.app.state


State = Annotated[Any, Depends(_state)]


@router.get("/api/incidents/{incident_id}/recommendations")
async def recommendations(
    incident_id: str,
    state: State,
    motion: Annotated[
        Literal["auto", "none"], Query(description="auto: meet a drifting/moving target; none: go to its position")
    ] = "auto",
    routes: Annotated[int, Query(ge=0, le=50, description="route geometry for this many best assets")] = 3,
) -> dict[str, Any]:
    """Every asset of both agencies ranked by ETA = readiness (at base) + travel time by water
    (current, dams); drones by air. Not eligible ones are listed last with the reason."""
    book: IncidentBook = state.book
    try:
        incident = book.get(incident_id)
    except UnknownIncident as exc:
        raise HTTPException(404, str(exc).strip("'\"")) from None
    now = state.clock.now()
    target = target_motion(incident, state.pipeline, state.river) if motion == "auto" else None
    recommender: Recommender = state.recommender
    fleet: Fleet = state.fleet
    ranked = recommender.rank(incident, fleet.all(), now, target=target, routes=routes)
    return {
        "incident_id": incident.id,
        "computed_at": now.isoformat(),
        "target": None
        if target is None
        else {
            "lon": target.lon,
            "lat": target.lat,
            "time": target.time.isoformat(),
            "along_river_mps": target.along_river_mps,
        },
        "recommendations": [r.to_dict() for r in ranked],
    }


@router.get("/api/coverage")
async def coverage(state: State) -> dict[str, Any]:
    """Worst-case ETA of the available boats along every stretch of both sections (GeoJSON
    LineStrings with ``eta_s``), and the gaps above the threshold."""
    analyzer: CoverageAnalyzer = state.coverage
    fleet: Fleet = state.fleet
    cov = analyzer.coverage(fleet.all())
    return {
        **cov.to_geojson(),
        "gap_threshold_s": cov.gap_s,
        "gaps": cov.gaps_dict(),
        "computed_at": state.clock.now().isoformat(),
    }


@router.get("/api/coverage/preposition")
async def preposition(state: State) -> dict[str, Any]:
    """Standby points for idle boats that lower the expected ETA over the incidents so far (a
    uniform prior over the river when there are none)."""
    analyzer: CoverageAnalyzer = state.coverage
    book: IncidentBook = state.book
    history = [(i.lon, i.lat) for i in book.list() if i.section is not None]
    return analyzer.preposition(state.fleet.all(), history).to_dict()


class CoverageWatch(Periodic):
    """Recomputes coverage every ``every_s`` and publishes a ``coverage`` message when the gaps
    change; ``alert`` is true when a stretch became a gap. With ``record`` set (a store is
    attached) it also keeps a sample when the gaps changed and at least every ``record_every_s``:
    enough for the reports' coverage over time, without a row per check."""

    def __init__(
        self,
        analyzer: CoverageAnalyzer,
        fleet: Fleet,
        feed: LiveFeed,
        clock: Clock,
        every_s: float = 10.0,
        record: RecordCoverage | None = None,
        record_every_s: float = 60.0,
    ) -> None:
        super().__init__("coverage-watch", every_s, lambda: self.check(clock.now()), log, "coverage check")
        self.analyzer, self.fleet, self.feed = analyzer, fleet, feed
        self.record, self.record_every = record, timedelta(seconds=record_every_s)
        self.gaps: list[dict[str, Any]] = []
        self._recorded_at: datetime | None = None
        self._unrecorded_change = False

    def check(self, now: datetime) -> bool:
        """Recompute; publish and return True when the gaps changed; record a sample when due."""
        if len(self.fleet) == 0:
            return False  # no fleet configured: nothing to cover with
        assets = self.fleet.all()
        cov = self.analyzer.coverage(assets)
        gaps = cov.gaps_dict()
        changed = gaps != self.gaps
        if changed:
            self._publish(cov, gaps, now)
            self._unrecorded_change = True
        self._keep(now, cov, sum(1 for a in assets if is_available_boat(a)))
        return changed

    def _publish(self, cov: Coverage, gaps: list[dict[str, Any]], now: datetime) -> None:
        before = {(g["section"], g["from_km"], g["to_km"]) for g in self.gaps}
        opened = [g for g in gaps if (g["section"], g["from_km"], g["to_km"]) not in before]
        self.gaps = gaps
        self.feed.publish(
            "coverage",
            {
                "gaps": gaps,
                "gap_threshold_s": cov.gap_s,
                "alert": bool(opened),
                "opened": opened,
                "at": now.isoformat(),
            },
        )

    def _keep(self, now: datetime, cov: Coverage, boats_available: int) -> None:
        """A sample when the gaps changed since the last one kept, or the last is
        ``record_every_s`` old; a failed write is retried at the next check (then raised)."""
        if self.record is None:
            return
        due = self._recorded_at is None or now - self._recorded_at >= self.record_every
        if not (due or self._unrecorded_change):
            return
        self.record(now, cov, boats_available)
        self._recorded_at, self._unrecorded_change = now, False
