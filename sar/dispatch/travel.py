"""Travel times by water for many boats at once: the route graph as sparse matrices.

:class:`RouteGraph.eta` runs one networkx search per boat. Dispatch needs every boat's time to
one incident (and, for an intercept or for coverage, every node's time from a few boats), so the
graph is turned once into a ``scipy.sparse`` CSR matrix per boat speed (weights = the edge
travel time at that speed; impassable edges left out; road transfers = their duration) and
searched with ``scipy.sparse.csgraph.dijkstra``:

- :meth:`TravelTimes.to_point`: ONE search from the destination over the reversed graph gives
  the time from every node to it; a boat then adds its own partial edge and water legs.
- :meth:`TravelTimes.from_points`: one search per speed from several boats at once.

A point lies between two nodes; it enters a search as an extra "virtual" node whose two edges
are the partial-edge times, exactly as ``RouteGraph.eta`` inserts its temporary nodes, so that
the times equal ``RouteGraph.eta(...).eta_s`` (water legs included).
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra

from geo.routing import _MIN_GROUND_SPEED_MPS, RouteGraph

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
_CACHE_LIMIT = 4096


@dataclass(frozen=True)
class Anchor:
    """A point attached to the route graph: its reach, chainage, the nodes either side
    (``lo`` upstream, ``hi`` downstream, as ``RouteGraph`` picks them), foot and water leg."""

    lon: float
    lat: float
    reach: int
    chainage_m: float
    lo: int
    hi: int
    water_leg_m: float
    foot_xy: tuple[float, float]
    water_xy: tuple[float, float]


class TravelTimes:
    """Sparse-matrix view of a :class:`RouteGraph`, with matrices cached per speed. Thread-safe."""

    def __init__(self, graph: RouteGraph) -> None:
        self.graph = graph
        g = graph.graph
        nodes = sorted(n for n in g.nodes if isinstance(n, int))  # skip eta()'s temporary nodes
        if nodes != list(range(len(nodes))):
            raise ValueError("route graph nodes must be numbered 0..n-1")
        self.n = len(nodes)
        self.x = np.array([g.nodes[n]["x"] for n in nodes], dtype=float)
        self.y = np.array([g.nodes[n]["y"] for n in nodes], dtype=float)
        self.chainage_m = np.array([g.nodes[n]["chainage_m"] for n in nodes], dtype=float)
        self.reach = np.array([g.nodes[n]["reach"] for n in nodes], dtype=np.int64)
        edges = [(u, v, d) for u, v, d in g.edges(data=True) if isinstance(u, int) and isinstance(v, int)]
        self._u = np.array([e[0] for e in edges], dtype=np.int32)
        self._v = np.array([e[1] for e in edges], dtype=np.int32)
        self._road = np.array([e[2]["kind"] == "road" for e in edges], dtype=bool)
        self._length = np.array([e[2]["length_m"] for e in edges], dtype=float)
        self._current = np.array([e[2].get("current_mps", 0.0) for e in edges], dtype=float)
        self._duration = np.array([e[2].get("duration_s", 0.0) for e in edges], dtype=float)
        self.reach_nodes: list[tuple[IntArray, FloatArray]] = [
            (np.asarray(r.node_ids, dtype=np.int64), np.asarray(r.node_chainage_m, dtype=float)) for r in graph.reaches
        ]
        currents = graph.settings.current_mps
        self.reach_current_mps = np.array([currents.get(r.section, 0.8) for r in graph.reaches], dtype=float)
        self.has_roads = bool(self._road.any())
        ru, rv = self._u[self._road].astype(np.int64), self._v[self._road].astype(np.int64)
        self._road_keys = np.concatenate([ru * self.n + rv, rv * self.n + ru])
        self._matrices: dict[float, tuple[sp.csr_matrix, sp.csr_matrix]] = {}
        self._slotted: dict[float, sp.csr_matrix] = {}
        self._anchors: dict[tuple[float, float], Anchor | str] = {}
        self._lock = threading.Lock()

    # -- attaching points -----------------------------------------------------------------

    def current_mps(self, reach: int) -> float:
        """Surface current of a reach's section (+ downstream), as RouteGraph uses it."""
        return float(self.reach_current_mps[reach])

    def anchor(self, lon: float, lat: float) -> Anchor:
        """Attach one point (raises the GeoError that ``RouteGraph.snap`` raises)."""
        s = self.graph.snap(lon, lat)
        lo, hi = self._neighbours(s.reach, s.chainage_m)
        return Anchor(s.lon, s.lat, s.reach, s.chainage_m, lo, hi, s.water_leg_m, s.foot_xy, s.water_xy)

    def anchor_many(self, lon: list[float], lat: list[float]) -> list[Anchor | str]:
        """Attach many points (cached by position); a point that cannot be attached gives the
        reason as a string instead of an Anchor. Same rules as ``RouteGraph.snap``."""
        out: list[Anchor | str | None] = [self._anchors.get((a, b)) for a, b in zip(lon, lat)]
        todo = [i for i, a in enumerate(out) if a is None]
        if todo:
            fresh = self._anchor_uncached([lon[i] for i in todo], [lat[i] for i in todo])
            if len(self._anchors) > _CACHE_LIMIT:
                self._anchors.clear()
            for i, a in zip(todo, fresh):
                self._anchors[(lon[i], lat[i])] = a
                out[i] = a
        return [a for a in out if a is not None]

    def _anchor_uncached(self, lon: list[float], lat: list[float]) -> list[Anchor | str]:
        river, settings = self.graph.river, self.graph.settings
        lo_a, la_a = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        valid = np.isfinite(lo_a) & np.isfinite(la_a) & (np.abs(lo_a) <= 180) & (np.abs(la_a) <= 90)
        inside = valid & river.in_area(np.where(valid, lo_a, 0.0), np.where(valid, la_a, 0.0))
        out: list[Anchor | str] = []
        loc = river.locate_many(np.where(inside, lo_a, river.area_bbox[0]), np.where(inside, la_a, river.area_bbox[1]))
        hw = river.settings.water_half_width_m
        for i in range(len(lon)):
            sec, lateral = int(loc.section_index[i]), float(loc.axis_distance_m[i])
            if not valid[i]:
                out.append(f"invalid position lon={lon[i]} lat={lat[i]}")
            elif not inside[i]:
                out.append(f"position lon={lon[i]} lat={lat[i]} is outside the area of the river model")
            elif sec < 0 or lateral > settings.max_snap_m:
                out.append(f"position is not within {settings.max_snap_m:.0f} m of a river-border section")
            else:
                section = river.sections[sec]
                c = float(loc.chainage_m[i])
                reach = next(
                    (r for r in self.graph.reaches if r.section == section.name and r.start_m <= c <= r.end_m), None
                )
                if reach is None:
                    out.append(f"river km {c / 1000:.3f} of section {section.name} is in no reach")
                    continue
                foot = section.axis.interpolate(c)
                px, py = float(loc.x[i]), float(loc.y[i])
                leg = min(lateral, hw)
                k = leg / lateral if lateral > 0 else 0.0
                water = (foot.x + (px - foot.x) * k, foot.y + (py - foot.y) * k)
                n_lo, n_hi = self._neighbours(reach.index, c)
                out.append(
                    Anchor(float(lon[i]), float(lat[i]), reach.index, c, n_lo, n_hi, leg, (foot.x, foot.y), water)
                )
        return out

    def _neighbours(self, reach: int, chainage_m: float) -> tuple[int, int]:
        r = self.graph.reaches[reach]
        i = max(0, min(bisect_right(r.node_chainage_m, chainage_m) - 1, len(r.node_ids) - 2))
        return r.node_ids[i], r.node_ids[i + 1]

    # -- matrices -------------------------------------------------------------------------

    def matrices(self, speed_mps: float) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """(forward, reversed) CSR matrices of edge times at a speed through water, cached."""
        key = float(speed_mps)
        m = self._matrices.get(key)
        if m is None:
            ground = key + self._current
            passable = self._road | (ground > _MIN_GROUND_SPEED_MPS)
            w = np.where(self._road, self._duration, self._length / np.where(passable, ground, 1.0))
            fwd = sp.csr_matrix((w[passable], (self._u[passable], self._v[passable])), shape=(self.n, self.n))
            m = (fwd, fwd.T.tocsr())
            self._matrices[key] = m
        return m

    def leg_time(
        self, from_m: float | FloatArray, to_m: float | FloatArray, reach: int, speed_mps: float
    ) -> FloatArray:
        """Time along the axis between two chainages of a reach (inf where the current is too
        strong). Like RouteGraph, a move is downstream only when ``to_m > from_m``."""
        return _leg(from_m, to_m, self.current_mps(reach), speed_mps)

    def _edges_to(self, a: Anchor, speed_mps: float, inbound: bool) -> tuple[IntArray, FloatArray]:
        """The anchor's two partial edges: node->anchor times (inbound) or anchor->node times."""
        nodes = np.array([a.lo, a.hi], dtype=np.int64)
        ch = self.chainage_m[nodes]
        if inbound:
            return nodes, self.leg_time(ch, a.chainage_m, a.reach, speed_mps)
        return nodes, self.leg_time(a.chainage_m, ch, a.reach, speed_mps)

    def _augment(self, base: sp.csr_matrix, heads: IntArray, weights: FloatArray) -> sp.csr_matrix:
        """``base`` plus k virtual nodes (rows n..n+k-1), each with edges to ``heads[j]``."""
        k = heads.shape[0]
        data = np.concatenate([base.data, weights.ravel()])
        idx = np.concatenate([base.indices, heads.ravel().astype(base.indices.dtype)])
        ptr = np.concatenate([base.indptr, base.indptr[-1] + heads.shape[1] * np.arange(1, k + 1)])
        return sp.csr_matrix((data, idx, ptr.astype(base.indptr.dtype)), shape=(self.n + k, self.n + k))

    def _search(self, m: sp.csr_matrix, k: int) -> tuple[FloatArray, IntArray]:
        """Dijkstra from the k virtual nodes of an augmented matrix."""
        dist, pred = dijkstra(m, directed=True, indices=np.arange(self.n, self.n + k), return_predecessors=True)
        return np.asarray(dist, dtype=float).reshape(k, -1), np.asarray(pred, dtype=np.int64).reshape(k, -1)

    # -- searches -------------------------------------------------------------------------

    def to_point(self, dest: Anchor, speed_mps: float) -> ToPoint:
        """One search over the reversed graph: the time from every node to ``dest``."""
        nodes, w = self._edges_to(dest, speed_mps, inbound=True)
        key = float(speed_mps)
        m = self._slotted.get(key)
        if m is None:  # the reversed matrix with one virtual node whose two edges are set per search
            m = self._augment(self.matrices(key)[1], np.array([[0, 1]]), np.ones((1, 2)))
            self._slotted[key] = m
        with self._lock:  # the slot is shared: fill it and search under the lock
            m.indices[-2:] = nodes
            m.data[-2:] = w
            dist, pred = self._search(m, 1)
        return ToPoint(self, dest, speed_mps, dist[0], pred[0])

    def from_points(self, sources: list[Anchor], speed_mps: float) -> FromPoints:
        """One search from several sources at one speed: time from each source to every node."""
        fwd, _ = self.matrices(speed_mps)
        heads = np.empty((len(sources), 2), dtype=np.int64)
        weights = np.empty((len(sources), 2), dtype=float)
        for j, a in enumerate(sources):
            heads[j], weights[j] = self._edges_to(a, speed_mps, inbound=False)
        dist, pred = self._search(self._augment(fwd, heads, weights), len(sources))
        return FromPoints(self, sources, speed_mps, dist, pred)

    def from_nodes(self, nodes: IntArray, speed_mps: float) -> FloatArray:
        """(len(nodes) x n) time from each of these graph nodes to every node."""
        fwd, _ = self.matrices(speed_mps)
        if len(nodes) == 0:
            return np.empty((0, self.n))
        out: FloatArray = np.asarray(dijkstra(fwd, directed=True, indices=nodes), dtype=float).reshape(len(nodes), -1)
        return out

    # -- helpers shared by the two search results ------------------------------------------

    def tree_lengths(self, pred: IntArray, root_m: float) -> FloatArray:
        """Metres along the search tree from each node to the root (virtual node ``n``) by
        pointer jumping: a water step is the chainage difference, a road step is 0."""
        n = self.n
        nodes = np.arange(n)
        ptr = pred[:n]
        ok = ptr >= 0
        to_root = ok & (ptr >= n)
        prev = np.where(ok & ~to_root, ptr, nodes)
        road = np.isin(prev * n + nodes, self._road_keys)
        step = np.where(road, 0.0, np.abs(self.chainage_m - self.chainage_m[prev]))
        step = np.where(to_root, np.abs(self.chainage_m - root_m), step)
        acc = np.append(step, 0.0)
        ptr = np.append(np.where(ok & ~to_root, ptr, n), n)
        while True:
            live = np.flatnonzero(ptr != n)
            if live.size == 0:
                return acc[:n]
            p = ptr[live]
            acc[live] = acc[live] + acc[p]
            ptr[live] = ptr[p]

    def path_xy(self, nodes: list[int]) -> FloatArray:
        idx = np.asarray(nodes, dtype=np.int64)
        out: FloatArray = np.column_stack([self.x[idx], self.y[idx]])
        return out

    def to_lonlat(self, parts: list[FloatArray | tuple[float, float]]) -> list[tuple[float, float]]:
        """Metric points (single points or (n, 2) arrays, in order) to lon/lat pairs rounded to
        7 decimals, repeated points removed."""
        xy = np.vstack([np.reshape(np.asarray(p, dtype=float), (-1, 2)) for p in parts])
        if xy.shape[0] == 0:
            return []
        keep = np.append(True, np.abs(np.diff(xy, axis=0)).sum(axis=1) > 1e-6)
        lon, lat = self.graph.river.projector.to_lonlat(xy[keep, 0], xy[keep, 1])
        return list(zip(np.round(lon, 7).tolist(), np.round(lat, 7).tolist()))

    def no_route_reason(self, a: Anchor, b: Anchor, speed_mps: float) -> str:
        """Why there is no route (same wording as RouteGraph's NoRoute)."""
        ra, rb = self.graph.reaches[a.reach], self.graph.reaches[b.reach]
        if ra.section != rb.section:
            return (
                f"no route by water from the {ra.section} section to the {rb.section} section: "
                "they are separated by dams (Dubasari) and land; configure a road transfer"
            )
        if ra.index != rb.index:
            return f"no route by water: a dam on the {ra.section} section lies between the two points"
        cur = abs(self.current_mps(a.reach))
        return f"no route upstream at {speed_mps:.2f} m/s through water against a {cur:.2f} m/s current"


def _walk(pred: IntArray, start: int, stop: int) -> list[int]:
    """Nodes from ``start`` following ``pred`` until the virtual node ``stop`` (exclusive)."""
    links = pred.tolist()
    out = [start]
    p = links[start]
    while 0 <= p < stop:
        out.append(p)
        p = links[p]
    return out


@dataclass(frozen=True)
class Trip:
    """Time and distance of one boat's route (water legs included); ``via`` is the first node
    of the route, or -1 when it runs straight along the shared edge."""

    time_s: float
    distance_m: float
    via: int


class ToPoint:
    """Result of :meth:`TravelTimes.to_point`: time from each node to the destination."""

    def __init__(self, tt: TravelTimes, dest: Anchor, speed_mps: float, dist: FloatArray, pred: IntArray) -> None:
        self.tt, self.dest, self.speed_mps, self.dist, self.pred = tt, dest, speed_mps, dist, pred
        self._lengths: FloatArray | None = None

    def trips(self, boats: list[Anchor]) -> list[Trip]:
        """Each boat's time (inf when there is no route) and distance to the destination."""
        tt, v, d = self.tt, self.speed_mps, self.dest
        if not boats:
            return []
        lo = np.array([a.lo for a in boats])
        hi = np.array([a.hi for a in boats])
        ch = np.array([a.chainage_m for a in boats])
        reach = np.array([a.reach for a in boats])
        legs = np.array([a.water_leg_m for a in boats]) + d.water_leg_m
        cur = tt.reach_current_mps[reach]
        t_lo = _leg(ch, tt.chainage_m[lo], cur, v) + self.dist[lo]
        t_hi = _leg(ch, tt.chainage_m[hi], cur, v) + self.dist[hi]
        via = np.where(t_hi < t_lo, hi, lo)
        best = np.minimum(t_lo, t_hi)
        shared = (reach == d.reach) & (lo == d.lo)  # on the destination's edge: straight along it
        direct = np.where(shared, _leg(ch, d.chainage_m, cur, v), np.inf)
        via = np.where(direct <= best, -1, via)
        best = np.minimum(best, direct)
        along = np.abs(d.chainage_m - ch)
        if tt.has_roads:
            v0 = np.maximum(via, 0)
            along = np.where(via >= 0, np.abs(ch - tt.chainage_m[v0]) + self.lengths()[v0], along)
        time = best + legs / v
        return [Trip(float(t), float(a + g), int(w)) for t, a, g, w in zip(time, along, legs, via)]

    def lengths(self) -> FloatArray:
        if self._lengths is None:
            self._lengths = self.tt.tree_lengths(self.pred, self.dest.chainage_m)
        return self._lengths

    def path(self, boat: Anchor, trip: Trip) -> list[tuple[float, float]]:
        """The route on the water as lon/lat pairs (boat -> destination)."""
        tt, d = self.tt, self.dest
        xy: list[FloatArray | tuple[float, float]] = [boat.water_xy] if boat.water_leg_m > 0 else []
        xy.append(boat.foot_xy)
        if trip.via >= 0:
            xy.append(tt.path_xy(_walk(self.pred, trip.via, tt.n)))
        xy.append(d.foot_xy)
        if d.water_leg_m > 0:
            xy.append(d.water_xy)
        return tt.to_lonlat(xy)


class FromPoints:
    """Result of :meth:`TravelTimes.from_points`: time from each source to every node (row j)."""

    def __init__(
        self, tt: TravelTimes, sources: list[Anchor], speed_mps: float, dist: FloatArray, pred: IntArray
    ) -> None:
        self.tt, self.sources, self.speed_mps, self.dist, self.pred = tt, sources, speed_mps, dist, pred

    def node_times(self) -> FloatArray:
        """(sources x nodes) time from each source to each node, source water leg included."""
        legs = np.array([a.water_leg_m for a in self.sources]) / self.speed_mps
        out: FloatArray = self.dist[:, : self.tt.n] + legs[:, None]
        return out

    def time_to(self, j: int, reach: int, chainage_m: float) -> tuple[float, int]:
        """Time from source j to the axis point at a chainage (source leg included, no leg at
        the point), and the node the route arrives from (-1 = straight along the shared edge)."""
        tt, a, v = self.tt, self.sources[j], self.speed_mps
        r = tt.graph.reaches[reach]
        i = max(0, min(bisect_right(r.node_chainage_m, chainage_m) - 1, len(r.node_ids) - 2))
        lo, hi = r.node_ids[i], r.node_ids[i + 1]
        t_lo = float(self.dist[j, lo]) + self._leg(r.node_chainage_m[i], chainage_m, reach)
        t_hi = float(self.dist[j, hi]) + self._leg(r.node_chainage_m[i + 1], chainage_m, reach)
        best, via = (t_lo, lo) if t_lo <= t_hi else (t_hi, hi)
        if a.reach == reach and a.lo == lo:
            direct = self._leg(a.chainage_m, chainage_m, reach)
            if direct <= best:
                best, via = direct, -1
        return best + a.water_leg_m / v, via

    def _leg(self, from_m: float, to_m: float, reach: int) -> float:
        """A partial edge to a point (scalar); zero when the point is the node itself."""
        if from_m == to_m:
            return 0.0
        cur = self.tt.current_mps(reach)
        ground = self.speed_mps + (cur if to_m > from_m else -cur)
        return abs(to_m - from_m) / ground if ground > _MIN_GROUND_SPEED_MPS else math.inf

    def distance_to(self, j: int, via: int, chainage_m: float) -> float:
        """Metres from source j to the axis point reached from node ``via`` (source leg included)."""
        tt, a = self.tt, self.sources[j]
        if via < 0 or not tt.has_roads:
            return abs(chainage_m - a.chainage_m) + a.water_leg_m
        along = tt.tree_lengths(self.pred[j], a.chainage_m)[via]
        return float(along + abs(chainage_m - tt.chainage_m[via]) + a.water_leg_m)

    def path(self, j: int, via: int, end_xy: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """Route from source j through node ``via`` to the given end points, as lon/lat pairs."""
        tt, a = self.tt, self.sources[j]
        xy: list[FloatArray | tuple[float, float]] = [a.water_xy] if a.water_leg_m > 0 else []
        xy.append(a.foot_xy)
        if via >= 0:
            xy.append(tt.path_xy(_walk(self.pred[j], via, tt.n)[::-1]))
        return tt.to_lonlat([*xy, *end_xy])


def _leg(from_m: FloatArray | float, to_m: FloatArray | float, cur: FloatArray | float, v: float) -> FloatArray:
    f, t = np.asarray(from_m, dtype=float), np.asarray(to_m, dtype=float)
    ground = v + np.where(t > f, cur, np.negative(cur))
    out: FloatArray = np.where(ground > _MIN_GROUND_SPEED_MPS, np.abs(t - f) / np.maximum(ground, 1e-9), np.inf)
    return out
