"""Observations of one scan as arrays in the metric CRS: what the filter and the gate need.

A scan is the observations of one sensor at (nearly) one time. Positions are projected in one
call; a bearing observation keeps its (range, true bearing) and its sensor site, projected once per
site with the site's meridian convergence and scale, so the update can be done in polar form.
Horizontal accuracies are radial 1-sigma (as the decoders give them): per axis sd = accuracy/sqrt(2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geo.crs import Projector
from sar.tracking.kalman import Array, polar_to_xy
from sensors.model import Observation, SensorKind

WGS84_A_M = 6_378_137.0
WGS84_E2 = 6.694379990141317e-3
_STEP_DEG = 1e-3  # half the meridian step used to measure convergence and scale
_CELL_DEG = 0.05  # velocities are rotated with the convergence of their 0.05-degree cell
AIS_KEY = "ais"  # AIS target ids (MMSI) are one namespace over all AIS receivers


def target_key(obs: Observation) -> tuple[str, str] | None:
    """The sensor's own id for the target, made global: (sensor, id), or ("ais", MMSI)."""
    if obs.target_id is None:
        return None
    return (AIS_KEY if obs.sensor_kind is SensorKind.AIS else obs.sensor_id, obs.target_id)


def mmsi_of(obs: Observation) -> int:
    """The MMSI of an AIS observation, 0 when there is none."""
    tid = obs.target_id
    if obs.sensor_kind is SensorKind.AIS and tid is not None and tid.isdigit() and len(tid) <= 9:
        return int(tid)
    return 0


class Geometry:
    """The projector plus what is cached per sensor site: grid x/y, convergence, scale."""

    def __init__(self, projector: Projector) -> None:
        self.projector = projector
        self._sites: dict[tuple[float, float], tuple[float, float, float, float]] = {}
        self._cells: dict[tuple[int, int], float] = {}

    def site(self, lon: float, lat: float) -> tuple[float, float, float, float]:
        """(x m, y m, convergence rad, scale) of a site: true north is ``convergence`` clockwise of
        grid north there, and grid distances are ``scale`` times true ones."""
        key = (lon, lat)
        if key not in self._sites:
            x, y = self.projector.to_xy([lon, lon, lon], [lat, lat - _STEP_DEG, lat + _STEP_DEG])
            dx, dy = float(x[2] - x[1]), float(y[2] - y[1])
            phi = math.radians(lat)
            meridian_m = WGS84_A_M * (1 - WGS84_E2) / (1 - WGS84_E2 * math.sin(phi) ** 2) ** 1.5
            scale = math.hypot(dx, dy) / (meridian_m * math.radians(2 * _STEP_DEG))
            self._sites[key] = (float(x[0]), float(y[0]), math.atan2(dx, dy), scale)
        return self._sites[key]

    def convergence(self, lon: float, lat: float) -> float:
        """Meridian convergence (rad) near a point, cached per cell."""
        cell = (round(lon / _CELL_DEG), round(lat / _CELL_DEG))
        if cell not in self._cells:
            self._cells[cell] = self.site(cell[0] * _CELL_DEG, cell[1] * _CELL_DEG)[2]
        return self._cells[cell]


@dataclass
class Scan:
    """One sensor's observations near one time; arrays have one row per observation."""

    sensor_id: str
    kind: SensorKind
    time_s: float  # the latest observation time (tracker seconds)
    obs: list[Observation]
    delta_s: Array  # observation time - scan time (<= 0)
    dim: NDArray[np.int_]  # 2: position or range+bearing; 1: bearing only
    polar: NDArray[np.bool_]  # measured from a site
    z: Array  # [k,2] x, y (m) or range (m, nan if none), true bearing (rad)
    r: Array  # [k,2,2] measurement covariance
    site: Array  # [k,2] site x/y (polar rows)
    convergence: Array  # [k] rad
    scale: Array  # [k]
    xy: Array  # [k,2] position (nan for bearing only)
    xy_cov: Array  # [k,2,2]
    vel: Array  # [k,2] grid velocity (nan: none reported or not used)
    vel_sd: Array  # [k] in the update
    vel_gate_sd: Array  # [k] in the gate
    keys: list[tuple[str, str] | None]
    mmsi: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.obs)


def build_scan(
    obs: list[Observation],
    times_s: list[float],
    geom: Geometry,
    vel_floor_mps: float | None,
    max_range_sd: float,
    vel_gate_floor_mps: float = 0.0,
) -> Scan:
    """Arrays of one scan; ``vel_floor_mps`` None: reported velocities are not used (else their sd
    is at least that, and in the gate at least ``vel_gate_floor_mps``); a range whose sd exceeds
    ``max_range_sd`` times it is dropped (a camera's range from a tiny depression)."""
    k = len(obs)
    t = np.asarray(times_s, dtype=float)
    s = Scan(
        sensor_id=obs[0].sensor_id, kind=obs[0].sensor_kind, time_s=float(t.max()), obs=obs,
        delta_s=t - t.max(), dim=np.full(k, 2), polar=np.zeros(k, dtype=bool), z=np.zeros((k, 2)),
        r=np.zeros((k, 2, 2)), site=np.zeros((k, 2)), convergence=np.zeros(k), scale=np.ones(k),
        xy=np.full((k, 2), np.nan), xy_cov=np.zeros((k, 2, 2)), vel=np.full((k, 2), np.nan), vel_sd=np.ones(k),
        vel_gate_sd=np.ones(k), keys=[target_key(o) for o in obs],
        mmsi=np.array([mmsi_of(o) for o in obs], dtype=np.int64),
    )  # fmt: skip
    _fill_positions(s, geom)
    _fill_bearings(s, geom, max_range_sd)
    if vel_floor_mps is not None:
        _fill_velocities(s, geom, vel_floor_mps)
        s.vel_gate_sd = np.maximum(s.vel_sd, vel_gate_floor_mps)
    return s


def _fill_positions(s: Scan, geom: Geometry) -> None:
    idx = [i for i, o in enumerate(s.obs) if o.position is not None]
    pos = [o.position for o in s.obs if o.position is not None]
    if not pos:
        return
    x, y = geom.projector.to_xy([p.lon for p in pos], [p.lat for p in pos])
    var = np.array([p.accuracy_m**2 / 2.0 for p in pos])
    s.z[idx, 0], s.z[idx, 1] = x, y
    s.xy[idx] = s.z[idx]
    s.r[idx, 0, 0] = s.r[idx, 1, 1] = var
    s.xy_cov[idx] = s.r[idx]


def _fill_bearings(s: Scan, geom: Geometry, max_range_sd: float) -> None:
    brs = [(i, o.bearing) for i, o in enumerate(s.obs) if o.bearing is not None]
    if not brs:
        return
    idx = [i for i, _ in brs]
    sites = np.array([geom.site(b.origin_lon, b.origin_lat) for _, b in brs])
    s.site[idx], s.convergence[idx], s.scale[idx] = sites[:, :2], sites[:, 2], sites[:, 3]
    rng = np.array([math.nan if b.range_m is None else b.range_m for _, b in brs])
    rng_sd = np.array([math.nan if b.range_sd_m is None else b.range_sd_m for _, b in brs])
    ranged = rng_sd <= max_range_sd * rng  # False where either is missing (nan)
    s.z[idx, 0] = np.where(ranged, rng, np.nan)
    s.z[idx, 1] = np.radians([b.bearing_deg for _, b in brs])
    s.r[idx, 0, 0] = np.where(ranged, rng_sd**2, 1.0)
    s.r[idx, 1, 1] = np.radians([b.bearing_sd_deg for _, b in brs]) ** 2
    s.dim[idx] = np.where(ranged, 2, 1)
    s.polar[idx] = True
    rows = np.flatnonzero(s.polar & (s.dim == 2))
    if len(rows):
        xy, cov = polar_to_xy(s.site[rows], s.z[rows, 0], s.z[rows, 1], s.convergence[rows], s.scale[rows], s.r[rows])
        s.xy[rows], s.xy_cov[rows] = xy, cov


def _fill_velocities(s: Scan, geom: Geometry, floor_mps: float) -> None:
    vs = [(i, o.velocity) for i, o in enumerate(s.obs) if o.velocity is not None]
    if not vs:
        return
    idx = np.array([i for i, _ in vs])
    conv = np.array([_convergence(s, geom, i) for i, _ in vs])
    speed = np.array([v.speed_mps for _, v in vs])
    az = np.radians([v.course_deg for _, v in vs]) + conv
    ok = np.isfinite(speed) & np.isfinite(az)
    s.vel[idx[ok]] = np.column_stack([speed * np.sin(az), speed * np.cos(az)])[ok]
    s.vel_sd[idx] = np.maximum([v.accuracy_mps for _, v in vs], floor_mps)


def _convergence(s: Scan, geom: Geometry, i: int) -> float:
    """Convergence at an observation: its site's, or that of its position's cell."""
    if s.polar[i]:
        return float(s.convergence[i])
    pos = s.obs[i].position
    assert pos is not None
    return geom.convergence(pos.lon, pos.lat)
