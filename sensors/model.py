"""What sensors produce: typed, frozen messages in UTC and WGS84 with honest accuracies.

An adapter turns bytes into :data:`SensorMessage` values:

- :class:`Observation`: a target seen at a time, either at a position or along a bearing
  (optionally with a range) from a known sensor site;
- :class:`VesselStatic`: static data of a vessel (AIS type 5/19/24), joined to its MMSI;
- :class:`VehicleState`: state of one of our own vehicles (a drone: mode, armed, battery).

A standard's "not available" value (AIS lon 181, lat 91, speed 102.3, heading 511) is never
stored as a number: the field is None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class SensorKind(StrEnum):
    RADAR = "radar"
    AIS = "ais"
    CAMERA = "camera"
    DRONE = "drone"


class TargetClass(StrEnum):
    VESSEL = "vessel"
    PERSON = "person"
    VEHICLE = "vehicle"
    AIRCRAFT = "aircraft"
    DEBRIS = "debris"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Position:
    """A WGS84 position with its 1-sigma horizontal accuracy in metres."""

    lon: float
    lat: float
    accuracy_m: float

    def __post_init__(self) -> None:
        if not (
            math.isfinite(self.lon) and math.isfinite(self.lat) and -180 <= self.lon <= 180 and -90 <= self.lat <= 90
        ):
            raise ValueError(f"invalid position lon={self.lon} lat={self.lat}")
        if not (math.isfinite(self.accuracy_m) and self.accuracy_m > 0):
            raise ValueError(f"position accuracy must be positive, got {self.accuracy_m}")


@dataclass(frozen=True)
class BearingRange:
    """A line of sight from a sensor site: true bearing (deg from north, clockwise) and, when
    known, the range along it; each with its 1-sigma accuracy."""

    origin_lon: float
    origin_lat: float
    bearing_deg: float
    bearing_sd_deg: float
    range_m: float | None = None
    range_sd_m: float | None = None

    def __post_init__(self) -> None:
        if not (0.0 <= self.bearing_deg < 360.0):
            raise ValueError(f"bearing must be in [0, 360), got {self.bearing_deg}")
        if self.bearing_sd_deg <= 0:
            raise ValueError("bearing accuracy must be positive")
        if (self.range_m is None) != (self.range_sd_m is None):
            raise ValueError("range and its accuracy go together")
        if self.range_m is not None and not (self.range_m >= 0 and (self.range_sd_m or 0) > 0):
            raise ValueError(f"invalid range {self.range_m} +/- {self.range_sd_m}")


@dataclass(frozen=True)
class Velocity:
    """Speed over ground (m/s) and course over ground (deg true), with speed accuracy."""

    speed_mps: float
    course_deg: float
    accuracy_mps: float = 0.5

    @property
    def east_mps(self) -> float:
        return self.speed_mps * math.sin(math.radians(self.course_deg))

    @property
    def north_mps(self) -> float:
        return self.speed_mps * math.cos(math.radians(self.course_deg))


@dataclass(frozen=True)
class Observation:
    """One detection or report of a target by one sensor."""

    sensor_id: str
    sensor_kind: SensorKind
    time: datetime
    position: Position | None = None
    bearing: BearingRange | None = None
    velocity: Velocity | None = None
    target_id: str | None = None
    target_class: TargetClass = TargetClass.UNKNOWN
    class_confidence: float = 0.0
    heading_deg: float | None = None
    status: str | None = None
    raw: bytes = b""

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError("observation time must be timezone-aware UTC")
        if (self.position is None) == (self.bearing is None):
            raise ValueError("an observation has either a position or a bearing, not both or neither")
        if not 0.0 <= self.class_confidence <= 1.0:
            raise ValueError(f"class confidence must be in [0, 1], got {self.class_confidence}")


@dataclass(frozen=True)
class VesselStatic:
    """Static and voyage data of a vessel, keyed by MMSI (AIS types 5, 19, 24)."""

    sensor_id: str
    time: datetime
    mmsi: int
    name: str | None = None
    callsign: str | None = None
    ship_type: int | None = None
    length_m: float | None = None
    beam_m: float | None = None
    imo: int | None = None
    destination: str | None = None
    raw: bytes = b""


@dataclass(frozen=True)
class VehicleState:
    """State of one of our vehicles (a drone) as it reports it; position may be unknown."""

    sensor_id: str
    time: datetime
    system_id: int
    vehicle_type: str
    mode: str | None = None
    armed: bool | None = None
    battery_pct: float | None = None
    battery_v: float | None = None
    position: Position | None = None
    altitude_m: float | None = None
    velocity: Velocity | None = None
    raw: bytes = b""


SensorMessage = Observation | VesselStatic | VehicleState


@dataclass(frozen=True)
class Reject:
    """A unit of input (line, datagram, block, document) refused, with a short machine reason
    (counted per reason) and a human detail (logged with the sensor id)."""

    reason: str
    detail: str
    raw: bytes = b""


@dataclass
class Decoded:
    """What a decoder made of one frame: messages, plus rejects of parts it could not use."""

    messages: list[SensorMessage] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
