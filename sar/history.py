"""Months of response history in the database, as operators and crews would have made it.

:func:`generate_history` takes the seeded synthetic incidents (:mod:`sar.dispatch.synthetic`:
times, types, positions, fleet availability) and writes what the system stores about each into
the schema's tables (:mod:`sar.store.schema`): the incident, its response stages
(``incident_events``), the orders and every order state change. Synthetic data for reports and
benchmarks, never real. A log-normal delay "LogN(m, s)" is ``m * exp(s * Z)``, Z standard normal
(median m seconds); every m and s is a field of :class:`ResponseModel`.

Per incident, times from its detection:

- ``alerted`` after LogN(alert); ``acknowledged`` after LogN(ack_median_day_s, ack_sigma) in the
  day shift, LogN(ack_median_night_s, ...) in the night shift (local 20:00-08:00, Europe/Chisinau),
  by a duty operator of the incident's side.
- With probability ``dispatch_share[type]`` boats are sent after LogN(dispatch); otherwise the
  incident is handled without a boat and resolved after LogN(remote).
- Which boats: the Recommender's proposal (joint, route-aware) among the boats free then: in
  the synthetic fleet state "available" (not out of service, not busy elsewhere), not on an
  order of this history, fit for the type (capabilities as ``required_capabilities``), with a
  route by water; ranked by readiness + travel time by water. Border incidents: the nearest
  boat of each notified agency (the second sent LogN(joint_gap) later); others: the best boat.
  Drones are not sent (times to scene here are by water); boats leave from their bases.
- Crew: declines with ``decline_probability`` (at the drawn delay, before the deadline),
  else accepts after LogN(accept); an order not answered within ``ack_deadline_s`` expires.
  After a decline or expiry the operator sends the next best boat not yet tried after
  LogN(redispatch), at most ``max_orders_per_slot`` orders per proposed boat.
- ``under_way`` = accepted + readiness x LogN(1, readiness_sigma); ``on_scene`` = under way +
  the travel time by water from the base (exactly as ``RouteGraph.eta``, within 1 s).
- ``resolved`` = first on scene + LogN(work_median_s[type], work_sigma); with no boat on scene,
  the last failed order (or the acknowledgement) + LogN(remote).
- Orders: sent -> accepted -> en_route -> on_scene -> returning (at resolution) -> done (back at
  base by water), or declined / expired; an order still short of the scene at resolution is
  cancelled then (as closing an incident does) and one not yet sent is never sent.
- Each stage is written once per incident, the first reached (as the store records them): with
  a joint response the on-scene event is the first boat's. A boat is busy from its order until
  it is back at base (``exclusive_boats``; False: only the synthetic fleet state counts).

Deterministic: the incidents come from ``generate_incidents(seed)``; every response delay is
drawn up front, in a fixed order, from ``default_rng([seed, HISTORY_STREAM])``. Fast: one
multi-source search per boat speed gives every base's time to every graph node and each
incident adds its partial edge and water legs (as ``TravelTimes`` does); the way back is one
reversed search per base; rows are inserted in bulk, ``chunk`` incidents per transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine, insert

from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.dispatch.config import DispatchSettings
from sar.dispatch.fleet import AssetConfig, AssetKind, example_fleet_path, load_fleet_file
from sar.dispatch.orders import HistoryEntry, Order, OrderState
from sar.dispatch.recommend import BORDER_TYPES, required_capabilities
from sar.dispatch.synthetic import SyntheticIncident, SyntheticModel, generate_incidents
from sar.dispatch.travel import Anchor, TravelTimes
from sar.incidents.model import Impact, Incident, IncidentStatus, IncidentType, SarPhase
from sar.store.schema import IncidentEventRow, IncidentRow, OrderEventRow, OrderRow, Stage

FloatArray = NDArray[np.float64]
HISTORY_STREAM = 0x48495354  # "HIST": the response delays' stream, apart from the incidents' own
_T = IncidentType


@dataclass(frozen=True)
class ResponseModel:
    """Delay distributions of the response (seconds; see the module docstring)."""

    alert_median_s: float = 3.0
    alert_sigma: float = 0.5
    ack_median_day_s: float = 25.0
    ack_median_night_s: float = 50.0
    ack_sigma: float = 0.6
    dispatch_median_s: float = 40.0
    dispatch_sigma: float = 0.5
    joint_gap_median_s: float = 12.0
    accept_median_s: float = 18.0
    accept_sigma: float = 0.8
    decline_probability: float = 0.02
    redispatch_median_s: float = 25.0
    redispatch_sigma: float = 0.5
    max_orders_per_slot: int = 3
    readiness_sigma: float = 0.25
    work_sigma: float = 0.6
    remote_median_s: float = 600.0
    remote_sigma: float = 0.7
    day_start_hour: int = 8
    night_start_hour: int = 20
    timezone: str = "Europe/Chisinau"
    exclusive_boats: bool = True  # False: a boat is free whenever the synthetic fleet state says so
    dispatch_share: Mapping[IncidentType, float] = field(
        default_factory=lambda: {
            _T.PERSON_IN_WATER: 1.0,
            _T.BORDER_CROSSING: 1.0,
            _T.RENDEZVOUS: 0.9,
            _T.DARK_TARGET: 0.8,
            _T.LOITERING: 0.5,
            _T.MANUAL: 0.7,
        }
    )
    work_median_s: Mapping[IncidentType, float] = field(
        default_factory=lambda: {
            _T.PERSON_IN_WATER: 2700.0,
            _T.BORDER_CROSSING: 1800.0,
            _T.RENDEZVOUS: 1500.0,
            _T.DARK_TARGET: 1200.0,
            _T.LOITERING: 900.0,
            _T.MANUAL: 1200.0,
        }
    )

    def night(self, local_hour: int) -> bool:
        return local_hour >= self.night_start_hour or local_hour < self.day_start_hour


@dataclass(frozen=True)
class HistorySummary:
    """What was written."""

    incidents: int
    served: int
    orders: int
    orders_by_state: dict[str, int]
    incident_events: int
    order_events: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "seconds": round(self.seconds, 2)}


IMPACT = {_T.PERSON_IN_WATER: Impact.HIGH, _T.BORDER_CROSSING: Impact.HIGH, _T.DARK_TARGET: Impact.HIGH}


def as_incident(s: SyntheticIncident, incident_id: str) -> Incident:
    """The synthetic incident as the book would have raised it (person in water: DISTRESS;
    agencies to notify: both for SAR and crossings, otherwise the side's)."""
    phase = SarPhase.DISTRESS if s.type is _T.PERSON_IN_WATER else None
    both = phase is not None or s.type is _T.BORDER_CROSSING
    rule = s.type is not _T.MANUAL
    return Incident(
        id=incident_id,
        type=s.type,
        impact=IMPACT.get(s.type, Impact.MEDIUM),
        confidence=0.9 if rule else 0.6,
        sar_phase=phase,
        lon=s.lon,
        lat=s.lat,
        section=s.section,
        river_km=s.river_km,
        side=s.side,
        agencies_to_notify=frozenset({"MD", "UA"}) if both else frozenset({s.side}),
        track_ids=(),
        status=IncidentStatus.CLOSED,
        opened_at=s.time,
        updated_at=s.time,
        title=f"{s.type.value.replace('_', ' ').capitalize()} at {s.section} km {s.river_km:.1f} (synthetic)",
        source=s.type.value if rule else "report:caller",
    )


class BoatTimes:
    """Travel time by water from each boat's base to each point (``out_s``) and back
    (``back_s``), (points x boats), inf where there is no route."""

    def __init__(self, graph: RouteGraph, boats: Sequence[AssetConfig], lon: Sequence[float], lat: Sequence[float]):
        tt = TravelTimes(graph)
        n, b = len(lon), len(boats)
        self.out_s: FloatArray = np.full((n, b), np.inf)
        self.back_s: FloatArray = np.full((n, b), np.inf)
        found = tt.anchor_many(list(lon), list(lat))
        ok = np.array([not isinstance(a, str) for a in found], dtype=bool)
        points = [a for a in found if isinstance(a, Anchor)]
        bases = tt.anchor_many([x.base.lon for x in boats], [x.base.lat for x in boats])
        if not points:
            return
        speeds: dict[float, list[int]] = {}
        for j, a in enumerate(bases):
            if isinstance(a, Anchor):
                speeds.setdefault(boats[j].speed_mps, []).append(j)
        for speed, members in speeds.items():
            fp = tt.from_points([_anchor(bases[j]) for j in members], speed)
            for row, j in enumerate(members):
                base = _anchor(bases[j])
                self.out_s[ok, j] = _from_base(tt, fp.dist[row], base, points, speed)
                self.back_s[ok, j] = [t.time_s for t in tt.to_point(base, speed).trips(points)]


def _anchor(a: Anchor | str) -> Anchor:
    assert isinstance(a, Anchor)
    return a


def _from_base(tt: TravelTimes, dist: FloatArray, base: Anchor, points: list[Anchor], speed: float) -> FloatArray:
    """Time from a base to each point: the base's node times plus the point's partial edge
    (or straight along a shared edge) plus both water legs, as ``FromPoints.time_to``."""
    lo = np.array([p.lo for p in points])
    hi = np.array([p.hi for p in points])
    ch = np.array([p.chainage_m for p in points])
    reach = np.array([p.reach for p in points])
    legs = np.array([p.water_leg_m for p in points]) + base.water_leg_m
    out = np.full(len(points), np.inf)
    for r in np.unique(reach).tolist():
        m = reach == r
        best = np.minimum(
            dist[lo[m]] + tt.leg_time(tt.chainage_m[lo[m]], ch[m], r, speed),
            dist[hi[m]] + tt.leg_time(tt.chainage_m[hi[m]], ch[m], r, speed),
        )
        if r == base.reach:
            direct = tt.leg_time(np.full(int(m.sum()), base.chainage_m), ch[m], r, speed)
            best = np.minimum(best, np.where(lo[m] == base.lo, direct, np.inf))
        out[m] = best
    result: FloatArray = out + legs / speed
    return result


@dataclass(frozen=True)
class _Try:
    """One order: the boat, when it was sent and answered (seconds from detection), and for an
    accepted one when it got under way and on scene."""

    boat: int
    sent: float
    outcome: OrderState  # ACCEPTED, DECLINED or EXPIRED
    answered: float
    under_way: float = np.inf
    on_scene: float = np.inf
    after: str = ""  # the order this one replaces, "" for a proposal


@dataclass
class _Rows:
    incidents: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    order_events: list[dict[str, Any]] = field(default_factory=list)


class _Responder:
    """Operators and crews answering the incidents in time order; keeps which boat is busy until when."""

    def __init__(
        self,
        boats: Sequence[AssetConfig],
        times: BoatTimes,
        dispatch: DispatchSettings,
        model: ResponseModel,
        seed: int,
        n: int,
    ) -> None:
        self.boats, self.times, self.dispatch, self.m = list(boats), times, dispatch, model
        self.tz = ZoneInfo(model.timezone)
        rng = np.random.default_rng([seed, HISTORY_STREAM])
        tries = model.max_orders_per_slot
        self.z = rng.standard_normal((n, 6))  # alert, ack, dispatch, joint gap, work, remote
        self.u = rng.random(n)  # boat sent or not
        self.z_order = rng.standard_normal((n, 2, tries, 3))  # accept, redispatch, readiness
        self.u_decline = rng.random((n, 2, tries))
        self.free_at = np.full(len(boats), -np.inf)  # epoch seconds
        self.ready_s = np.array([b.readiness_min * 60.0 for b in boats])
        self.index = {b.id: j for j, b in enumerate(boats)}
        self._fit: dict[tuple[IncidentType, SarPhase | None], NDArray[np.bool_]] = {}
        self.orders_by_state: dict[str, int] = {}
        self.counts = {"incidents": 0, "served": 0, "orders": 0, "incident_events": 0, "order_events": 0}

    def fit(self, inc: Incident) -> NDArray[np.bool_]:
        """Which boats have the capabilities the incident needs (as the Recommender decides)."""
        key = (inc.type, inc.sar_phase)
        if key not in self._fit:
            need = required_capabilities(inc, self.dispatch)
            self._fit[key] = np.array([need <= b.capabilities for b in self.boats], dtype=bool)
        return self._fit[key]

    def lognormal(self, median_s: float, sigma: float, z: float) -> float:
        return median_s * float(np.exp(sigma * z))

    # -- one incident ---------------------------------------------------------------------

    def respond(self, k: int, iid: str, s: SyntheticIncident, rows: _Rows) -> None:
        m, z, inc = self.m, self.z[k], as_incident(s, iid)
        alert = self.lognormal(m.alert_median_s, m.alert_sigma, z[0])
        night = m.night((s.time + timedelta(seconds=alert)).astimezone(self.tz).hour)
        ack = alert + self.lognormal(m.ack_median_night_s if night else m.ack_median_day_s, m.ack_sigma, z[1])
        op = f"operator:{s.side.lower()}-duty"
        tries: list[_Try] = []
        if self.u[k] < m.dispatch_share.get(s.type, 1.0):
            tries = self._dispatch(k, inc, s, ack + self.lognormal(m.dispatch_median_s, m.dispatch_sigma, z[2]))
        arrived = [t.on_scene for t in tries if t.outcome is OrderState.ACCEPTED]
        if arrived:
            resolved = min(arrived) + self.lognormal(m.work_median_s.get(s.type, 1200.0), m.work_sigma, z[4])
        else:
            resolved = max([ack, *(t.answered for t in tries)]) + self.lognormal(
                m.remote_median_s, m.remote_sigma, z[5]
            )
        ev = _Events(iid, s.time)
        ev.add(
            0.0, Stage.DETECTED, inc.title, actor=f"rule:{inc.source}" if inc.source != "report:caller" else inc.source
        )
        ev.add(alert, Stage.ALERTED, "shown to the operators", actor="system")
        ev.add(ack, Stage.ACKNOWLEDGED, "acknowledged", actor=op, agency=s.side)
        for n, t in enumerate(tries, start=1):
            if t.sent <= resolved:
                self._order(k, inc, n, t, resolved, ev, rows)
        ev.add(resolved, Stage.RESOLVED, "resolved", actor=op, agency=s.side)
        rows.events.extend(ev.rows())
        end = s.time + timedelta(seconds=resolved)
        rows.incidents.append(_incident_row(inc, end, op))
        self.counts["incidents"] += 1
        self.counts["served"] += bool(arrived)
        self.counts["incident_events"] += len(ev.first)

    def _dispatch(self, k: int, inc: Incident, s: SyntheticIncident, send: float) -> list[_Try]:
        """The proposal among the boats free at ``send`` and the orders until each is accepted."""
        out_s = self.times.out_s[k]
        at = s.time.timestamp() + send
        free = np.zeros(len(self.boats), dtype=bool)
        free[[self.index[a] for a in s.available if a in self.index]] = True
        free &= self.fit(inc) & np.isfinite(out_s)
        if self.m.exclusive_boats:
            free &= self.free_at <= at
        eta = self.ready_s + out_s
        ranked = sorted(np.flatnonzero(free).tolist(), key=lambda j: (eta[j], self.boats[j].id))
        if not ranked:
            return []
        if inc.type in BORDER_TYPES and inc.sar_phase is None and self.dispatch.eligibility.joint_border_response:
            firsts = (next((j for j in ranked if self.boats[j].agency == a), None) for a in ("MD", "UA"))
            slots = sorted(
                (j for j in firsts if j is not None and self.boats[j].agency in inc.agencies_to_notify),
                key=ranked.index,
            )
        else:
            slots = ranked[:1]
        tried, tries = set(slots), list[_Try]()
        for si, j in enumerate(slots[:2]):
            t = send + (self.lognormal(self.m.joint_gap_median_s, 0.5, self.z[k, 3]) if si else 0.0)
            for attempt in range(self.m.max_orders_per_slot):
                tr = self._answer(k, si, attempt, j, t, tries)
                tries.append(tr)
                nxt = next((x for x in ranked if x not in tried), None)
                if tr.outcome is OrderState.ACCEPTED or nxt is None:
                    break
                tried.add(nxt)
                j = nxt
                t = tr.answered + self.lognormal(
                    self.m.redispatch_median_s, self.m.redispatch_sigma, self.z_order[k, si, attempt, 1]
                )
        return tries

    def _answer(self, k: int, si: int, attempt: int, j: int, sent: float, before: list[_Try]) -> _Try:
        """The crew's answer to one order."""
        m, za = self.m, self.z_order[k, si, attempt]
        after = f"O{len(before)}" if attempt else ""
        delay = self.lognormal(m.accept_median_s, m.accept_sigma, za[0])
        deadline = self.dispatch.ack_deadline_s
        if self.u_decline[k, si, attempt] < m.decline_probability:
            return _Try(j, sent, OrderState.DECLINED, sent + min(delay, deadline * 0.99), after=after)
        if delay > deadline:
            return _Try(j, sent, OrderState.EXPIRED, sent + deadline, after=after)
        under_way = sent + delay + self.ready_s[j] * float(np.exp(m.readiness_sigma * za[2]))
        return _Try(j, sent, OrderState.ACCEPTED, sent + delay, under_way, under_way + self.times.out_s[k, j], after)

    def _order(self, k: int, inc: Incident, n: int, t: _Try, resolved: float, ev: _Events, rows: _Rows) -> None:
        """One order's rows, cut at the resolution; the boat is busy until it is back."""
        boat, t0 = self.boats[t.boat], inc.opened_at
        oid, op, crew = f"{inc.id}-O{n}", f"operator:{boat.agency.value.lower()}-duty", f"crew:{boat.id}"
        name = f"{boat.call_sign} ({boat.id})"
        hist = [HistoryEntry(t0 + timedelta(seconds=t.sent), OrderState.SENT, op, f"{name} sent to incident {inc.id}")]
        ev.add(t.sent, Stage.DISPATCHED, hist[0].detail, actor=op, asset=boat)
        free = resolved
        if t.outcome is not OrderState.ACCEPTED:
            if t.answered <= resolved:
                who = "system" if t.outcome is OrderState.EXPIRED else crew
                hist.append(HistoryEntry(t0 + timedelta(seconds=t.answered), t.outcome, who, t.outcome.value))
                free = t.answered
        else:
            steps = (
                (t.answered, OrderState.ACCEPTED, Stage.ACCEPTED),
                (t.under_way, OrderState.EN_ROUTE, Stage.UNDER_WAY),
            )
            for when, state, stage in (*steps, (t.on_scene, OrderState.ON_SCENE, Stage.ON_SCENE)):
                if when > resolved:
                    break
                hist.append(HistoryEntry(t0 + timedelta(seconds=when), state, crew, f"crew reports {state.value}"))
                ev.add(when, stage, f"{name} {stage.value.replace('_', ' ')}", actor=crew, asset=boat)
            if t.on_scene <= resolved:
                back = self.times.back_s[k, t.boat]
                free = resolved + (back if np.isfinite(back) else self.times.out_s[k, t.boat])
                hist.append(HistoryEntry(t0 + timedelta(seconds=resolved), OrderState.RETURNING, crew, "returning"))
                hist.append(HistoryEntry(t0 + timedelta(seconds=free), OrderState.DONE, crew, "back at base"))
            elif t.under_way <= resolved:
                free = resolved + (resolved - t.under_way)  # about the way out so far, back
        if hist[-1].state in (OrderState.SENT, OrderState.ACCEPTED, OrderState.EN_ROUTE):
            hist.append(HistoryEntry(t0 + timedelta(seconds=resolved), OrderState.CANCELLED, op, "incident resolved"))
        self.free_at[t.boat] = max(self.free_at[t.boat], t0.timestamp() + free)
        order = Order(
            id=oid,
            incident_id=inc.id,
            asset_id=boat.id,
            agency=boat.agency.value,
            created_at=hist[0].time,
            deadline=hist[0].time + timedelta(seconds=self.dispatch.ack_deadline_s),
            state=hist[-1].state,
            by=op,
            note=f"next best after {inc.id}-{t.after}" if t.after else "",
            eta_s=round(float(self.ready_s[t.boat] + self.times.out_s[k, t.boat]), 1),
            updated_at=hist[-1].time,
            history=tuple(hist),
        )
        rows.orders.append({**{c: getattr(order, c) for c in _ORDER_COLUMNS}, "data": order.to_dict()})
        rows.order_events.extend(
            {"order_id": oid, "time": h.time, "state": h.state.value, "by": h.by, "detail": h.detail} for h in hist
        )
        self.counts["orders"] += 1
        self.counts["order_events"] += len(hist)
        self.orders_by_state[order.state.value] = self.orders_by_state.get(order.state.value, 0) + 1


_ORDER_COLUMNS = tuple("id incident_id asset_id agency state created_at deadline updated_at by note eta_s".split())


class _Events:
    """An incident's response stages, each once (the first, as the store records them); times
    in seconds from the detection."""

    def __init__(self, incident_id: str, t0: datetime) -> None:
        self.incident_id, self.t0 = incident_id, t0
        self.first: dict[Stage, tuple[float, dict[str, Any]]] = {}

    def add(
        self,
        at_s: float,
        stage: Stage,
        detail: str,
        actor: str,
        agency: str | None = None,
        asset: AssetConfig | None = None,
    ) -> None:
        held = self.first.get(stage)
        if held is not None and held[0] <= at_s:
            return
        row = {
            "incident_id": self.incident_id,
            "time": self.t0 + timedelta(seconds=at_s),
            "event": stage.value,
            "detail": detail,
            "actor": actor,
            "asset_id": asset.id if asset else None,
            "agency": asset.agency.value if asset else agency,
        }
        self.first[stage] = (at_s, row)

    def rows(self) -> list[dict[str, Any]]:
        return [row for _, row in sorted(self.first.values(), key=lambda x: x[0])]


def _incident_row(inc: Incident, closed_at: datetime, by: str) -> dict[str, Any]:
    return {
        "id": inc.id,
        "type": inc.type.value,
        "impact": inc.impact.value,
        "confidence": inc.confidence,
        "sar_phase": inc.sar_phase.value if inc.sar_phase else None,
        "lon": inc.lon,
        "lat": inc.lat,
        "section": inc.section,
        "river_km": inc.river_km,
        "side": inc.side,
        "agencies": sorted(inc.agencies_to_notify),
        "track_ids": [],
        "status": IncidentStatus.CLOSED.value,
        "opened_at": inc.opened_at,
        "updated_at": closed_at,
        "closed_at": closed_at,
        "closed_by": by,
        "title": inc.title,
        "source": inc.source,
    }


def generate_history(
    engine: Engine,
    river: RiverModel,
    graph: RouteGraph,
    start: date,
    days: int,
    seed: int,
    rate_per_day: float = 4.0,
    *,
    assets: Sequence[AssetConfig] | None = None,
    dispatch: DispatchSettings | None = None,
    model: ResponseModel | None = None,
    chunk: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> HistorySummary:
    """Write ``days`` local days of incidents from ``start`` (about ``rate_per_day`` a day) and
    their response into the database, whose tables must exist. Ids are ``H<seed>-<yyyymmdd of
    start>-<n>``: the same history written twice fails on them. ``assets`` default to the example
    fleet; ``progress`` is called with the number of incidents just written."""
    clock = perf_counter()
    fleet = list(assets) if assets is not None else load_fleet_file(example_fleet_path()).assets
    synthetic = SyntheticModel(rate_per_day=rate_per_day)
    incidents = generate_incidents(river, start, days, seed, model=synthetic, assets=fleet)
    boats = [a for a in fleet if a.kind is AssetKind.BOAT]
    times = BoatTimes(graph, boats, [i.lon for i in incidents], [i.lat for i in incidents])
    responder = _Responder(boats, times, dispatch or DispatchSettings(), model or ResponseModel(), seed, len(incidents))
    prefix = f"H{seed}-{start:%Y%m%d}-"
    for first in range(0, len(incidents), chunk):
        rows = _Rows()
        for k in range(first, min(first + chunk, len(incidents))):
            responder.respond(k, f"{prefix}{k + 1:06d}", incidents[k], rows)
        with engine.begin() as conn:
            for table, values in (
                (IncidentRow, rows.incidents),
                (IncidentEventRow, rows.events),
                (OrderRow, rows.orders),
                (OrderEventRow, rows.order_events),
            ):
                if values:
                    conn.execute(insert(table), values)
        if progress is not None:
            progress(len(rows.incidents))
    c = responder.counts
    return HistorySummary(
        incidents=c["incidents"],
        served=c["served"],
        orders=c["orders"],
        orders_by_state=dict(sorted(responder.orders_by_state.items())),
        incident_events=c["incident_events"],
        order_events=c["order_events"],
        seconds=perf_counter() - clock,
    )
