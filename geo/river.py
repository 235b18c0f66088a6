"""The river model: where on the river-border a point is, and whether a move crossed the border.

The border axis is the ``follows_river`` part of the OSM Moldova-Ukraine boundary, one
LineString per section, drawn upstream to downstream, so river km is the chainage along it.
Everything is computed in UTM 35N; lon/lat appear only at the edges.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import LineString, Polygon

from geo.config import GeoSettings
from geo.crs import Projector
from geo.data import GeoData, load_geodata
from geo.errors import GeoError, OutOfArea

SECTION_OF_BOUNDARY = {"river_north": "north", "river_south": "south"}
AREA_MARGIN_DEG = 0.25
_END_TOLERANCE_M = 1.0

Bank = Literal["left", "right"]


@dataclass(frozen=True)
class Section:
    """One river-border section: its axis (metric CRS, drawn downstream) and who holds each bank."""

    name: str
    axis: LineString
    right_bank: str
    left_bank: str

    @property
    def length_m(self) -> float:
        return float(self.axis.length)


@dataclass(frozen=True)
class Location:
    """Answer of :meth:`RiverModel.locate` for one point.

    ``offset_m`` is positive on the right bank looking downstream. ``section``, ``river_km``,
    ``offset_m`` and ``bank`` are None for a point outside every section's corridor.
    """

    lon: float
    lat: float
    section: str | None
    river_km: float | None
    offset_m: float | None
    bank: Bank | None
    side: str | None
    on_water: bool
    border_distance_m: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Locations:
    """Vectorised answer for many points (metric x/y). ``section_index`` is -1 outside sections."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    section_index: NDArray[np.int64]
    chainage_m: NDArray[np.float64]
    offset_m: NDArray[np.float64]
    axis_distance_m: NDArray[np.float64]
    side: NDArray[np.str_]
    on_water: NDArray[np.bool_]
    border_distance_m: NDArray[np.float64]


@dataclass(frozen=True)
class Crossing:
    """A move that crossed the border: where (first intersection) and from which side to which."""

    from_side: str
    to_side: str
    lon: float
    lat: float
    section: str | None
    river_km: float | None


class _SegmentIndex:
    """The axes of all sections cut into straight segments, indexed by an STRtree."""

    def __init__(self, sections: list[Section]) -> None:
        starts, vecs, cum, sec, first, last = [], [], [], [], [], []
        for i, s in enumerate(sections):
            xy = np.asarray(s.axis.coords)[:, :2]
            d = np.diff(xy, axis=0)
            lengths = np.hypot(d[:, 0], d[:, 1])
            keep = lengths > 0
            xy0, d, lengths = xy[:-1][keep], d[keep], lengths[keep]
            starts.append(xy0)
            vecs.append(d)
            cum.append(np.concatenate([[0.0], np.cumsum(lengths)[:-1]]))
            sec.append(np.full(len(d), i))
            f = np.zeros(len(d), bool)
            f[0] = True
            lst = np.zeros(len(d), bool)
            lst[-1] = True
            first.append(f)
            last.append(lst)
        self.start = np.concatenate(starts)
        self.vec = np.concatenate(vecs)
        self.length = np.hypot(self.vec[:, 0], self.vec[:, 1])
        self.cum = np.concatenate(cum)
        self.section = np.concatenate(sec)
        self.first = np.concatenate(first)
        self.last = np.concatenate(last)
        lines = shapely.linestrings(
            np.stack([self.start, self.start + self.vec], axis=1)  # (M, 2, 2)
        )
        self.tree = shapely.STRtree(lines)

    def nearest(self, pts: NDArray[Any]) -> NDArray[np.int64]:
        """Index of the nearest segment for each point geometry."""
        idx = self.tree.query_nearest(pts, all_matches=False)
        out = np.empty(len(pts), dtype=np.int64)
        out[idx[0]] = idx[1]
        return out


class RiverModel:
    """Loads the geodata once and answers where a point is on the river border."""

    def __init__(self, settings: GeoSettings | None = None, data: GeoData | None = None) -> None:
        self.settings = settings or GeoSettings()
        self.data = data or load_geodata()
        self.projector = Projector()
        self.countries: dict[str, Polygon] = {str(row.iso2): row.geometry for row in self.data.countries.itertuples()}
        for poly in self.countries.values():
            shapely.prepare(poly)
        self.sections = self._build_sections()
        self._segments = _SegmentIndex(self.sections)
        border_lines = list(self.data.boundary.geometry)
        self.border = shapely.union_all(border_lines)
        shapely.prepare(self.border)
        self._border_tree = shapely.STRtree([seg for line in border_lines for seg in _segments_of(line)])
        hw = self.settings.water_half_width_m
        self.water: dict[str, Polygon] = {s.name: s.axis.buffer(hw, cap_style="flat") for s in self.sections}
        lon0, lat0, lon1, lat1 = self.data.clip_bbox
        m = AREA_MARGIN_DEG
        self.area_bbox = (lon0 - m, lat0 - m, lon1 + m, lat1 + m)

    # -- construction ---------------------------------------------------------------------

    def _build_sections(self) -> list[Section]:
        sections = []
        for row in self.data.boundary.itertuples():
            name = SECTION_OF_BOUNDARY.get(str(row.section))
            if not (row.follows_river and name):
                continue
            axis: LineString = row.geometry
            right, left = self._bank_countries(axis)
            sections.append(Section(name=name, axis=axis, right_bank=right, left_bank=left))
        if not sections:
            raise GeoError("the boundary data has no follows_river section")
        return sections

    def _bank_countries(self, axis: LineString) -> tuple[str, str]:
        """Which country holds the right and the left bank, by probing 300 m off the axis."""
        votes: dict[str, dict[str, int]] = {"right": {}, "left": {}}
        for frac in np.linspace(0.05, 0.95, 19):
            s = float(frac) * axis.length
            p0, p1 = axis.interpolate(s - 5.0), axis.interpolate(s + 5.0)
            dx, dy = p1.x - p0.x, p1.y - p0.y
            norm = float(np.hypot(dx, dy)) or 1.0
            mid = axis.interpolate(s)
            for bank, sign in (("right", 1.0), ("left", -1.0)):
                probe = (mid.x + sign * 300.0 * dy / norm, mid.y - sign * 300.0 * dx / norm)
                for code, poly in self.countries.items():
                    if shapely.contains_xy(poly, *probe):
                        votes[bank][code] = votes[bank].get(code, 0) + 1
        right = max(votes["right"], key=votes["right"].__getitem__)
        left = max(votes["left"], key=votes["left"].__getitem__)
        if right == left:
            raise GeoError(f"both banks of the axis fall in {right}: boundary data is inconsistent")
        return right, left

    # -- queries --------------------------------------------------------------------------

    def section(self, name: str) -> Section:
        for s in self.sections:
            if s.name == name:
                return s
        raise GeoError(f"unknown river section {name!r}; known: {[s.name for s in self.sections]}")

    def in_area(self, lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
        lon0, lat0, lon1, lat1 = self.area_bbox
        lon_a, lat_a = np.asarray(lon, float), np.asarray(lat, float)
        return (lon_a >= lon0) & (lon_a <= lon1) & (lat_a >= lat0) & (lat_a <= lat1)

    def locate(self, lon: float, lat: float) -> Location:
        """Where on the river border one WGS84 point is. Raises InvalidCoordinate or OutOfArea."""
        x, y = self.projector.to_xy([lon], [lat])
        if not self.in_area(lon, lat):
            b = self.area_bbox
            raise OutOfArea(
                f"point lon={lon} lat={lat} is outside the covered area (lon {b[0]}..{b[2]}, lat {b[1]}..{b[3]})"
            )
        r = self.locate_xy(x, y)
        i = int(r.section_index[0])
        sec = self.sections[i] if i >= 0 else None
        offset = float(r.offset_m[0]) if sec else None
        bank: Bank | None = None if offset is None else ("right" if offset >= 0 else "left")
        return Location(
            lon=float(lon),
            lat=float(lat),
            section=sec.name if sec else None,
            river_km=round(float(r.chainage_m[0]) / 1000.0, 4) if sec else None,
            offset_m=round(offset, 2) if offset is not None else None,
            bank=bank,
            side=str(r.side[0]) or None,
            on_water=bool(r.on_water[0]),
            border_distance_m=round(float(r.border_distance_m[0]), 2),
        )

    def locate_many(self, lon: ArrayLike, lat: ArrayLike) -> Locations:
        """Vectorised :meth:`locate` for arrays of WGS84 points (no area check)."""
        x, y = self.projector.to_xy(lon, lat)
        return self.locate_xy(x, y)

    def locate_xy(self, x: ArrayLike, y: ArrayLike) -> Locations:
        """Vectorised locate for points already in the metric CRS."""
        xa = np.atleast_1d(np.asarray(x, dtype=float))
        ya = np.atleast_1d(np.asarray(y, dtype=float))
        pts = shapely.points(xa, ya)
        seg = self._segments.nearest(pts)
        g = self._segments
        a, d, length = g.start[seg], g.vec[seg], g.length[seg]
        px, py = xa - a[:, 0], ya - a[:, 1]
        t_raw = (px * d[:, 0] + py * d[:, 1]) / (length * length)
        t = np.clip(t_raw, 0.0, 1.0)
        fx, fy = px - t * d[:, 0], py - t * d[:, 1]
        dist = np.hypot(fx, fy)
        cross = d[:, 0] * py - d[:, 1] * px
        offset = np.where(cross <= 0, dist, -dist)  # right of the downstream direction is +
        beyond = (g.first[seg] & (t_raw * length < -_END_TOLERANCE_M)) | (
            g.last[seg] & ((t_raw - 1.0) * length > _END_TOLERANCE_M)
        )
        inside = (dist <= self.settings.section_corridor_m) & ~beyond
        on_water = inside & (dist <= self.settings.water_half_width_m)
        side = self._side(xa, ya, g.section[seg], offset, inside)
        _, bdist = self._border_tree.query_nearest(pts, return_distance=True, all_matches=False)
        return Locations(
            x=xa,
            y=ya,
            section_index=np.where(inside, g.section[seg], -1),
            chainage_m=np.where(inside, g.cum[seg] + t * length, np.nan),
            offset_m=np.where(inside, offset, np.nan),
            axis_distance_m=dist,
            side=side,
            on_water=on_water,
            border_distance_m=np.asarray(bdist, dtype=float),
        )

    def _side(
        self,
        x: NDArray[np.float64],
        y: NDArray[np.float64],
        sec: NDArray[np.int64],
        offset: NDArray[np.float64],
        inside: NDArray[np.bool_],
    ) -> NDArray[np.str_]:
        """MD/UA: on the water (and in polygon gaps) by the bank, since the axis is the border;
        elsewhere by the country polygons; "" outside both countries."""
        side = np.full(x.shape, "", dtype="<U2")
        for code, poly in self.countries.items():
            side[(side == "") & shapely.contains_xy(poly, x, y)] = code
        by_bank = inside & ((np.abs(offset) <= self.settings.water_half_width_m) | (side == ""))
        if by_bank.any():
            right = np.array([s.right_bank for s in self.sections])[sec[by_bank]]
            left = np.array([s.left_bank for s in self.sections])[sec[by_bank]]
            side[by_bank] = np.where(offset[by_bank] >= 0, right, left)
        return side

    def axis_point(self, section: str, river_km: float, offset_m: float = 0.0) -> tuple[float, float]:
        """WGS84 lon/lat of the point at ``river_km`` of a section, ``offset_m`` off the axis
        (positive to the right bank looking downstream), along the local normal."""
        s = self.section(section)
        c = min(max(river_km * 1000.0, 0.0), s.length_m)
        p = s.axis.interpolate(c)
        x, y = p.x, p.y
        if offset_m:
            a, b = s.axis.interpolate(max(c - 5.0, 0.0)), s.axis.interpolate(min(c + 5.0, s.length_m))
            dx, dy = b.x - a.x, b.y - a.y
            n = float(np.hypot(dx, dy)) or 1.0
            x, y = x + offset_m * dy / n, y - offset_m * dx / n
        lon, lat = self.projector.to_lonlat([x], [y])
        return float(lon[0]), float(lat[0])

    # -- border crossing ------------------------------------------------------------------

    def crossed_border_many(
        self, a_lon: ArrayLike, a_lat: ArrayLike, b_lon: ArrayLike, b_lat: ArrayLike
    ) -> NDArray[np.bool_]:
        """For each move a->b: both ends on known, different sides and the move meets the border."""
        ax, ay = self.projector.to_xy(a_lon, a_lat)
        bx, by = self.projector.to_xy(b_lon, b_lat)
        ra, rb = self.locate_xy(ax, ay), self.locate_xy(bx, by)
        differ = (ra.side != "") & (rb.side != "") & (ra.side != rb.side)
        moves = shapely.linestrings(np.stack([np.stack([ax, ay], -1), np.stack([bx, by], -1)], 1))
        crossed: NDArray[np.bool_] = differ & shapely.intersects(moves, self.border)
        return crossed

    def crossed_border(self, a: tuple[float, float], b: tuple[float, float]) -> Crossing | None:
        """The crossing made by a move from a to b (lon, lat), or None if it did not cross."""
        if not bool(self.crossed_border_many([a[0]], [a[1]], [b[0]], [b[1]])[0]):
            return None
        ax, ay = self.projector.to_xy([a[0]], [a[1]])
        bx, by = self.projector.to_xy([b[0]], [b[1]])
        move = LineString([(ax[0], ay[0]), (bx[0], by[0])])
        hit = move.intersection(self.border)
        first = min(shapely.get_parts(shapely.extract_unique_points(hit)), key=move.project)
        where = self.locate_xy([first.x], [first.y])
        i = int(where.section_index[0])
        lon, lat = self.projector.to_lonlat([first.x], [first.y])
        return Crossing(
            from_side=str(self.locate_xy(ax, ay).side[0]),
            to_side=str(self.locate_xy(bx, by).side[0]),
            lon=round(float(lon[0]), 7),
            lat=round(float(lat[0]), 7),
            section=self.sections[i].name if i >= 0 else None,
            river_km=round(float(where.chainage_m[0]) / 1000.0, 4) if i >= 0 else None,
        )


def _segments_of(line: LineString) -> list[LineString]:
    xy = np.asarray(line.coords)[:, :2]
    return list(shapely.linestrings(np.stack([xy[:-1], xy[1:]], axis=1)))
