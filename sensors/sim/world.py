"""Ground truth of the simulated scenario: who is on (or over) the river, where, at every second.

An entity moves along one river section, piecewise linearly in river coordinates (river km and
lateral offset, + = right bank), between waypoints; lon/lat come from :meth:`RiverModel.axis_point`.
The scenario repeats with a period (``cycle_s``): an entity that appears in the middle of a
cycle is absent before its first waypoint and holds its last one until the cycle ends. Nothing
here is random: randomness (seeded) is used when the scenario is built, so a World is a pure
function of time.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from pyproj import Geod

from geo.river import RiverModel
from sensors.model import TargetClass

GEOD = Geod(ellps="WGS84")
VELOCITY_STEP_S = 1.0  # finite difference for speed and course


@dataclass(frozen=True)
class Waypoint:
    """Where an entity is at a time of the cycle (seconds from the cycle start)."""

    t_s: float
    river_km: float
    offset_m: float


@dataclass(frozen=True)
class RiverPath:
    """Piecewise linear motion in river coordinates on one section; waypoint times increase."""

    section: str
    waypoints: tuple[Waypoint, ...]

    def __post_init__(self) -> None:
        times = [w.t_s for w in self.waypoints]
        if not times or any(b <= a for a, b in zip(times, times[1:])):
            raise ValueError(f"waypoint times must be given and increase: {times}")

    @property
    def start_s(self) -> float:
        return self.waypoints[0].t_s

    def at(self, t_s: float) -> tuple[float, float] | None:
        """(river km, offset m) at a time of the cycle; None before the first waypoint."""
        wps = self.waypoints
        if t_s < wps[0].t_s:
            return None
        i = bisect.bisect_right(wps, t_s, key=lambda w: w.t_s)
        if i >= len(wps):
            return wps[-1].river_km, wps[-1].offset_m
        a, b = wps[i - 1], wps[i]
        f = (t_s - a.t_s) / (b.t_s - a.t_s)
        return a.river_km + f * (b.river_km - a.river_km), a.offset_m + f * (b.offset_m - a.offset_m)


@dataclass(frozen=True)
class Entity:
    """A boat, a person or one of our drones. Cooperative entities send AIS (from ``ais_from_s``
    to ``ais_until_s`` of each cycle); drones report over MAVLink with ``system_id``."""

    id: str
    cls: TargetClass
    path: RiverPath
    cooperative: bool = False
    mmsi: int | None = None
    name: str | None = None
    callsign: str | None = None
    ship_type: int = 0
    length_m: float = 8.0
    beam_m: float = 3.0
    ais_class_b: bool = False
    ais_until_s: float | None = None
    agency: str | None = None
    system_id: int | None = None
    altitude_m: float = 0.0
    role: str = ""

    @property
    def on_water(self) -> bool:
        """Boats and persons are on the water; drones fly."""
        return self.cls is not TargetClass.AIRCRAFT

    def ais_on(self, cycle_t_s: float) -> bool:
        return self.cooperative and (self.ais_until_s is None or cycle_t_s < self.ais_until_s)


@dataclass(frozen=True)
class EntityState:
    """One entity at one sim time (seconds since the simulation start)."""

    entity: Entity
    t_s: float
    cycle: int
    section: str
    river_km: float
    offset_m: float
    lon: float
    lat: float
    side: str
    speed_mps: float
    course_deg: float
    ais_on: bool

    @property
    def id(self) -> str:
        return self.entity.id


@dataclass
class World:
    """The entities of a scenario over a river model, repeating every ``cycle_s`` seconds."""

    river: RiverModel
    entities: Sequence[Entity]
    cycle_s: float = 1800.0
    _banks: dict[str, tuple[str, str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ids = [e.id for e in self.entities]
        if len(set(ids)) != len(ids):
            raise ValueError("entity ids must be unique")
        self._banks = {s.name: (s.right_bank, s.left_bank) for s in self.river.sections}

    def entity(self, entity_id: str) -> Entity:
        for e in self.entities:
            if e.id == entity_id:
                return e
        raise KeyError(entity_id)

    def states(self, t_s: float) -> list[EntityState]:
        """Every entity present at sim time ``t_s`` (>= 0), in entity order."""
        out = []
        for e in self.entities:
            s = self.state(e, t_s)
            if s is not None:
                out.append(s)
        return out

    def state(self, e: Entity, t_s: float) -> EntityState | None:
        """Where ``e`` is at sim time ``t_s``, or None when it is not in the scenario then."""
        cycle, ct = divmod(t_s, self.cycle_s)
        here = e.path.at(ct)
        if here is None:
            return None
        km, off = here
        lon, lat = self.river.axis_point(e.path.section, km, off)
        speed, course = self._velocity(e, ct, lon, lat)
        right, left = self._banks[e.path.section]
        return EntityState(
            entity=e,
            t_s=t_s,
            cycle=int(cycle),
            section=e.path.section,
            river_km=km,
            offset_m=off,
            lon=lon,
            lat=lat,
            side=right if off >= 0 else left,
            speed_mps=speed,
            course_deg=course,
            ais_on=e.ais_on(ct),
        )

    def _velocity(self, e: Entity, ct: float, lon: float, lat: float) -> tuple[float, float]:
        """Speed over ground and course (deg true) by a finite difference inside the cycle."""
        forward = ct + VELOCITY_STEP_S < self.cycle_s
        other = e.path.at(ct + VELOCITY_STEP_S if forward else ct - VELOCITY_STEP_S)
        if other is None:
            return 0.0, 0.0
        lon2, lat2 = self.river.axis_point(e.path.section, *other)
        if not forward:
            lon, lat, lon2, lat2 = lon2, lat2, lon, lat
        az, _, dist = GEOD.inv(lon, lat, lon2, lat2)
        if dist < 1e-6:
            return 0.0, 0.0
        return float(dist) / VELOCITY_STEP_S, float(az) % 360.0


def bearing_range(site_lon: float, site_lat: float, lon: float, lat: float) -> tuple[float, float]:
    """True bearing (deg, [0, 360)) and geodesic distance (m) from a site to a point."""
    az, _, dist = GEOD.inv(site_lon, site_lat, lon, lat)
    b = float(az) % 360.0
    return (0.0 if b >= 360.0 else b), float(dist)


def offset_point(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """A point a few metres east and north of another (geodesic; for noise and clutter)."""
    dist = math.hypot(east_m, north_m)
    if dist == 0.0:
        return lon, lat
    lon2, lat2, _ = GEOD.fwd(lon, lat, math.degrees(math.atan2(east_m, north_m)), dist)
    return float(lon2), float(lat2)
