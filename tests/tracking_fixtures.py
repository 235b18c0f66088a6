"""Test fixtures for the tracker: boats moving in straight lines on the real river (placed with
``RiverModel.axis_point``), and noisy observations of them made independently of the tracker's
own geometry (bearings and ranges are geodesics, as a real sensor measures them)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from geo.crs import Projector
from geo.river import RiverModel
from sar.tracking.model import Track
from sar.tracking.tracker import Tracker, TrackerUpdate
from sensors.model import BearingRange, Observation, Position, SensorKind, TargetClass, Velocity
from sensors.sim.scenario import OTACI_RADAR
from sensors.sim.world import bearing_range

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SITE = (OTACI_RADAR.lon, OTACI_RADAR.lat)  # a real radar site: north km 28.6, 350 m into MD


def at(t_s: float) -> datetime:
    return T0 + timedelta(seconds=t_s)


@dataclass(frozen=True)
class Boat:
    """Constant velocity in the metric CRS from ``xy0`` at t = 0."""

    xy0: tuple[float, float]
    v_mps: tuple[float, float]

    def xy(self, t_s: float) -> tuple[float, float]:
        return self.xy0[0] + self.v_mps[0] * t_s, self.xy0[1] + self.v_mps[1] * t_s

    def lonlat(self, proj: Projector, t_s: float) -> tuple[float, float]:
        lon, lat = proj.to_lonlat(*self.xy(t_s))
        return float(lon), float(lat)


def xy_of(river: RiverModel, section: str, km: float, offset_m: float = 0.0) -> tuple[float, float]:
    x, y = river.projector.to_xy(*river.axis_point(section, km, offset_m))
    return float(x), float(y)


def boat_between(river: RiverModel, a: tuple[str, float, float], b: tuple[str, float, float], run_s: float) -> Boat:
    """A boat going in a straight line from one river point to another in ``run_s``."""
    (x0, y0), (x1, y1) = xy_of(river, *a), xy_of(river, *b)
    return Boat((x0, y0), ((x1 - x0) / run_s, (y1 - y0) / run_s))


def position_obs(
    proj: Projector,
    boat: Boat,
    t_s: float,
    rng: np.random.Generator,
    sensor: str = "pos-1",
    kind: SensorKind = SensorKind.RADAR,
    accuracy_m: float = 10.0,
    target_id: str | None = None,
    velocity: bool = False,
    cls: TargetClass = TargetClass.UNKNOWN,
    confidence: float = 0.0,
) -> Observation:
    """A position with radial 1-sigma ``accuracy_m`` (per axis accuracy/sqrt 2)."""
    x, y = boat.xy(t_s)
    ex, ey = rng.normal(0.0, accuracy_m / math.sqrt(2.0), 2)
    lon, lat = proj.to_lonlat(x + ex, y + ey)
    vel = None
    if velocity:
        vx, vy = boat.v_mps
        vel = Velocity(math.hypot(vx, vy), math.degrees(math.atan2(vx, vy)) % 360.0, 0.3)
    return Observation(
        sensor_id=sensor, sensor_kind=kind, time=at(t_s), position=Position(float(lon), float(lat), accuracy_m),
        velocity=vel, target_id=target_id, target_class=cls, class_confidence=confidence,
    )  # fmt: skip


def polar_obs(
    proj: Projector,
    boat: Boat,
    t_s: float,
    rng: np.random.Generator,
    sensor: str = "radar-1",
    kind: SensorKind = SensorKind.RADAR,
    site: tuple[float, float] = SITE,
    range_sd_m: float | None = 20.0,
    bearing_sd_deg: float = 0.5,
    target_id: str | None = None,
    cls: TargetClass = TargetClass.UNKNOWN,
    confidence: float = 0.0,
) -> Observation:
    """True bearing and (unless ``range_sd_m`` is None) range from ``site``: geodesics plus noise."""
    brg, dist = bearing_range(*site, *boat.lonlat(proj, t_s))
    b = (brg + float(rng.normal(0.0, bearing_sd_deg))) % 360.0
    r = None if range_sd_m is None else dist + float(rng.normal(0.0, range_sd_m))
    return Observation(
        sensor_id=sensor, sensor_kind=kind, time=at(t_s), target_id=target_id, target_class=cls,
        class_confidence=confidence, bearing=BearingRange(site[0], site[1], b, bearing_sd_deg, r, range_sd_m),
    )  # fmt: skip


def every(period_s: float, until_s: float, phase_s: float = 0.0) -> list[float]:
    return [float(t) for t in np.arange(phase_s, until_s, period_s)]


def run(
    tracker: Tracker, observations: Iterable[Observation], until_s: float, tick_s: float = 1.0
) -> list[TrackerUpdate]:
    """Feed observations in time order, advancing every ``tick_s`` (lag included) until ``until_s``."""
    pending = sorted(observations, key=lambda o: o.time)
    lag = tracker.settings.lag_s
    out, i = [], 0
    for t in np.arange(tick_s, until_s + lag + tick_s, tick_s):
        while i < len(pending) and pending[i].time <= at(float(t)):
            tracker.add(pending[i])
            i += 1
        out.append(tracker.advance(at(float(t))))
    return out


def error_m(track: Track, boat: Boat) -> float:
    """Distance from the track (at its time) to the boat then."""
    x, y = boat.xy((track.time - T0).total_seconds())
    return math.hypot(track.x_m - x, track.y_m - y)


def velocity_error_mps(track: Track, boat: Boat) -> float:
    return math.hypot(track.vx_mps - boat.v_mps[0], track.vy_mps - boat.v_mps[1])
