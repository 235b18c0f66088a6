"""Monte Carlo drift of a person or object in the river, in river coordinates (s, n).

Each particle is advected downstream by the surface current ``u(n)`` (lateral profile in
:class:`DriftSettings`), spread by turbulent diffusion (across and, weakly, along), and pushed by
the wind through its leeway (a downwind fraction of the wind speed, drawn per particle). A
particle meeting a bank is caught (stranded) with ``strand_probability`` per contact, otherwise
reflected; a stranded particle is freed with ``release_per_min``. Particles never leave the
water: ``|n|`` stays inside the half-width and a particle that reaches the section's downstream
end (where the border leaves the river) stops there, marked as having left the section.

The last known position seeds the cloud uniformly over a disc of ``position_radius_m`` (clipped
into the water) and its time uncertainty releases particles uniformly over
``time +- time_uncertainty_s``. Everything is numpy over all particles, seeded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geo.river import RiverModel
from sar.sarplan.cells import grid_cells
from sar.sarplan.config import DriftSettings, ObjectType
from sar.sarplan.errors import DriftError
from sar.sarplan.rivercoords import F64, SectionCoords

BANK_MARGIN_M = 1.0  # particles stay this far inside the water edge (float safety for on_water)
MAX_STEPS = 20_000
MAX_PARTICLES = 200_000
LastKnown = tuple[float, float, datetime]


@dataclass(frozen=True)
class Wind:
    """10 m wind: speed and the true direction it blows from (grid north is taken as true north,
    within 2 degrees on the Dniester; leeway is far less certain than that)."""

    speed_mps: float
    from_deg: float

    def towards_xy(self) -> tuple[float, float]:
        to = math.radians(self.from_deg + 180.0)
        return self.speed_mps * math.sin(to), self.speed_mps * math.cos(to)


@dataclass(frozen=True)
class Particles:
    """Particle state at one frame (metric x/y and river coordinates)."""

    x: F64
    y: F64
    s: F64
    n: F64
    stranded: NDArray[np.bool_]
    left: NDArray[np.bool_]


@dataclass(frozen=True)
class Datum:
    """Mean position of the particles still in the section, with the radii holding 50 % / 90 % of
    them and the river stretch holding the middle 90 % (5th to 95th percentile of chainage)."""

    lon: float
    lat: float
    section: str
    river_km: float
    offset_m: float
    radius_50_m: float
    radius_90_m: float
    km_from: float
    km_to: float

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class DriftFrame:
    """The cloud at one output time: datum, probability cells (GeoJSON features), fractions."""

    time: datetime
    datum: Datum | None
    cells: tuple[dict[str, Any], ...]
    stranded_fraction: float
    left_fraction: float
    particles: Particles

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(),
            "datum": self.datum.to_dict() if self.datum else None,
            "stranded_fraction": round(self.stranded_fraction, 4),
            "left_section_fraction": round(self.left_fraction, 4),
            "cells": {"type": "FeatureCollection", "features": list(self.cells)},
        }


@dataclass(frozen=True)
class DriftResult:
    """The predicted drift: where it started and one frame per output time (last = ``until``)."""

    section: str
    object_type: ObjectType
    particles: int
    seed: int | None
    step_s: float
    last_known: tuple[float, float, datetime]
    start_river_km: float
    start_offset_m: float
    frames: tuple[DriftFrame, ...]

    @property
    def final(self) -> DriftFrame:
        return self.frames[-1]

    def frame_at(self, time: datetime) -> DriftFrame:
        """The latest frame at or before ``time`` (the first frame if ``time`` is earlier)."""
        best = self.frames[0]
        for f in self.frames:
            if f.time <= time:
                best = f
        return best

    def to_dict(self) -> dict[str, Any]:
        lon, lat, t = self.last_known
        return {
            "section": self.section,
            "object_type": self.object_type.value,
            "particles": self.particles,
            "seed": self.seed,
            "step_s": self.step_s,
            "last_known": {"lon": lon, "lat": lat, "time": t.isoformat()},
            "start": {"river_km": round(self.start_river_km, 4), "offset_m": round(self.start_offset_m, 2)},
            "frames": [f.to_dict() for f in self.frames],
        }


def lateral_factor(settings: DriftSettings, eta: F64) -> F64:
    """The lateral profile ``f(eta)``, ``eta = n / half-width`` in [-1, 1] (see DriftSettings)."""
    a = np.clip(np.abs(eta), 0.0, 1.0)
    if settings.lateral_profile == "power":
        out: F64 = (1.0 - a) ** settings.profile_exponent
        return out
    if settings.lateral_profile == "parabolic":
        out = 1.0 - a * a
        return out
    return np.ones_like(a)


def _reflect(n: F64, limit: float) -> F64:
    """Fold offsets beyond +-limit back into the water (clip if a step overshoots twice)."""
    over = np.abs(n) > limit
    folded = np.where(over, np.sign(n) * (2.0 * limit - np.abs(n)), n)
    return np.clip(folded, -limit, limit)


@dataclass
class _Cloud:
    s: F64
    n: F64
    release_s: F64  # seconds after the last known time
    current: F64  # per-particle current multiplier
    leeway: F64  # per-particle leeway fraction
    stranded: NDArray[np.bool_]
    left: NDArray[np.bool_]


def _validate(
    last_known: LastKnown, until: datetime, particles: int, step_s: float, radius_m: float, dt_s: float
) -> None:
    t0 = last_known[2]
    if t0.tzinfo is None or until.tzinfo is None:
        raise DriftError("times must be timezone-aware (UTC)")
    if until <= t0:
        raise DriftError(f"until ({until.isoformat()}) must be after the last known time ({t0.isoformat()})")
    if not 1 <= particles <= MAX_PARTICLES:
        raise DriftError(f"particles must be between 1 and {MAX_PARTICLES}, not {particles}")
    if not (math.isfinite(step_s) and 1.0 <= step_s <= 3600.0):
        raise DriftError(f"step_s must be between 1 and 3600 s, not {step_s}")
    if not (math.isfinite(radius_m) and 0 <= radius_m <= 10_000 and math.isfinite(dt_s) and 0 <= dt_s <= 86_400):
        raise DriftError("position_radius_m must be 0..10000 m and time_uncertainty_s 0..86400 s")
    steps = ((until - t0).total_seconds() + dt_s) / step_s
    if steps > MAX_STEPS:
        raise DriftError(f"{steps:.0f} steps exceed {MAX_STEPS}: use a longer step_s or an earlier until")


def predict_drift(
    river: RiverModel,
    last_known: LastKnown,
    until: datetime,
    settings: DriftSettings,
    object_type: ObjectType = ObjectType.PERSON_IN_WATER,
    particles: int = 2000,
    step_s: float = 30.0,
    seed: int | None = None,
    *,
    position_radius_m: float = 50.0,
    time_uncertainty_s: float = 0.0,
    wind: Wind | None = None,
) -> DriftResult:
    """Drift from ``last_known`` (lon, lat, UTC time) to ``until``. A position on the bank or land
    within the section's corridor starts at the water's edge. Raises DriftError, or GeoError for
    a coordinate that is invalid or outside the covered area."""
    _validate(last_known, until, particles, step_s, position_radius_m, time_uncertainty_s)
    lon, lat, t0 = last_known
    loc = river.locate(lon, lat)
    if loc.section is None or loc.river_km is None or loc.offset_m is None:
        raise DriftError(f"last known position lon={lon} lat={lat} is not near the river border")
    if loc.section not in settings.current_mps:
        raise DriftError(f"no current configured for section {loc.section!r} (settings current_mps)")
    coords = SectionCoords(river, loc.section)
    rng = np.random.default_rng(seed)
    start = (loc.river_km * 1000.0, loc.offset_m)
    cloud = _seed(coords, start, settings, object_type, particles, rng, position_radius_m, time_uncertainty_s)
    frames = _run(coords, cloud, settings, t0, until, step_s, time_uncertainty_s, wind, rng)
    return DriftResult(
        section=loc.section,
        object_type=object_type,
        particles=particles,
        seed=seed,
        step_s=step_s,
        last_known=(lon, lat, t0),
        start_river_km=loc.river_km,
        start_offset_m=loc.offset_m,
        frames=tuple(frames),
    )


def _seed(
    coords: SectionCoords,
    start: tuple[float, float],
    settings: DriftSettings,
    object_type: ObjectType,
    count: int,
    rng: np.random.Generator,
    radius_m: float,
    dt_s: float,
) -> _Cloud:
    """Particles uniform over the disc of ``radius_m`` about (s0, n0), released over +-dt_s."""
    s0, n0 = start
    limit = coords.half_width_m - BANK_MARGIN_M
    rho = radius_m * np.sqrt(rng.random(count))
    theta = rng.uniform(0.0, 2.0 * np.pi, count)
    s = np.clip(s0 + rho * np.cos(theta), 0.0, coords.length_m)
    n = _reflect(np.clip(n0, -limit, limit) + rho * np.sin(theta), limit)
    lw = settings.leeway[object_type]
    return _Cloud(
        s=s,
        n=n,
        release_s=rng.uniform(-dt_s, dt_s, count) if dt_s > 0 else np.zeros(count),
        current=np.maximum(0.0, 1.0 + settings.current_sd_fraction * rng.standard_normal(count)),
        leeway=np.maximum(0.0, lw.fraction + lw.fraction_sd * rng.standard_normal(count)),
        stranded=np.zeros(count, dtype=bool),
        left=np.zeros(count, dtype=bool),
    )


def _run(
    coords: SectionCoords,
    cloud: _Cloud,
    settings: DriftSettings,
    t0: datetime,
    until: datetime,
    step_s: float,
    dt_s: float,
    wind: Wind | None,
    rng: np.random.Generator,
) -> list[DriftFrame]:
    """Step the cloud from the earliest release to ``until``; a frame every ``frames_every_s``."""
    end_s = (until - t0).total_seconds()
    t = -math.ceil(dt_s / step_s) * step_s  # steps aligned on the last known time
    next_frame = 0.0
    snaps: list[tuple[float, Particles]] = []
    if t >= next_frame:
        snaps.append((0.0, _snapshot(coords, cloud)))
        next_frame += settings.frames_every_s
    while t < end_s - 1e-9:
        dt = min(step_s, end_s - t)
        _step(coords, cloud, settings, t, dt, wind, rng)
        t += dt
        if t >= next_frame - 1e-9 or t >= end_s - 1e-9:
            snaps.append((t, _snapshot(coords, cloud)))
            while next_frame <= t + 1e-9:
                next_frame += settings.frames_every_s
    cells = grid_cells(coords, [p for _, p in snaps], settings.cell_length_m, settings.lateral_bands)
    return [
        DriftFrame(
            time=t0 + timedelta(seconds=ts),
            datum=_datum(coords, p),
            cells=c,
            stranded_fraction=float(p.stranded.mean()),
            left_fraction=float(p.left.mean()),
            particles=p,
        )
        for (ts, p), c in zip(snaps, cells)
    ]


def _step(
    coords: SectionCoords,
    c: _Cloud,
    settings: DriftSettings,
    t: float,
    dt: float,
    wind: Wind | None,
    rng: np.random.Generator,
) -> None:
    """Advance every free particle by one step of ``dt`` seconds starting at ``t``."""
    hw = coords.half_width_m
    limit = hw - BANK_MARGIN_M
    active = np.clip((t + dt - c.release_s) / dt, 0.0, 1.0)  # part of the step after release
    free = ~(c.stranded | c.left) & (active > 0)
    a = np.where(free, active * dt, 0.0)
    u_max = settings.current_mps.get(coords.name, 0.0) * settings.discharge_factor
    ds = u_max * c.current * lateral_factor(settings, c.n / hw) * a
    dn = np.zeros_like(ds)
    if wind is not None and wind.speed_mps > 0:
        wx, wy = wind.towards_xy()
        tx, ty = coords.tangent_at(c.s)
        ds += c.leeway * (wx * tx + wy * ty) * a
        dn += c.leeway * (wx * ty - wy * tx) * a  # right normal is (ty, -tx)
    count = len(ds)
    ds += np.sqrt(2.0 * settings.along_diffusion_m2ps * a) * rng.standard_normal(count)
    dn += np.sqrt(2.0 * settings.lateral_diffusion_m2ps * a) * rng.standard_normal(count)
    s_new = np.maximum(c.s + ds, 0.0)
    n_new = c.n + dn
    contact = free & (np.abs(n_new) > limit)
    caught = contact & (rng.random(count) < settings.strand_probability)
    n_new = np.where(caught, np.sign(n_new) * limit, _reflect(n_new, limit))
    left = free & (s_new >= coords.length_m)
    c.s = np.where(free, np.minimum(s_new, coords.length_m), c.s)
    c.n = np.where(free, n_new, c.n)
    c.left |= left
    release_p = 1.0 - (1.0 - settings.release_per_min) ** (dt / 60.0)
    freed = c.stranded & (rng.random(count) < release_p)
    c.stranded = (c.stranded & ~freed) | (caught & ~left)


def _snapshot(coords: SectionCoords, c: _Cloud) -> Particles:
    x, y = coords.to_xy(c.s, c.n)
    return Particles(x=x, y=y, s=c.s.copy(), n=c.n.copy(), stranded=c.stranded.copy(), left=c.left.copy())


def _datum(coords: SectionCoords, p: Particles) -> Datum | None:
    inside = ~p.left
    if not inside.any():
        return None
    s, n = p.s[inside], p.n[inside]
    sm, nm = float(s.mean()), float(n.mean())
    dx, dy = coords.to_xy(np.array([sm]), np.array([nm]))
    r = np.hypot(p.x[inside] - dx[0], p.y[inside] - dy[0])
    lon, lat = coords.to_lonlat(dx, dy)
    q = np.quantile(s, [0.05, 0.95])
    r50, r90 = np.quantile(r, [0.5, 0.9])
    return Datum(
        lon=float(lon[0]),
        lat=float(lat[0]),
        section=coords.name,
        river_km=sm / 1000.0,
        offset_m=nm,
        radius_50_m=float(r50),
        radius_90_m=float(r90),
        km_from=float(q[0]) / 1000.0,
        km_to=float(q[1]) / 1000.0,
    )
