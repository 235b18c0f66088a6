"""Which boat or drone of either agency gets to an incident first.

:class:`Recommender` ranks every asset of both agencies by ETA = readiness (at base) + travel
time. Boats travel by water only (:mod:`sar.dispatch.travel`: one search per boat speed, the
same times as ``RouteGraph.eta``); a boat with no route (other section, a dam between, current
too strong) is listed as not eligible with the reason, never ranked. Drones fly straight within
half their endurance. Busy, out-of-service and unfit assets are listed with the reason.

A moving target (a drifting person, a boat running along the river) is met where the boat
arrives first: the earliest t with ``boat time to the target's position at t <= t``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import numpy as np

from geo.errors import GeoError
from geo.routing import RouteGraph
from sar.dispatch.config import DispatchSettings
from sar.dispatch.fleet import Agency, AssetKind, AssetState, AssetStatus, Capability
from sar.dispatch.travel import Anchor, FloatArray, FromPoints, TravelTimes
from sar.incidents.model import Incident, IncidentType

BORDER_TYPES = frozenset(
    {IncidentType.BORDER_CROSSING, IncidentType.RENDEZVOUS, IncidentType.LOITERING, IncidentType.DARK_TARGET}
)
_MEET_TOLERANCE_S = 1e-3


@dataclass(frozen=True)
class TargetMotion:
    """A target moving along the river: its position at ``time`` and its speed along the axis
    (+ downstream). ``along_river_mps=None`` means drifting with the section's current (a
    person in the water)."""

    lon: float
    lat: float
    time: datetime
    along_river_mps: float | None = None


@dataclass(frozen=True)
class Intercept:
    """Where and when the boat meets the moving target."""

    lon: float
    lat: float
    time: datetime
    section: str
    river_km: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "lon": self.lon,
            "lat": self.lat,
            "time": self.time.isoformat(),
            "section": self.section,
            "river_km": round(self.river_km, 3),
        }


@dataclass(frozen=True)
class Recommendation:
    """One asset's place in the ranking. ``eta_s`` (None: cannot get there) = ``readiness_s``
    + ``travel_s``; ``route`` is [lon, lat] pairs, filled for the top results only."""

    asset_id: str
    agency: Agency
    kind: AssetKind
    call_sign: str
    eta_s: float | None
    readiness_s: float
    travel_s: float | None
    distance_m: float | None
    route: list[list[float]] = field(default_factory=list)
    eligible: bool = True
    reason: str = ""
    proposed: bool = False
    intercept: Intercept | None = None

    def to_dict(self) -> dict[str, Any]:
        def r1(x: float | None) -> float | None:
            return None if x is None else round(x, 1)

        return {
            "asset_id": self.asset_id,
            "agency": self.agency.value,
            "kind": self.kind.value,
            "call_sign": self.call_sign,
            "eta_s": r1(self.eta_s),
            "readiness_s": r1(self.readiness_s),
            "travel_s": r1(self.travel_s),
            "distance_m": r1(self.distance_m),
            "route": self.route,
            "eligible": self.eligible,
            "reason": self.reason,
            "proposed": self.proposed,
            "intercept": self.intercept.to_dict() if self.intercept else None,
        }


@dataclass
class _Row:
    """Work record of one asset while ranking; ``path`` builds the route geometry on demand."""

    state: AssetState
    readiness_s: float
    reason: str = ""
    eta_s: float | None = None
    distance_m: float | None = None
    intercept: Intercept | None = None
    path: Callable[[], list[tuple[float, float]]] | None = None

    @property
    def eligible(self) -> bool:
        return not self.reason and self.eta_s is not None


def required_capabilities(incident: Incident, settings: DispatchSettings) -> frozenset[Capability]:
    """SAR (person in water or any SAR phase) -> sar_capabilities; border events ->
    border_capabilities; a manual report without a SAR phase -> none."""
    e = settings.eligibility
    if incident.type == IncidentType.PERSON_IN_WATER or incident.sar_phase is not None:
        return e.sar_capabilities
    if incident.type in BORDER_TYPES:
        return e.border_capabilities
    return frozenset()


def readiness_s(state: AssetState) -> float:
    """Minutes to launch apply at base only; an asset already out is ready at once."""
    return state.config.readiness_min * 60.0 if state.at_base else 0.0


class Recommender:
    """Ranks assets for an incident. Collaborators come in: the route graph and the settings."""

    def __init__(self, graph: RouteGraph, settings: DispatchSettings, travel: TravelTimes | None = None) -> None:
        self.graph = graph
        self.settings = settings
        self.travel = travel or TravelTimes(graph)

    def rank(
        self,
        incident: Incident,
        assets: list[AssetState],
        now: datetime,
        target: TargetMotion | None = None,
        routes: int = 3,
    ) -> list[Recommendation]:
        """All assets sorted by ETA (eligible first), at most ``max_results``. Route geometry is
        built for the first ``routes`` eligible results and the proposed ones. With a ``target``
        (e.g. ``TargetMotion(inc.lon, inc.lat, inc.updated_at)`` for a person drifting) boats are
        timed to the intercept; drones still fly to the incident's position."""
        need = required_capabilities(incident, self.settings)
        include_drones = self.settings.eligibility.include_drones
        rows = [
            _Row(s, readiness_s(s), _unfit(s, need))
            for s in assets
            if s.config.kind == AssetKind.BOAT or include_drones
        ]
        self._by_air(incident, [r for r in rows if r.state.config.kind == AssetKind.DRONE])
        self._by_water(incident, [r for r in rows if r.state.config.kind == AssetKind.BOAT], now, target)
        rows.sort(key=lambda r: (not r.eligible, np.inf if r.eta_s is None else r.eta_s, r.state.id))
        proposed = self._proposals(incident, rows)
        eligible_ids = [r.state.id for r in rows if r.eligible]
        with_route = set(eligible_ids[:routes]) | proposed
        out = [_recommendation(r, r.state.id in proposed, r.state.id in with_route) for r in rows]
        return out[: self.settings.eligibility.max_results]

    # -- drones ---------------------------------------------------------------------------

    def _by_air(self, incident: Incident, rows: list[_Row]) -> None:
        if not rows:
            return
        proj = self.graph.river.projector
        lon = [incident.lon, *(r.state.position.lon for r in rows)]
        lat = [incident.lat, *(r.state.position.lat for r in rows)]
        x, y = proj.to_xy(lon, lat)
        dist = np.hypot(x[1:] - x[0], y[1:] - y[0])
        for r, d in zip(rows, dist):
            c = r.state.config
            r.distance_m = float(d)
            r.eta_s = r.readiness_s + float(d) / c.speed_mps
            reach_m = c.speed_mps * c.endurance_min * 60.0 / 2.0 if c.endurance_min else np.inf
            if d > reach_m and not r.reason:
                r.reason = f"beyond the drone's radius of {reach_m / 1000:.1f} km (half its endurance)"
            r.path = partial(_straight, (r.state.position.lon, r.state.position.lat), (incident.lon, incident.lat))

    # -- boats ----------------------------------------------------------------------------

    def _by_water(self, incident: Incident, rows: list[_Row], now: datetime, target: TargetMotion | None) -> None:
        if not rows:
            return
        tt = self.travel
        try:
            dest = tt.anchor(target.lon, target.lat) if target else tt.anchor(incident.lon, incident.lat)
        except GeoError as exc:
            for r in rows:
                r.reason = r.reason or f"no route by water: {exc}"
            return
        anchors = tt.anchor_many([r.state.position.lon for r in rows], [r.state.position.lat for r in rows])
        groups: dict[float, list[tuple[_Row, Anchor]]] = {}
        for r, a in zip(rows, anchors):
            if isinstance(a, str):
                r.reason = r.reason or f"no route by water: boat {a}"
            else:
                groups.setdefault(r.state.config.speed_mps, []).append((r, a))
        for speed, members in groups.items():
            if target is None:
                self._static(dest, speed, members)
            else:
                self._moving(dest, target, now, speed, members)

    def _static(self, dest: Anchor, speed: float, members: list[tuple[_Row, Anchor]]) -> None:
        tt = self.travel
        field_ = tt.to_point(dest, speed)
        trips = field_.trips([a for _, a in members])
        for (r, a), trip in zip(members, trips):
            if not np.isfinite(trip.time_s):
                r.reason = tt.no_route_reason(a, dest, speed)
                continue
            r.eta_s = r.readiness_s + trip.time_s
            r.distance_m = trip.distance_m
            r.path = partial(field_.path, a, trip)

    def _moving(
        self, dest: Anchor, target: TargetMotion, now: datetime, speed: float, members: list[tuple[_Row, Anchor]]
    ) -> None:
        tt = self.travel
        reach = tt.graph.reaches[dest.reach]
        u = tt.current_mps(dest.reach) if target.along_river_mps is None else target.along_river_mps
        c0 = dest.chainage_m + u * (now - target.time).total_seconds()
        c0 = min(max(c0, reach.start_m), reach.end_m)
        offset_m = _signed_leg(tt, dest)
        fp = tt.from_points([a for _, a in members], speed)
        node_times = fp.node_times()
        for j, (r, a) in enumerate(members):
            plan = _meet(fp, j, node_times[j], dest, c0, u, r.readiness_s)
            if plan is None:
                r.reason = tt.no_route_reason(a, dest, speed)
                continue
            t_meet, c_meet, via = plan
            lon, lat = tt.graph.river.axis_point(reach.section, c_meet / 1000.0, offset_m)
            r.eta_s = t_meet
            r.distance_m = fp.distance_to(j, via, c_meet) + dest.water_leg_m
            r.intercept = Intercept(lon, lat, now + timedelta(seconds=t_meet), reach.section, c_meet / 1000.0)
            foot = tt.graph.river.section(reach.section).axis.interpolate(c_meet)
            end = [(round(lon, 7), round(lat, 7))] if dest.water_leg_m > 0 else []
            r.path = partial(_intercept_path, fp, j, via, (foot.x, foot.y), end)

    # -- proposals ------------------------------------------------------------------------

    def _proposals(self, incident: Incident, rows: list[_Row]) -> set[str]:
        """Joint border response: the nearest eligible boat of each agency notified (both when
        none is named); otherwise (SAR, manual) the overall best boat, or drone if no boat."""
        eligible = [r for r in rows if r.eligible]
        boats = [r for r in eligible if r.state.config.kind == AssetKind.BOAT]
        border = incident.type in BORDER_TYPES and incident.sar_phase is None
        if border and self.settings.eligibility.joint_border_response:
            agencies = {a for a in Agency if a.value in incident.agencies_to_notify} or set(Agency)
            out = set()
            for agency in agencies:
                first = next((r for r in boats if r.state.config.agency == agency), None)
                if first is not None:
                    out.add(first.state.id)
            return out
        best = (boats or eligible)[:1]
        return {r.state.id for r in best}


def _unfit(s: AssetState, need: frozenset[Capability]) -> str:
    """Why the asset may not be sent ("" when it may)."""
    if s.config.out_of_service or s.status == AssetStatus.OUT_OF_SERVICE:
        return "out of service"
    if s.status != AssetStatus.AVAILABLE:
        return f"not available: {s.status.value}" + (f" (order {s.order_id})" if s.order_id else "")
    missing = need - s.config.capabilities
    if missing:
        return "lacks capability: " + ", ".join(sorted(c.value for c in missing))
    return ""


def _recommendation(r: _Row, proposed: bool, with_route: bool) -> Recommendation:
    c = r.state.config
    route = [list(p) for p in r.path()] if with_route and r.path is not None else []
    return Recommendation(
        asset_id=c.id,
        agency=c.agency,
        kind=c.kind,
        call_sign=c.call_sign,
        eta_s=r.eta_s,
        readiness_s=r.readiness_s,
        travel_s=None if r.eta_s is None else r.eta_s - r.readiness_s,
        distance_m=r.distance_m,
        route=route,
        eligible=r.eligible,
        reason=r.reason,
        proposed=proposed,
        intercept=r.intercept,
    )


def _signed_leg(tt: TravelTimes, a: Anchor) -> float:
    """The anchor's water leg, signed like RiverModel offsets (+ = right bank looking downstream)."""
    r = tt.graph.reaches[a.reach]
    axis = tt.graph.river.section(r.section).axis
    ahead = axis.interpolate(min(a.chainage_m + 5.0, axis.length))
    behind = axis.interpolate(max(a.chainage_m - 5.0, 0.0))
    dx, dy = ahead.x - behind.x, ahead.y - behind.y
    wx, wy = a.water_xy[0] - a.foot_xy[0], a.water_xy[1] - a.foot_xy[1]
    return a.water_leg_m if dx * wy - dy * wx <= 0 else -a.water_leg_m


def _meet(
    fp: FromPoints, j: int, node_times: FloatArray, dest: Anchor, c0: float, u: float, ready_s: float
) -> tuple[float, float, int] | None:
    """Earliest meeting of boat j with a target at chainage ``c0`` (now) moving ``u`` m/s along
    its reach and stopping at the reach end: (time from now, chainage, node arrived from).

    g(t) = arrival(c(t)) - t is concave between two nodes the target passes (a minimum of
    linear pieces minus t), so the first node where the boat is there in time brackets the
    first root, which bisection then finds."""
    tt, v = fp.tt, fp.speed_mps
    leg_s = dest.water_leg_m / v
    reach = tt.graph.reaches[dest.reach]

    def arrival(c: float) -> tuple[float, int]:
        t, via = fp.time_to(j, dest.reach, c)
        return ready_s + t + leg_s, via

    t_now, via_now = arrival(c0)
    if u == 0.0 or t_now <= 0.0:
        return (t_now, c0, via_now) if np.isfinite(t_now) else None
    ids, ch = tt.reach_nodes[dest.reach]
    ahead = ch > c0 if u > 0 else ch < c0
    ids, ch = (ids[ahead], ch[ahead]) if u > 0 else (ids[ahead][::-1], ch[ahead][::-1])
    tau = np.abs(ch - c0) / abs(u)
    arrive = ready_s + node_times[ids] + leg_s
    hit = np.flatnonzero(arrive <= tau)
    if hit.size == 0:
        c_end = reach.end_m if u > 0 else reach.start_m
        t_end, via_end = arrival(c_end)
        return (t_end, c_end, via_end) if np.isfinite(t_end) else None
    k = int(hit[0])
    lo, hi = (0.0 if k == 0 else float(tau[k - 1])), float(tau[k])
    while hi - lo > _MEET_TOLERANCE_S:
        mid = 0.5 * (lo + hi)
        if arrival(c0 + u * mid)[0] <= mid:
            hi = mid
        else:
            lo = mid
    c = c0 + u * hi
    return hi, c, arrival(c)[1]


def _straight(a: tuple[float, float], b: tuple[float, float]) -> list[tuple[float, float]]:
    return [a, b]


def _intercept_path(
    fp: FromPoints, j: int, via: int, foot_xy: tuple[float, float], end: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    return fp.path(j, via, [foot_xy]) + end
