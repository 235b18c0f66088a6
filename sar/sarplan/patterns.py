"""IAMSAR search patterns adapted to a river a few hundred metres wide; every leg on the water.

- parallel track *along* the river: legs following the axis at offsets ``spacing_m`` apart across
  the width (as many as cover it), joined straight across at the ends of the stretch;
- creeping line *across* it: short legs bank to bank, ``spacing_m`` apart along the river, joined
  along the bank;
- expanding square and sector search about the datum: the ideal legs in the plane (first leg
  downstream along the axis, right turns), each shortened where it would meet the bank.

Legs along or across the river are built in river coordinates (:mod:`rivercoords`), so they are
on the water by construction; free legs are clipped against the water polygon (axis buffered by
half-width minus ``bank_clearance_m``). Planned times come from the searcher's speed: a drone's
airspeed (calm), a boat's speed through the water plus the river current along each leg.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon
from shapely.ops import substring

from geo.river import RiverModel
from sar.sarplan.config import DriftSettings
from sar.sarplan.drift import DriftResult, lateral_factor
from sar.sarplan.errors import PatternError
from sar.sarplan.rivercoords import F64, SectionCoords

PatternKind = Literal["parallel_track", "creeping_line", "expanding_square", "sector"]
MIN_GROUND_SPEED_MPS = 0.05  # as the route graph: slower than this is no way at all
_BACKOFF_M = 1.0  # clipped legs end this far inside the water polygon


@dataclass(frozen=True)
class Searcher:
    """A boat (speed through water) or drone (airspeed) that flies or sails a pattern."""

    id: str
    kind: Literal["boat", "drone"]
    speed_mps: float


@dataclass(frozen=True)
class SearchArea:
    """A stretch of one section to search, with the datum (for square/sector) and its radius."""

    section: str
    km_from: float
    km_to: float
    datum_lon: float
    datum_lat: float
    radius_m: float
    probability: float

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Waypoint:
    lon: float
    lat: float
    t_s: float  # planned time from the pattern's start


@dataclass(frozen=True)
class SearchPattern:
    """Waypoints with planned times; ``legs`` are the (first, last) waypoint indexes of each search
    leg (the rest are transits between legs)."""

    kind: PatternKind
    section: str
    spacing_m: float
    searcher_id: str
    waypoints: tuple[Waypoint, ...]
    legs: tuple[tuple[int, int], ...]
    length_m: float
    duration_s: float
    start: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        def wp(w: Waypoint) -> dict[str, Any]:
            d: dict[str, Any] = {"lon": w.lon, "lat": w.lat, "t_s": round(w.t_s, 1)}
            if self.start is not None:
                d["time"] = (self.start + timedelta(seconds=w.t_s)).isoformat()
            return d

        return {
            "kind": self.kind,
            "section": self.section,
            "searcher_id": self.searcher_id,
            "spacing_m": round(self.spacing_m, 2),
            "length_m": round(self.length_m, 1),
            "duration_s": round(self.duration_s, 1),
            "start": self.start.isoformat() if self.start else None,
            "legs": [list(leg) for leg in self.legs],
            "waypoints": [wp(w) for w in self.waypoints],
        }


def track_spacing(sweep_width_m: float, coverage: float = 1.0) -> float:
    """IAMSAR track spacing S = W / C from the sweep width W and the wanted coverage factor C."""
    if not (sweep_width_m > 0 and coverage > 0):
        raise PatternError("sweep width and coverage factor must be positive")
    return sweep_width_m / coverage


def search_area(result: DriftResult, at: datetime | None = None) -> SearchArea:
    """The middle 90 % stretch of river at ``at`` (default: the last frame), datum and 50 % radius."""
    frame = result.final if at is None else result.frame_at(at)
    d = frame.datum
    if d is None:
        raise PatternError("every particle has left the section: nothing to search on this section")
    p = frame.particles
    inside = ~p.left & (p.s >= d.km_from * 1000.0) & (p.s <= d.km_to * 1000.0)
    return SearchArea(
        section=d.section,
        km_from=d.km_from,
        km_to=d.km_to,
        datum_lon=d.lon,
        datum_lat=d.lat,
        radius_m=d.radius_50_m,
        probability=float(inside.mean()),
    )


# -- builders -----------------------------------------------------------------------------------


def _stretch(coords: SectionCoords, area: SearchArea, spacing_m: float) -> tuple[float, float]:
    s0 = max(0.0, area.km_from * 1000.0)
    s1 = min(coords.length_m, area.km_to * 1000.0)
    if s1 - s0 < spacing_m:  # a point-like area still gets one spacing of river
        mid = min(max((s0 + s1) / 2, spacing_m / 2), coords.length_m - spacing_m / 2)
        s0, s1 = max(0.0, mid - spacing_m / 2), min(coords.length_m, mid + spacing_m / 2)
    return s0, s1


def _check(coords: SectionCoords, spacing_m: float, clearance_m: float) -> float:
    """Usable half-width (half-width minus bank clearance)."""
    if not (math.isfinite(spacing_m) and 5.0 <= spacing_m <= 5000.0):
        raise PatternError(f"track spacing must be 5..5000 m, not {spacing_m}")
    usable = coords.half_width_m - clearance_m
    if not (clearance_m >= 0 and usable > 0):
        raise PatternError(f"bank clearance {clearance_m} m leaves no water (half-width {coords.half_width_m} m)")
    return usable


def leg_offsets(half_width_m: float, usable_m: float, spacing_m: float) -> list[float]:
    """Offsets of the along-river legs: as many as cover the width, ``spacing_m`` apart, centred;
    the outermost are pulled in to the bank clearance if they would lie beyond it."""
    k = max(1, math.ceil(2.0 * half_width_m / spacing_m - 1e-9))
    return [float(np.clip((i - (k - 1) / 2) * spacing_m, -usable_m, usable_m)) for i in range(k)]


def parallel_track(
    river: RiverModel,
    area: SearchArea,
    searcher: Searcher,
    spacing_m: float,
    *,
    settings: DriftSettings | None = None,
    bank_clearance_m: float = 10.0,
    start: datetime | None = None,
) -> SearchPattern:
    """Legs along the river from ``km_from`` to ``km_to`` and back, left bank first."""
    coords = SectionCoords(river, area.section)
    usable = _check(coords, spacing_m, bank_clearance_m)
    s0, s1 = _stretch(coords, area, spacing_m)
    pieces, legs, count = [], [], 0
    for i, off in enumerate(leg_offsets(coords.half_width_m, usable, spacing_m)):
        a, b = (s0, s1) if i % 2 == 0 else (s1, s0)
        line = coords.offset_line(a, b, off)
        pieces.append(line)
        legs.append((count, count + len(line) - 1))
        count += len(line)
    return _finish(river, "parallel_track", coords, np.concatenate(pieces), legs, searcher, spacing_m, settings, start)


def creeping_line(
    river: RiverModel,
    area: SearchArea,
    searcher: Searcher,
    spacing_m: float,
    *,
    settings: DriftSettings | None = None,
    bank_clearance_m: float = 10.0,
    start: datetime | None = None,
) -> SearchPattern:
    """Legs bank to bank, ``spacing_m`` apart, advancing downstream; transits along the bank."""
    coords = SectionCoords(river, area.section)
    usable = _check(coords, spacing_m, bank_clearance_m)
    s0, s1 = _stretch(coords, area, spacing_m)
    n_legs = max(1, math.floor((s1 - s0) / spacing_m + 1e-9))
    first = s0 + ((s1 - s0) - (n_legs - 1) * spacing_m) / 2
    pieces: list[F64] = []
    legs, count = [], 0
    for j in range(n_legs):
        s = first + j * spacing_m
        side = -usable if j % 2 == 0 else usable
        if j > 0:  # along the bank from the previous leg's end, without repeating that point
            transit = coords.offset_line(s - spacing_m, s, -side)[1:-1]
            pieces.append(transit)
            count += len(transit)
        x, y = coords.to_xy(np.array([s, s]), np.array([side, -side]))
        pieces.append(np.stack([x, y], axis=1))
        legs.append((count, count + 1))
        count += 2
    return _finish(river, "creeping_line", coords, np.concatenate(pieces), legs, searcher, spacing_m, settings, start)


def _local_water(coords: SectionCoords, s_mid: float, reach_m: float, usable_m: float) -> Polygon:
    """The water about ``s_mid`` (axis +-reach buffered by the usable half-width), prepared."""
    axis = LineString(coords.xy)
    lo, hi = max(0.0, s_mid - reach_m), min(coords.length_m, s_mid + reach_m)
    poly: Polygon = substring(axis, lo, hi).buffer(usable_m, cap_style="flat")
    shapely.prepare(poly)
    return poly


def _ray(water: Polygon, p: F64, direction: F64, length: float) -> F64:
    """End of a leg from ``p`` (inside the water) along ``direction`` for ``length``, shortened
    where it first meets the bank (and backed off by a metre)."""
    end = p + direction * length
    seg = LineString([p, end])
    hits = seg.intersection(water.boundary)  # the boundary includes any island of land
    if hits.is_empty:
        return end
    first = min(float(seg.project(q)) for q in shapely.get_parts(shapely.extract_unique_points(hits)))
    out: F64 = p + direction * max(0.0, first - _BACKOFF_M)
    return out


def _datum_frame(coords: SectionCoords, river: RiverModel, area: SearchArea, usable: float) -> tuple[F64, F64, float]:
    """Datum (x, y) moved onto the usable water, the downstream unit vector there, its chainage."""
    loc = river.locate(area.datum_lon, area.datum_lat)
    if loc.section != coords.name or loc.river_km is None or loc.offset_m is None:
        raise PatternError(f"datum lon={area.datum_lon} lat={area.datum_lat} is not on section {coords.name}")
    s = loc.river_km * 1000.0
    inner = usable - 2.0 * _BACKOFF_M  # strictly inside the water polygon (its arcs are inscribed)
    x, y = coords.to_xy(np.array([s]), np.array([float(np.clip(loc.offset_m, -inner, inner))]))
    tx, ty = coords.tangent_at(np.array([s]))
    return np.array([x[0], y[0]]), np.array([tx[0], ty[0]]), s


def _turn_right(v: F64, deg: float) -> F64:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([c * v[0] + s * v[1], -s * v[0] + c * v[1]])


def expanding_square(
    river: RiverModel,
    area: SearchArea,
    searcher: Searcher,
    spacing_m: float,
    *,
    radius_m: float | None = None,
    settings: DriftSettings | None = None,
    bank_clearance_m: float = 10.0,
    start: datetime | None = None,
) -> SearchPattern:
    """Legs S, S, 2S, 2S, 3S... turning right, first downstream, until a leg's nominal length
    exceeds twice the radius (default the area's 50 % radius); each leg stops at the bank."""
    coords = SectionCoords(river, area.section)
    usable = _check(coords, spacing_m, bank_clearance_m)
    radius = max(radius_m if radius_m is not None else area.radius_m, spacing_m)
    p, heading, s = _datum_frame(coords, river, area, usable)
    water = _local_water(coords, s, 2.0 * radius + 4.0 * coords.half_width_m, usable)
    points = [p]
    k = 1
    while k * spacing_m <= 2.0 * radius + 1e-9 and len(points) < 400:
        for _ in range(2):
            q = _ray(water, points[-1], heading, k * spacing_m)
            if np.hypot(*(q - points[-1])) > _BACKOFF_M:
                points.append(q)
            heading = _turn_right(heading, 90.0)
        k += 1
    xy = np.stack(points)
    legs = [(i, i + 1) for i in range(len(points) - 1)]
    return _finish(river, "expanding_square", coords, xy, legs, searcher, spacing_m, settings, start)


def sector_search(
    river: RiverModel,
    area: SearchArea,
    searcher: Searcher,
    *,
    radius_m: float | None = None,
    settings: DriftSettings | None = None,
    bank_clearance_m: float = 10.0,
    start: datetime | None = None,
) -> SearchPattern:
    """IAMSAR VS: three triangles through the datum with 120 degree right turns, rim points at
    headings 0, 60, 240, 300, 120, 180 from downstream; each spoke stops at the bank, and a cross
    leg that would cut the bank goes back through the datum instead."""
    coords = SectionCoords(river, area.section)
    radius = radius_m if radius_m is not None else max(area.radius_m, 50.0)
    if not (math.isfinite(radius) and 5.0 <= radius <= 5000.0):
        raise PatternError(f"sector radius must be 5..5000 m, not {radius}")
    usable = _check(coords, radius, bank_clearance_m)
    d, down, s = _datum_frame(coords, river, area, usable)
    water = _local_water(coords, s, 2.0 * radius + 4.0 * coords.half_width_m, usable)
    rims = [_ray(water, d, _turn_right(down, h), radius) for h in (0.0, 60.0, 240.0, 300.0, 120.0, 180.0)]
    points = [d]
    for a, b in zip(rims[0::2], rims[1::2]):
        points.append(a)
        if not water.covers(LineString([a, b])):
            points.append(d)
        points += [b, d]
    xy = np.stack(points)
    legs = [(i, i + 1) for i in range(len(points) - 1)]
    return _finish(river, "sector", coords, xy, legs, searcher, radius, settings, start)


# -- timing ---------------------------------------------------------------------------------------


def _finish(
    river: RiverModel,
    kind: PatternKind,
    coords: SectionCoords,
    xy: F64,
    legs: Sequence[tuple[int, int]],
    searcher: Searcher,
    spacing_m: float,
    settings: DriftSettings | None,
    start: datetime | None,
) -> SearchPattern:
    times = leg_times(river, coords, xy, searcher, settings)
    lon, lat = coords.to_lonlat(xy[:, 0], xy[:, 1])
    length = float(np.hypot(*np.diff(xy, axis=0).T).sum()) if len(xy) > 1 else 0.0
    return SearchPattern(
        kind=kind,
        section=coords.name,
        spacing_m=spacing_m,
        searcher_id=searcher.id,
        waypoints=tuple(Waypoint(round(float(a), 7), round(float(b), 7), float(t)) for a, b, t in zip(lon, lat, times)),
        legs=tuple(legs),
        length_m=length,
        duration_s=float(times[-1]),
        start=start,
    )


def leg_times(
    river: RiverModel, coords: SectionCoords, xy: F64, searcher: Searcher, settings: DriftSettings | None
) -> F64:
    """Planned time at each waypoint. A boat crabs against the current so that its track follows
    each leg: ground speed = c.d + sqrt(V^2 - (c x d)^2) with c the current at the leg's middle
    (downstream along the axis, scaled by the lateral profile). Drones fly at airspeed (calm)."""
    if not (math.isfinite(searcher.speed_mps) and searcher.speed_mps > 0):
        raise PatternError(f"searcher {searcher.id}: speed must be positive")
    d = np.diff(xy, axis=0)
    length = np.hypot(d[:, 0], d[:, 1])
    ground = np.full(len(d), searcher.speed_mps)
    if searcher.kind == "boat" and settings is not None and len(d):
        ground = _boat_ground_speed(river, coords, xy, searcher, settings)
    return np.concatenate([[0.0], np.cumsum(np.divide(length, ground, out=np.zeros_like(length), where=length > 0))])


def _boat_ground_speed(
    river: RiverModel, coords: SectionCoords, xy: F64, searcher: Searcher, settings: DriftSettings
) -> F64:
    d = np.diff(xy, axis=0)
    length = np.hypot(d[:, 0], d[:, 1])
    mid = (xy[:-1] + xy[1:]) / 2
    loc = river.locate_xy(mid[:, 0], mid[:, 1])
    s, n = np.nan_to_num(loc.chainage_m), np.nan_to_num(loc.offset_m)
    u_max = settings.current_mps.get(coords.name, 0.0) * settings.discharge_factor
    u = u_max * lateral_factor(settings, n / coords.half_width_m)
    tx, ty = coords.tangent_at(s)
    safe = np.maximum(length, 1e-9)
    dx, dy = d[:, 0] / safe, d[:, 1] / safe
    along = u * (tx * dx + ty * dy)
    cross = u * (tx * dy - ty * dx)
    disc = searcher.speed_mps**2 - cross**2
    ground: F64 = along + np.sqrt(np.maximum(disc, 0.0))
    bad = (length > 0) & ((disc <= 0) | (ground <= MIN_GROUND_SPEED_MPS))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PatternError(
            f"boat {searcher.id} at {searcher.speed_mps} m/s cannot make way against the current on leg {i + 1}"
        )
    return ground
