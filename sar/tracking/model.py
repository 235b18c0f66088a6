"""What the tracker says about the river: one :class:`Track` per real boat or person.

Tracks are frozen snapshots (the tracker keeps its own mutable state); positions are given both
in the metric CRS (x/y, EPSG:32635) for rules and in WGS84 for output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sensors.model import SensorKind, TargetClass


class TrackStatus(StrEnum):
    TENTATIVE = "tentative"  # not yet M-of-N confirmed: not shown to operators, no incidents
    CONFIRMED = "confirmed"
    COASTING = "coasting"  # confirmed, but missed its recent updates: predicted, not measured
    DELETED = "deleted"


@dataclass(frozen=True)
class SourceInfo:
    """One sensor that fed a track: its own id for the target and when it last did."""

    sensor_id: str
    kind: SensorKind
    target_id: str | None
    last_seen: datetime
    updates: int


@dataclass(frozen=True)
class Track:
    """A fused target at ``time`` (its last update, or the prediction time when coasting)."""

    id: str
    status: TrackStatus
    time: datetime
    x_m: float
    y_m: float
    vx_mps: float
    vy_mps: float
    lon: float
    lat: float
    position_sd_m: float  # sqrt of the larger eigenvalue of the position covariance
    target_class: TargetClass
    class_confidence: float
    sources: tuple[SourceInfo, ...]
    mmsi: int | None = None
    name: str | None = None
    created: datetime | None = None
    history: tuple[tuple[datetime, float, float], ...] = field(default=())  # (time, lon, lat), oldest first

    @property
    def speed_mps(self) -> float:
        return float((self.vx_mps**2 + self.vy_mps**2) ** 0.5)

    @property
    def course_deg(self) -> float:
        """Course over ground, degrees true (0 when not moving)."""
        return math.degrees(math.atan2(self.vx_mps, self.vy_mps)) % 360.0 if self.speed_mps > 0 else 0.0

    def cooperative(self, now: datetime, ais_timeout_s: float = 180.0) -> bool:
        """Fed by AIS within ``ais_timeout_s``: the vessel says who it is."""
        return any(
            s.kind is SensorKind.AIS and (now - s.last_seen).total_seconds() <= ais_timeout_s for s in self.sources
        )

    def last_seen_by(self, kind: SensorKind) -> datetime | None:
        times = [s.last_seen for s in self.sources if s.kind is kind]
        return max(times) if times else None
