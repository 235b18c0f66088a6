"""How well the available boats cover the river, and where idle boats should wait.

:meth:`CoverageAnalyzer.coverage` cuts both sections into ``coverage_step_km`` stretches and
gives each the worst-case ETA inside it (max over the stretch's graph nodes of the min over
boats of readiness + travel time by water); stretches above ``coverage_gap_s`` are gaps, merged
into runs. Boats only: drones look but do not rescue.

:meth:`CoverageAnalyzer.preposition` suggests standby points on their own reach for idle boats
(available, at base) that lower the expected ETA over past incident positions (uniform over the
river km when there are none): greedy placement, then one pass moving each boat to its best
candidate given the others. A boat on standby is afloat, so its readiness is 0, as in ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely.ops
from numpy.typing import NDArray

from geo.routing import RouteGraph
from sar.dispatch.config import DispatchSettings
from sar.dispatch.fleet import AssetKind, AssetState, AssetStatus
from sar.dispatch.recommend import readiness_s
from sar.dispatch.travel import Anchor, FloatArray, IntArray, TravelTimes

_CANDIDATE_SPACING_M = 1000.0


@dataclass(frozen=True)
class Stretch:
    """One stretch of a section: worst-case ETA inside it (None: no boat gets there) and the
    boat that is fastest at that worst point."""

    section: str
    from_km: float
    to_km: float
    eta_s: float | None
    best_asset: str | None
    gap: bool
    line: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Gap:
    """A run of consecutive gap stretches of one section."""

    section: str
    from_km: float
    to_km: float
    worst_eta_s: float | None


@dataclass(frozen=True)
class Coverage:
    stretches: tuple[Stretch, ...]
    gaps: tuple[Gap, ...]
    gap_s: float

    def to_geojson(self) -> dict[str, Any]:
        """FeatureCollection of LineStrings (WGS84) with section, from_km, to_km, eta_s,
        best_asset and gap."""
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": [list(p) for p in s.line]},
                    "properties": {
                        "section": s.section,
                        "from_km": s.from_km,
                        "to_km": s.to_km,
                        "eta_s": None if s.eta_s is None else round(s.eta_s, 1),
                        "best_asset": s.best_asset,
                        "gap": s.gap,
                    },
                }
                for s in self.stretches
            ],
        }

    def gaps_dict(self) -> list[dict[str, Any]]:
        return [
            {
                "section": g.section,
                "from_km": g.from_km,
                "to_km": g.to_km,
                "worst_eta_s": None if g.worst_eta_s is None else round(g.worst_eta_s, 1),
            }
            for g in self.gaps
        ]


@dataclass(frozen=True)
class Standby:
    """Suggested waiting point of one idle boat (on the axis). ``served_eta_*_s``: expected ETA
    over the demand this boat is fastest for after the move, before and after (None: none)."""

    asset_id: str
    lon: float
    lat: float
    section: str
    river_km: float
    moved: bool
    served_eta_before_s: float | None
    served_eta_after_s: float | None

    def to_dict(self) -> dict[str, Any]:
        def r1(x: float | None) -> float | None:
            return None if x is None else round(x, 1)

        return {
            "asset_id": self.asset_id,
            "lon": self.lon,
            "lat": self.lat,
            "section": self.section,
            "river_km": round(self.river_km, 3),
            "moved": self.moved,
            "served_eta_before_s": r1(self.served_eta_before_s),
            "served_eta_after_s": r1(self.served_eta_after_s),
        }


@dataclass(frozen=True)
class Preposition:
    """Standby points and the fleet's expected ETA over the demand before and after; a demand
    point no boat reaches counts as ``unreachable_s``."""

    standbys: tuple[Standby, ...]
    expected_eta_before_s: float
    expected_eta_after_s: float
    demand_points: int
    unreachable_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "standbys": [s.to_dict() for s in self.standbys],
            "expected_eta_before_s": round(self.expected_eta_before_s, 1),
            "expected_eta_after_s": round(self.expected_eta_after_s, 1),
            "demand_points": self.demand_points,
            "unreachable_s": self.unreachable_s,
        }


@dataclass
class _Boats:
    """Available boats attached to the graph, with their (boats x nodes) ETA matrix."""

    states: list[AssetState]
    anchors: list[Anchor]
    eta: FloatArray


class CoverageAnalyzer:
    """Coverage and pre-positioning over the route graph; collaborators come in."""

    def __init__(self, graph: RouteGraph, settings: DispatchSettings, travel: TravelTimes | None = None) -> None:
        self.graph = graph
        self.settings = settings
        self.travel = travel or TravelTimes(graph)
        self._lines: dict[tuple[str, float], list[tuple[tuple[float, float], ...]]] = {}

    # -- coverage -------------------------------------------------------------------------

    def coverage(self, assets: Sequence[AssetState]) -> Coverage:
        """Worst-case ETA per stretch of both sections from the available boats' positions."""
        boats = self._boats([s for s in assets if is_available_boat(s)])
        best = boats.eta.min(axis=0) if boats.states else np.full(self.travel.n, np.inf)
        who = boats.eta.argmin(axis=0) if boats.states else np.zeros(self.travel.n, dtype=np.int64)
        step_m = self.settings.coverage_step_km * 1000.0
        gap_s = self.settings.coverage_gap_s
        stretches: list[Stretch] = []
        for section in self.graph.river.sections:
            nodes = np.flatnonzero(self._section_of_node() == section.name)
            n_bins = max(1, int(np.ceil(section.length_m / step_m - 1e-9)))
            bins = np.minimum((self.travel.chainage_m[nodes] // step_m).astype(np.int64), n_bins - 1)
            lines = self._stretch_lines(section.name, step_m, n_bins)
            for b in range(n_bins):
                in_bin = nodes[bins == b]
                worst = int(in_bin[np.argmax(best[in_bin])])
                eta = float(best[worst])
                finite = bool(np.isfinite(eta))
                stretches.append(
                    Stretch(
                        section.name,
                        round(b * step_m / 1000.0, 3),
                        round(min((b + 1) * step_m, section.length_m) / 1000.0, 3),
                        eta if finite else None,
                        boats.states[int(who[worst])].id if finite else None,
                        not finite or eta > gap_s,
                        lines[b],
                    )
                )
        return Coverage(tuple(stretches), _merge_gaps(stretches), gap_s)

    def _boats(self, states: list[AssetState]) -> _Boats:
        """Attach the boats and compute their ETA to every node (one search per speed)."""
        tt = self.travel
        anchors = tt.anchor_many([s.position.lon for s in states], [s.position.lat for s in states])
        kept = [(s, a) for s, a in zip(states, anchors) if isinstance(a, Anchor)]
        eta = np.full((len(kept), tt.n), np.inf)
        for speed in {s.config.speed_mps for s, _ in kept}:
            rows = [i for i, (s, _) in enumerate(kept) if s.config.speed_mps == speed]
            times = tt.from_points([kept[i][1] for i in rows], speed).node_times()
            eta[rows] = times + np.array([readiness_s(kept[i][0]) for i in rows])[:, None]
        return _Boats([s for s, _ in kept], [a for _, a in kept], eta)

    def _section_of_node(self) -> NDArray[np.str_]:
        names = np.array([r.section for r in self.graph.reaches])
        out: NDArray[np.str_] = names[self.travel.reach]
        return out

    def _stretch_lines(self, section: str, step_m: float, n_bins: int) -> list[tuple[tuple[float, float], ...]]:
        key = (section, step_m)
        if key not in self._lines:
            axis = self.graph.river.section(section).axis
            lines = []
            for b in range(n_bins):
                part = shapely.ops.substring(axis, b * step_m, min((b + 1) * step_m, axis.length))
                xy = np.asarray(part.coords)[:, :2]
                lon, lat = self.graph.river.projector.to_lonlat(xy[:, 0], xy[:, 1])
                lines.append(tuple(zip(np.round(lon, 7).tolist(), np.round(lat, 7).tolist())))
            self._lines[key] = lines
        return self._lines[key]

    # -- pre-positioning ------------------------------------------------------------------

    def preposition(
        self,
        assets: Sequence[AssetState],
        history: Sequence[tuple[float, float]] = (),
        weights: Sequence[float] | None = None,
    ) -> Preposition:
        """Standby points for the idle boats (available, at base) that minimise the expected
        ETA over ``history`` (past incident lon/lat, optional weights); uniform over the river
        km of both sections when the history is empty. Other available boats stay put."""
        tt = self.travel
        unreachable_s = 2.0 * self.settings.coverage_gap_s
        demand, w = self._demand(history, weights)
        avail = [s for s in assets if is_available_boat(s)]
        boats = self._boats(avail)
        idle = [i for i, s in enumerate(boats.states) if s.at_base]
        fixed = [i for i in range(len(boats.states)) if i not in idle]
        base_best = np.full(len(demand), unreachable_s)
        if fixed:
            base_best = np.minimum(base_best, boats.eta[fixed][:, demand].min(axis=0))
        options: list[tuple[IntArray, FloatArray]] = []  # per idle boat: candidate nodes, times
        for i in idle:
            cand = _every_km(*tt.reach_nodes[boats.anchors[i].reach])
            t = tt.from_nodes(cand, boats.states[i].config.speed_mps)[:, demand]
            stay = boats.eta[i, demand][None, :]
            options.append((np.append(-1, cand), np.minimum(np.vstack([stay, t]), unreachable_s)))
        choice = _place(options, base_best, w)
        before = np.minimum(base_best, boats.eta[idle][:, demand].min(axis=0)) if idle else base_best
        after_rows = [opt[1][c] for opt, c in zip(options, choice)]
        after = np.minimum(base_best, np.min(after_rows, axis=0)) if idle else base_best
        e_before, e_after = _mean(before, w), _mean(after, w)
        if e_after > e_before:  # greedy found nothing better than the bases: stay
            choice, after_rows, after, e_after = [0] * len(idle), [o[1][0] for o in options], before, e_before
        owner = np.argmin(np.vstack(after_rows), axis=0) if idle else np.zeros(0, dtype=np.int64)
        standbys = []
        for k, i in enumerate(idle):
            served = (owner == k) & (np.vstack(after_rows)[k] < base_best)
            node = int(options[k][0][choice[k]])
            standbys.append(self._standby(boats, i, node, before, after, served, w))
        return Preposition(tuple(standbys), e_before, e_after, len(demand), unreachable_s)

    def _demand(
        self, history: Sequence[tuple[float, float]], weights: Sequence[float] | None
    ) -> tuple[IntArray, FloatArray]:
        """Demand nodes and weights: the nodes nearest the past incidents, or every ~1 km."""
        tt = self.travel
        if not history:
            nodes = np.concatenate([_every_km(ids, ch) for ids, ch in tt.reach_nodes])
            return nodes, np.ones(len(nodes))
        if weights is not None and len(weights) != len(history):
            raise ValueError(f"{len(weights)} weights for {len(history)} past incidents")
        anchors = tt.anchor_many([p[0] for p in history], [p[1] for p in history])
        w_all = np.ones(len(history)) if weights is None else np.asarray(weights, dtype=float)
        if not np.all(np.isfinite(w_all) & (w_all >= 0)):
            raise ValueError("weights must be finite and not negative")
        keep = [(a, float(x)) for a, x in zip(anchors, w_all) if isinstance(a, Anchor)]
        if not keep or sum(x for _, x in keep) <= 0:
            raise ValueError("no past incident lies on the river with a positive weight")
        near = [
            a.lo if a.chainage_m - tt.chainage_m[a.lo] <= tt.chainage_m[a.hi] - a.chainage_m else a.hi for a, _ in keep
        ]
        return np.asarray(near, dtype=np.int64), np.array([x for _, x in keep])

    def _standby(
        self,
        boats: _Boats,
        i: int,
        node: int,
        before: FloatArray,
        after: FloatArray,
        served: NDArray[np.bool_],
        w: FloatArray,
    ) -> Standby:
        s, a = boats.states[i], boats.anchors[i]
        section = self.graph.reaches[a.reach].section
        if node < 0:
            lon, lat, km = s.position.lon, s.position.lat, a.chainage_m / 1000.0
        else:
            km = float(self.travel.chainage_m[node]) / 1000.0
            lon, lat = self.graph.river.axis_point(section, km)
        b = _mean(before[served], w[served]) if served.any() else None
        f = _mean(after[served], w[served]) if served.any() else None
        return Standby(s.id, lon, lat, section, km, node >= 0, b, f)


def is_available_boat(s: AssetState) -> bool:
    """A boat that counts for coverage: available and in service."""
    c = s.config
    return c.kind == AssetKind.BOAT and s.status == AssetStatus.AVAILABLE and not c.out_of_service


def _every_km(node_ids: IntArray, chainage_m: FloatArray) -> IntArray:
    """The first node of every kilometre of a reach (candidate standby / demand points)."""
    km = np.floor(chainage_m / _CANDIDATE_SPACING_M)
    first = np.append(True, km[1:] != km[:-1])
    out: IntArray = node_ids[first]
    return out


def _mean(x: FloatArray, w: FloatArray) -> float:
    return float(np.sum(x * w) / np.sum(w))


def _place(options: list[tuple[IntArray, FloatArray]], base: FloatArray, w: FloatArray) -> list[int]:
    """Greedy: repeatedly place the boat and candidate that lower the expected ETA most; then
    one pass moving each boat to its best candidate given all the others."""
    choice = [0] * len(options)
    placed: dict[int, FloatArray] = {}
    current = base.copy()
    while len(placed) < len(options):
        best: tuple[float, int, int] | None = None
        for k, (_, t) in enumerate(options):
            if k in placed:
                continue
            score = np.minimum(t, current[None, :]) @ w
            c = int(np.argmin(score))
            if best is None or score[c] < best[0]:
                best = (float(score[c]), k, c)
        assert best is not None
        _, k, c = best
        choice[k], placed[k] = c, options[k][1][c]
        current = np.minimum(current, placed[k])
    for k, (_, t) in enumerate(options):
        others = [placed[o] for o in placed if o != k]
        rest = np.minimum(base, np.min(others, axis=0)) if others else base
        choice[k] = int(np.argmin(np.minimum(t, rest[None, :]) @ w))
        placed[k] = t[choice[k]]
    return choice


def _merge_gaps(stretches: list[Stretch]) -> tuple[Gap, ...]:
    """Consecutive gap stretches of a section as one run; its worst ETA (None: unreachable)."""
    runs: list[Gap] = []
    for s in stretches:
        if not s.gap:
            continue
        last = runs[-1] if runs else None
        if last is not None and last.section == s.section and last.to_km == s.from_km:
            worst = None if last.worst_eta_s is None or s.eta_s is None else max(last.worst_eta_s, s.eta_s)
            runs[-1] = Gap(s.section, last.from_km, s.to_km, worst)
        else:
            runs.append(Gap(s.section, s.from_km, s.to_km, s.eta_s))
    return tuple(runs)
