"""Route graph by water (networkx): a boat's travel time along the river border sections.

Each section's axis is cut into reaches at the dams that lie on it; a reach is a chain of
nodes no more than ``node_spacing_m`` apart (the axis vertices plus points in between), with
one directed edge each way between neighbours. A boat's time on an edge is
``length / (speed through water + current along the edge)``: faster downstream, slower
upstream, impassable upstream when the boat is not faster than the current. Reaches are
joined only by configured road transfers, so no route passes a dam.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import shapely
import shapely.ops
from shapely.geometry import LineString

from geo.config import RoutingSettings
from geo.crs import check_lonlat
from geo.errors import GraphError, NoRoute, NotOnRiver, OutOfArea
from geo.river import RiverModel

KNOT_MPS = 1852.0 / 3600.0
_MIN_GROUND_SPEED_MPS = 0.05


@dataclass(frozen=True)
class Reach:
    """A stretch of one section between its ends and the dams on it (chainage in metres)."""

    index: int
    section: str
    start_m: float
    end_m: float
    node_ids: tuple[int, ...]
    node_chainage_m: tuple[float, ...]


@dataclass(frozen=True)
class Snap:
    """A point attached to the graph: its reach, chainage, foot on the axis and water leg."""

    lon: float
    lat: float
    reach: int
    chainage_m: float
    foot_xy: tuple[float, float]
    lateral_m: float
    on_water: bool
    water_leg_m: float
    water_xy: tuple[float, float]


@dataclass(frozen=True)
class Route:
    """A boat route: time, distance by water, and the path (lon/lat pairs, on the water)."""

    eta_s: float
    distance_m: float
    speed_mps: float
    path_lonlat: list[tuple[float, float]]
    origin: Snap
    destination: Snap
    transfers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "eta_s": round(self.eta_s, 1),
            "distance_m": round(self.distance_m, 1),
            "speed_mps": round(self.speed_mps, 3),
            "from": _snap_dict(self.origin),
            "to": _snap_dict(self.destination),
            "transfers": self.transfers,
            "path": {"type": "LineString", "coordinates": [list(c) for c in self.path_lonlat]},
        }


def _snap_dict(s: Snap) -> dict[str, Any]:
    return {
        "lon": s.lon,
        "lat": s.lat,
        "river_km": round(s.chainage_m / 1000.0, 4),
        "axis_distance_m": round(s.lateral_m, 1),
        "on_water": s.on_water,
    }


@dataclass(frozen=True)
class DamCut:
    name: str
    section: str
    chainage_m: float


class RouteGraph:
    """The travel-time graph of both river-border sections; validated when built."""

    def __init__(self, river: RiverModel, settings: RoutingSettings | None = None) -> None:
        self.river = river
        self.settings = settings or RoutingSettings()
        for name in self.settings.current_mps:
            river.section(name)  # unknown section names are configuration errors
        self.graph = nx.DiGraph()
        self.dams, self.dams_off_sections = self._snap_dams()
        self.reaches: list[Reach] = []
        transfer_points = [self._locate_on_axis(p) for t in self.settings.road_transfers for p in (t.a, t.b)]
        for section in river.sections:
            cuts = sorted(d.chainage_m for d in self.dams if d.section == section.name)
            bounds = [0.0, *cuts, section.length_m]
            for start, end in zip(bounds[:-1], bounds[1:]):
                extra = [c for s, c in transfer_points if s == section.name and start < c < end]
                self._add_reach(section.name, start, end, extra)
        self._add_transfers()
        self._lock = threading.Lock()
        self.validate()

    # -- construction ---------------------------------------------------------------------

    def _snap_dams(self) -> tuple[list[DamCut], list[str]]:
        dams = [
            (str(r.name), r.geometry.x, r.geometry.y) for r in self.river.data.places.itertuples() if r.kind == "dam"
        ]
        for d in self.settings.extra_dams:
            x, y = self.river.projector.to_xy([d.lon], [d.lat])
            dams.append((d.name, float(x[0]), float(y[0])))
        cuts, off = [], []
        for name, x, y in dams:
            loc = self.river.locate_xy([x], [y])
            i = int(loc.section_index[0])
            if i >= 0 and loc.axis_distance_m[0] <= self.settings.dam_snap_m:
                cuts.append(DamCut(name, self.river.sections[i].name, float(loc.chainage_m[0])))
            else:
                off.append(name)
        return cuts, off

    def _locate_on_axis(self, lonlat: tuple[float, float]) -> tuple[str, float]:
        loc = self.river.locate_many([lonlat[0]], [lonlat[1]])
        i = int(loc.section_index[0])
        if i < 0 or loc.axis_distance_m[0] > self.settings.max_snap_m:
            raise GraphError(
                f"road transfer end {lonlat} is not within {self.settings.max_snap_m} m of a river section"
            )
        return self.river.sections[i].name, float(loc.chainage_m[0])

    def _add_reach(self, section: str, start: float, end: float, extra: list[float]) -> None:
        axis = self.river.section(section).axis
        part = shapely.ops.substring(axis, start, end)
        vertex_ch = [start + axis_d for axis_d in _cumulative(np.asarray(part.coords)[:, :2])]
        ch = sorted(set(np.round([*vertex_ch, *extra], 6).tolist()))
        ch = _densify(ch, self.settings.node_spacing_m)
        pts = shapely.line_interpolate_point(axis, ch)
        xy = shapely.get_coordinates(pts)
        first = self.graph.number_of_nodes()
        ids = tuple(range(first, first + len(ch)))
        current = self.settings.current_mps.get(section, 0.8)
        for nid, c, (x, y) in zip(ids, ch, xy):
            self.graph.add_node(nid, section=section, reach=len(self.reaches), chainage_m=c, x=x, y=y)
        for (u, cu), (v, cv) in zip(zip(ids, ch), zip(ids[1:], ch[1:])):
            self.graph.add_edge(u, v, kind="water", length_m=cv - cu, current_mps=current)
            self.graph.add_edge(v, u, kind="water", length_m=cv - cu, current_mps=-current)
        self.reaches.append(Reach(len(self.reaches), section, start, end, ids, tuple(ch)))

    def _add_transfers(self) -> None:
        for t in self.settings.road_transfers:
            a, b = self._node_at(t.a), self._node_at(t.b)
            for u, v in ((a, b), (b, a)):
                self.graph.add_edge(u, v, kind="road", name=t.name, length_m=0.0, duration_s=t.duration_s)

    def _node_at(self, lonlat: tuple[float, float]) -> int:
        section, c = self._locate_on_axis(lonlat)
        reach = self._reach_at(section, c)
        i = int(np.argmin(np.abs(np.asarray(reach.node_chainage_m) - c)))
        return reach.node_ids[i]

    def _reach_at(self, section: str, chainage_m: float) -> Reach:
        for r in self.reaches:
            if r.section == section and r.start_m <= chainage_m <= r.end_m:
                return r
        raise NotOnRiver(f"river km {chainage_m / 1000:.3f} of section {section} is in no reach")

    def validate(self) -> None:
        """Check the built graph; raise GraphError on the first inconsistency."""
        spacing = self.settings.node_spacing_m + 1e-6
        for r in self.reaches:
            ch = np.asarray(r.node_chainage_m)
            if len(ch) < 2 or np.any(np.diff(ch) <= 0):
                raise GraphError(f"reach {r.index} ({r.section}) has non-increasing node chainage")
            if np.diff(ch).max() > spacing:
                raise GraphError(f"reach {r.index} has nodes more than {spacing:.0f} m apart")
            total = sum(self.graph.edges[u, v]["length_m"] for u, v in zip(r.node_ids, r.node_ids[1:]))
            if abs(total - (r.end_m - r.start_m)) > 1.0:
                raise GraphError(f"reach {r.index}: edges sum to {total:.1f} m, axis {r.end_m - r.start_m:.1f} m")
            if not nx.is_strongly_connected(self.graph.subgraph(r.node_ids)):
                raise GraphError(f"reach {r.index} ({r.section}) is not connected")
        for u, v, d in self.graph.edges(data=True):
            nu, nv = self.graph.nodes[u], self.graph.nodes[v]
            if d["kind"] == "water" and nu["reach"] != nv["reach"]:
                raise GraphError(f"water edge {u}->{v} joins two reaches across a dam")
            if not (np.isfinite(d["length_m"]) and d["length_m"] >= 0):
                raise GraphError(f"edge {u}->{v} has length {d['length_m']}")
        for dam in self.dams:
            for r in self.reaches:
                if r.section == dam.section and r.start_m < dam.chainage_m < r.end_m:
                    raise GraphError(f"dam {dam.name} lies inside reach {r.index}")

    # -- queries --------------------------------------------------------------------------

    def snap(self, lon: float, lat: float) -> Snap:
        """Attach a point to the graph; raise NotOnRiver if it is too far from the river border."""
        check_lonlat(lon, lat)
        if not self.river.in_area(lon, lat):
            raise OutOfArea(f"point lon={lon} lat={lat} is outside the area of the river model")
        loc = self.river.locate_many([lon], [lat])
        i = int(loc.section_index[0])
        lateral = float(loc.axis_distance_m[0])
        if i < 0 or lateral > self.settings.max_snap_m:
            if i >= 0:
                where = f"{lateral / 1000:.1f} km from the nearest river-border section"
            else:
                border_km = float(loc.border_distance_m[0]) / 1000
                where = f"not beside a river-border section ({border_km:.1f} km from the border)"
            limit = self.settings.max_snap_m
            raise NotOnRiver(
                f"point lon={lon} lat={lat} is {where}; routes need a point within {limit:.0f} m of the river"
            )
        section = self.river.sections[i]
        c = float(loc.chainage_m[0])
        reach = self._reach_at(section.name, c)
        foot = section.axis.interpolate(c)
        px, py = float(loc.x[0]), float(loc.y[0])
        hw = self.river.settings.water_half_width_m
        leg = min(lateral, hw)
        k = leg / lateral if lateral > 0 else 0.0
        water = (foot.x + (px - foot.x) * k, foot.y + (py - foot.y) * k)
        return Snap(
            float(lon),
            float(lat),
            reach.index,
            c,
            (foot.x, foot.y),
            lateral,
            bool(loc.on_water[0]),
            leg,
            water,
        )

    def eta(self, origin: tuple[float, float], destination: tuple[float, float], speed_mps: float) -> Route:
        """Fastest route by water from origin to destination (lon, lat) at a speed through water."""
        if not (np.isfinite(speed_mps) and speed_mps > 0):
            raise ValueError(f"speed must be a positive number of m/s, got {speed_mps}")
        a, b = self.snap(*origin), self.snap(*destination)
        with self._lock:
            self._insert("A", a)
            self._insert("B", b)
            if a.reach == b.reach and self._same_edge(a, b):
                self._join("A", a, "B", b)
            try:
                time_s, path = nx.single_source_dijkstra(self.graph, "A", "B", weight=self._weight(speed_mps))
                return self._route(a, b, speed_mps, float(time_s), path)
            except nx.NetworkXNoPath:
                raise NoRoute(self._why_no_route(a, b, speed_mps)) from None
            finally:
                self.graph.remove_nodes_from(["A", "B"])

    def _weight(self, speed_mps: float) -> Callable[[Any, Any, dict[str, Any]], float | None]:
        def weight(_u: Any, _v: Any, d: dict[str, Any]) -> float | None:
            if d["kind"] == "road":
                return float(d["duration_s"])
            ground = speed_mps + d["current_mps"]
            return d["length_m"] / ground if ground > _MIN_GROUND_SPEED_MPS else None

        return weight

    def _neighbours(self, s: Snap) -> tuple[tuple[int, float], ...]:
        r = self.reaches[s.reach]
        i = max(0, min(bisect_right(r.node_chainage_m, s.chainage_m) - 1, len(r.node_ids) - 2))
        return (r.node_ids[i], r.node_chainage_m[i]), (r.node_ids[i + 1], r.node_chainage_m[i + 1])

    def _insert(self, name: str, s: Snap) -> None:
        current = self.settings.current_mps.get(self.reaches[s.reach].section, 0.8)
        self.graph.add_node(name, x=s.foot_xy[0], y=s.foot_xy[1], chainage_m=s.chainage_m, reach=s.reach)
        for node, c in self._neighbours(s):
            length = abs(s.chainage_m - c)
            down = 1.0 if c > s.chainage_m else -1.0  # moving from the snap to this node
            self.graph.add_edge(name, node, kind="water", length_m=length, current_mps=down * current)
            self.graph.add_edge(node, name, kind="water", length_m=length, current_mps=-down * current)

    def _same_edge(self, a: Snap, b: Snap) -> bool:
        return self._neighbours(a)[0][0] == self._neighbours(b)[0][0]

    def _join(self, na: str, a: Snap, nb: str, b: Snap) -> None:
        current = self.settings.current_mps.get(self.reaches[a.reach].section, 0.8)
        length = abs(b.chainage_m - a.chainage_m)
        down = 1.0 if b.chainage_m >= a.chainage_m else -1.0
        self.graph.add_edge(na, nb, kind="water", length_m=length, current_mps=down * current)
        self.graph.add_edge(nb, na, kind="water", length_m=length, current_mps=-down * current)

    def _why_no_route(self, a: Snap, b: Snap, speed_mps: float) -> str:
        ra, rb = self.reaches[a.reach], self.reaches[b.reach]
        if ra.section != rb.section:
            return (
                f"no route by water from the {ra.section} section to the {rb.section} section: "
                "they are separated by dams (Dubasari) and land; configure a road transfer"
            )
        if ra.index != rb.index:
            return f"no route by water: a dam on the {ra.section} section lies between the two points"
        current = abs(self.settings.current_mps.get(ra.section, 0.8))
        return f"no route upstream at {speed_mps:.2f} m/s through water against a {current:.2f} m/s current"

    def _route(self, a: Snap, b: Snap, speed_mps: float, time_s: float, path: list[Any]) -> Route:
        g = self.graph
        xy = [a.water_xy] if a.water_leg_m > 0 else []
        distance, transfers = 0.0, []
        for u, v in zip(path, path[1:]):
            d = g.edges[u, v]
            if d["kind"] == "road":
                transfers.append(d["name"])
            distance += d["length_m"]
        xy.extend((g.nodes[n]["x"], g.nodes[n]["y"]) for n in path)
        if b.water_leg_m > 0:
            xy.append(b.water_xy)
        distance += a.water_leg_m + b.water_leg_m
        time_s += (a.water_leg_m + b.water_leg_m) / speed_mps
        line = shapely.remove_repeated_points(LineString(xy)) if len(xy) > 1 else LineString([xy[0], xy[0]])
        coords = np.asarray(line.coords)
        lon, lat = self.river.projector.to_lonlat(coords[:, 0], coords[:, 1])
        path_ll = [(round(float(x), 7), round(float(y), 7)) for x, y in zip(lon, lat)]
        return Route(time_s, distance, speed_mps, path_ll, a, b, transfers)

    def summary(self) -> dict[str, Any]:
        return {
            "nodes": self.graph.number_of_nodes(),
            "edges": self.graph.number_of_edges(),
            "reaches": [
                {
                    "section": r.section,
                    "start_km": round(r.start_m / 1000, 3),
                    "end_km": round(r.end_m / 1000, 3),
                    "nodes": len(r.node_ids),
                }
                for r in self.reaches
            ],
            "dams_on_sections": [d.__dict__ for d in self.dams],
            "dams_off_sections": self.dams_off_sections,
        }


def _cumulative(xy: np.ndarray) -> list[float]:
    d = np.hypot(*np.diff(xy, axis=0).T)
    return [0.0, *np.cumsum(d).tolist()]


def _densify(chainages: list[float], spacing: float) -> list[float]:
    """Insert evenly spaced chainages so that no gap exceeds ``spacing``."""
    out = [chainages[0]]
    for c0, c1 in zip(chainages, chainages[1:]):
        n = int(np.ceil((c1 - c0) / spacing))
        out.extend(np.linspace(c0, c1, n + 1)[1:].tolist())
    return out
