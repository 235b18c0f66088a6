"""Test tracks on the real river: targets moved along (river km, offset) waypoints, as the
tracker would report them (one frozen :class:`Track` snapshot per time step)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import ArrayLike

from geo.river import RiverModel
from sar.incidents.book import IncidentBook
from sar.incidents.model import Incident, IncidentType
from sar.tracking.model import SourceInfo, Track, TrackStatus
from sensors.model import SensorKind, TargetClass

T0 = datetime(2026, 5, 14, 2, 0, tzinfo=UTC)
MD_UA = frozenset({"MD", "UA"})

Sources = Callable[[datetime], tuple[SourceInfo, ...]]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def radar(t: datetime, target_id: str = "R1") -> SourceInfo:
    return SourceInfo("radar-1", SensorKind.RADAR, target_id, t, 1)


def ais(t: datetime, mmsi: int) -> SourceInfo:
    return SourceInfo("ais-1", SensorKind.AIS, str(mmsi), t, 1)


def camera(t: datetime) -> SourceInfo:
    return SourceInfo("cam-1", SensorKind.CAMERA, "C1", t, 1)


def radar_only(t: datetime) -> tuple[SourceInfo, ...]:
    return (radar(t),)


@dataclass(frozen=True)
class Waypoint:
    """Where the target is ``t_s`` seconds after T0, in river coordinates of one section."""

    t_s: float
    km: float
    offset_m: float


def move(
    river: RiverModel,
    track_id: str,
    waypoints: Sequence[Waypoint],
    *,
    section: str = "north",
    step_s: float = 1.0,
    sources: Sources = radar_only,
    target_class: TargetClass = TargetClass.VESSEL,
    class_confidence: float = 0.9,
    position_sd_m: float = 10.0,
    offset_noise_m: ArrayLike | None = None,
    status: TrackStatus = TrackStatus.CONFIRMED,
    mmsi: int | None = None,
    name: str | None = None,
) -> list[Track]:
    """Snapshots every ``step_s`` from the first to the last waypoint, linear in (km, offset)
    between waypoints (plus optional offset noise, one value per snapshot)."""
    times = np.arange(waypoints[0].t_s, waypoints[-1].t_s + 1e-9, step_s)
    wt = [w.t_s for w in waypoints]
    kms = np.interp(times, wt, [w.km for w in waypoints])
    offsets = np.interp(times, wt, [w.offset_m for w in waypoints])
    if offset_noise_m is not None:
        offsets = offsets + np.asarray(offset_noise_m, dtype=float)[: len(times)]
    lonlat = [river.axis_point(section, float(k), float(o)) for k, o in zip(kms, offsets)]
    x, y = river.projector.to_xy([p[0] for p in lonlat], [p[1] for p in lonlat])
    if len(times) > 1:
        vx, vy = np.gradient(x, times), np.gradient(y, times)
    else:
        vx = vy = np.zeros(1)
    out = []
    for i, ts in enumerate(times):
        t = at(float(ts))
        out.append(
            Track(
                id=track_id,
                status=status,
                time=t,
                x_m=float(x[i]),
                y_m=float(y[i]),
                vx_mps=float(vx[i]),
                vy_mps=float(vy[i]),
                lon=lonlat[i][0],
                lat=lonlat[i][1],
                position_sd_m=position_sd_m,
                target_class=target_class,
                class_confidence=class_confidence,
                sources=sources(t),
                mmsi=mmsi,
                name=name,
                created=at(float(times[0])),
            )
        )
    return out


def frames(*tracks: Sequence[Track]) -> list[tuple[datetime, list[Track]]]:
    """Group snapshots of several targets by time: what the tracker hands over per tick."""
    by_time: dict[datetime, list[Track]] = defaultdict(list)
    for seq in tracks:
        for t in seq:
            by_time[t.time].append(t)
    return sorted(by_time.items())


def run(book: IncidentBook, *tracks: Sequence[Track]) -> list[Incident]:
    """Evaluate the book at every tick; return every incident snapshot it handed back."""
    out: list[Incident] = []
    for now, snapshot in frames(*tracks):
        out.extend(book.evaluate(now, snapshot))
    return out


def of_type(book: IncidentBook, kind: IncidentType) -> list[Incident]:
    return [i for i in book.list() if i.type is kind]


def distance_m(river: RiverModel, a: tuple[float, float], b: tuple[float, float]) -> float:
    x, y = river.projector.to_xy([a[0], b[0]], [a[1], b[1]])
    return float(np.hypot(x[1] - x[0], y[1] - y[0]))
