"""Our drones over MAVLink (v1/v2, ArduPilot dialect): vehicle state and what their cameras track.

A frame is any chunk of a MAVLink byte stream (UDP datagram, TCP read, tlog record); one pymavlink
parser per decoder, so a message split across chunks still parses.

- A *vehicle* is a system whose autopilot component (``vehicle_components``) sends HEARTBEATs with
  a real autopilot. Ground stations (``gcs_system_ids``), cameras, gimbals and companion computers
  are good traffic, not vehicles: not rejected, counted in ``DroneDecoder.ignored``.
- A :class:`VehicleState` per vehicle HEARTBEAT, GLOBAL_POSITION_INT, SYS_STATUS and BATTERY_STATUS:
  mode, armed and battery are the latest known; position, altitude and velocity come only with a
  GLOBAL_POSITION_INT (never re-stamped). Before its first heartbeat a vehicle is reported with
  type ``"unknown"`` rather than dropped: where it is matters more than what it is.
- CAMERA_TRACKING_GEO_STATUS (common.xml, id 276) while ACTIVE -> a position :class:`Observation`,
  target id ``"<sensor id>:<sysid>:<compid>"``, class UNKNOWN (the message carries none).
- Rejects: ``bad_crc``, ``parse_error`` (garbage, bad length/flags), ``bad_position`` (lat/lon out
  of range). Unknown message ids are ignored; signatures are not checked.

Times are reception times (MAVLink has only time since boot). :func:`read_tlog` reads telemetry
logs; :class:`DroneEmitter` writes frames for the scenario simulator.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from sensors.adapter import Framing
from sensors.config import SensorConfigBase
from sensors.model import (
    Decoded,
    Observation,
    Position,
    Reject,
    SensorKind,
    SensorMessage,
    TargetClass,
    VehicleState,
    Velocity,
)

log = logging.getLogger("sensors.drone")

UINT16_UNKNOWN = 0xFFFF
DEG_E7 = 1e-7
_TLOG_STAMP_LEN = 8
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TLOG_PLAUSIBLE_JUMP_US = 24 * 3600 * 10**6
_TLOG_MAX_US = 4_102_444_800 * 10**6  # 2100-01-01: later stamps are corrupt
_MIN_FIX = 2  # GPS_FIX_TYPE_2D_FIX: a horizontal fix


class DroneConfig(SensorConfigBase):
    """A MAVLink link (telemetry radio, UDP from a ground station or router) to our drones."""

    type: Literal["drone_mavlink"] = "drone_mavlink"
    gcs_system_ids: list[int] = Field(default=[255], description="system ids of ground stations (not vehicles)")
    vehicle_components: list[int] = Field(default=[1], description="component ids whose heartbeat is the vehicle")
    position_accuracy_m: float = Field(default=5.0, gt=0, allow_inf_nan=False, description="before any GPS report")
    hdop_scale_m: float = Field(default=3.0, gt=0, allow_inf_nan=False, description="1-sigma metres per unit HDOP")
    no_fix_accuracy_m: float = Field(default=50.0, gt=0, allow_inf_nan=False, description="EKF while GPS has no fix")
    detection_accuracy_m: float = Field(default=20.0, gt=0, allow_inf_nan=False, description="when h_acc unknown")


@dataclass
class VehicleInfo:
    """What the decoder remembers about one vehicle (system id) between messages."""

    vehicle_type: str = "unknown"
    autopilot: str | None = None
    mode: str | None = None
    armed: bool | None = None
    battery_pct: float | None = None
    battery_v: float | None = None
    gps_accuracy_m: float | None = None
    heartbeats: int = 0


def enum_name(enum: str, value: int) -> str:
    """Lowercase name of a MAVLink enum value without its prefix (MAV_TYPE 12 -> "submarine", 99 -> "type 99")."""
    entry = mavlink2.enums.get(enum, {}).get(value)
    if entry is None or str(entry.name).endswith("ENUM_END"):
        return f"{enum.removeprefix('MAV_').lower()} {value}"
    return str(entry.name).removeprefix(enum + "_").lower()


def _deg360(deg: float) -> float:
    d = deg % 360.0
    return 0.0 if d >= 360.0 else d  # -1e-20 % 360 == 360.0


def mode_name(autopilot: int, vehicle_type: int, base_mode: int, custom_mode: int) -> str | None:
    """Flight mode name: ArduPilot's per vehicle type, PX4's main/sub mode, else ``"mode <n>"``."""
    if autopilot == mavlink2.MAV_AUTOPILOT_PX4:
        name = str(mavutil.interpret_px4_mode(base_mode, custom_mode))
        return name if name != "UNKNOWN" else f"mode {custom_mode}"
    if not base_mode & mavlink2.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED:
        return None
    if autopilot == mavlink2.MAV_AUTOPILOT_ARDUPILOTMEGA:
        names = mavutil.mode_mapping_bynumber(vehicle_type) or {}
        if custom_mode in names:
            return str(names[custom_mode])
    return f"mode {custom_mode}"


def _velocity(north_mps: float, east_mps: float, accuracy_mps: float | None = None) -> Velocity | None:
    if not (math.isfinite(north_mps) and math.isfinite(east_mps)):
        return None
    course = _deg360(math.degrees(math.atan2(east_mps, north_mps)))
    if accuracy_mps is not None and math.isfinite(accuracy_mps) and accuracy_mps > 0:
        return Velocity(math.hypot(north_mps, east_mps), course, accuracy_mps)
    return Velocity(math.hypot(north_mps, east_mps), course)


def _lat_lon(msg: Any) -> tuple[float, float] | None | Reject:
    """(lat, lon) in degrees from 1e7-degree integers; None for 0/0 (no fix); a Reject if out of range."""
    lat_e7, lon_e7 = int(msg.lat), int(msg.lon)
    if lat_e7 == 0 and lon_e7 == 0:
        return None
    lat, lon = lat_e7 * DEG_E7, lon_e7 * DEG_E7
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return Reject("bad_position", f"{msg.get_type()} lat {lat} lon {lon} out of range", bytes(msg.get_msgbuf()))
    return lat, lon


class DroneDecoder:
    """MAVLink stream -> VehicleState per vehicle and Observations of what its cameras track."""

    kind = SensorKind.DRONE
    framing = Framing.STREAM

    def __init__(self, config: DroneConfig) -> None:
        self.config = config
        self.vehicles: dict[int, VehicleInfo] = {}
        self.ignored: Counter[str] = Counter()
        self._mav = self._new_parser()
        self._handlers: dict[str, Callable[[Any, datetime], SensorMessage | Reject | None]] = {
            "HEARTBEAT": self._heartbeat,
            "GLOBAL_POSITION_INT": self._global_position,
            "SYS_STATUS": self._sys_status,
            "BATTERY_STATUS": self._battery_status,
            "GPS_RAW_INT": self._gps_raw,
            "CAMERA_TRACKING_GEO_STATUS": self._tracking,
        }

    @staticmethod
    def _new_parser() -> Any:
        mav = mavlink2.MAVLink(None)
        mav.robust_parsing = True  # bad data comes back as MAVLink_bad_data instead of raising
        return mav

    def decode(self, frame: bytes, received_at: datetime) -> Decoded:
        """Feed one chunk to the parser; handle every message it completes."""
        at = received_at if received_at.tzinfo is not None else received_at.replace(tzinfo=UTC)
        out = Decoded()
        chunk = frame
        while True:
            try:
                msg = self._mav.parse_char(chunk)
            except Exception as exc:  # pymavlink is third-party: a parser bug must not lose the link
                self._mav = self._new_parser()
                out.rejects.append(Reject("parse_error", f"MAVLink parser failed: {type(exc).__name__}: {exc}"))
                return out
            if msg is None:
                return out
            chunk = b""
            result = self._handle(msg, at)
            if isinstance(result, Reject):
                out.rejects.append(result)
            elif result is not None:
                out.messages.append(result)

    def _handle(self, msg: Any, at: datetime) -> SensorMessage | Reject | None:
        if isinstance(msg, mavlink2.MAVLink_bad_data):
            reason = str(msg.reason)
            return Reject("bad_crc" if "CRC" in reason else "parse_error", reason, bytes(msg.data))
        if isinstance(msg, mavlink2.MAVLink_unknown):
            self.ignored["unknown_message"] += 1
            return None
        handler = self._handlers.get(msg.get_type())
        return handler(msg, at) if handler is not None else None

    def _not_from_vehicle(self, msg: Any) -> str | None:
        """Why a message is not from a vehicle's autopilot (an ``ignored`` reason), or None."""
        if msg.get_srcSystem() in self.config.gcs_system_ids:
            return "gcs"
        if msg.get_srcComponent() not in self.config.vehicle_components:
            return "not_vehicle"
        return None

    def _vehicle(self, msg: Any) -> VehicleInfo | None:
        """The vehicle a state message is from (created on first sight), or None if not a vehicle."""
        reason = self._not_from_vehicle(msg)
        if reason is not None:
            self.ignored[reason] += 1
            return None
        return self.vehicles.setdefault(msg.get_srcSystem(), VehicleInfo())

    def _state(self, msg: Any, at: datetime, v: VehicleInfo, **fix: Any) -> VehicleState:
        return VehicleState(
            sensor_id=self.config.id,
            time=at,
            system_id=int(msg.get_srcSystem()),
            vehicle_type=v.vehicle_type,
            mode=v.mode,
            armed=v.armed,
            battery_pct=v.battery_pct,
            battery_v=v.battery_v,
            raw=bytes(msg.get_msgbuf()),
            **fix,
        )

    def _heartbeat(self, msg: Any, at: datetime) -> SensorMessage | Reject | None:
        reason = self._not_from_vehicle(msg)
        if reason is None and (msg.autopilot == mavlink2.MAV_AUTOPILOT_INVALID or msg.type == mavlink2.MAV_TYPE_GCS):
            reason = "not_vehicle"  # a component without a flight controller on a vehicle's component id
        if reason is not None:
            self.ignored[reason] += 1
            return None
        v = self.vehicles.setdefault(msg.get_srcSystem(), VehicleInfo())
        v.heartbeats += 1
        v.vehicle_type = enum_name("MAV_TYPE", int(msg.type))
        v.autopilot = enum_name("MAV_AUTOPILOT", int(msg.autopilot))
        v.mode = mode_name(int(msg.autopilot), int(msg.type), int(msg.base_mode), int(msg.custom_mode))
        v.armed = bool(msg.base_mode & mavlink2.MAV_MODE_FLAG_SAFETY_ARMED)
        return self._state(msg, at, v)

    def _global_position(self, msg: Any, at: datetime) -> SensorMessage | Reject | None:
        v = self._vehicle(msg)
        if v is None:
            return None
        lat_lon = _lat_lon(msg)
        if isinstance(lat_lon, Reject):
            return lat_lon
        altitude_m = int(msg.relative_alt) / 1000.0
        if lat_lon is None:  # no fix: neither a position nor a velocity over ground
            return self._state(msg, at, v, altitude_m=altitude_m)
        accuracy_m = v.gps_accuracy_m if v.gps_accuracy_m is not None else self.config.position_accuracy_m
        position = Position(lon=lat_lon[1], lat=lat_lon[0], accuracy_m=accuracy_m)
        velocity = _velocity(int(msg.vx) / 100.0, int(msg.vy) / 100.0)
        return self._state(msg, at, v, position=position, altitude_m=altitude_m, velocity=velocity)

    def _sys_status(self, msg: Any, at: datetime) -> SensorMessage | Reject | None:
        v = self._vehicle(msg)
        if v is None:
            return None
        v.battery_pct = float(msg.battery_remaining) if msg.battery_remaining >= 0 else None
        v.battery_v = msg.voltage_battery / 1000.0 if msg.voltage_battery != UINT16_UNKNOWN else None
        return self._state(msg, at, v)

    def _battery_status(self, msg: Any, at: datetime) -> SensorMessage | Reject | None:
        """Primary battery (id 0) only; its voltage is the sum of the known cells (or the pack in cell 0)."""
        if msg.id != 0:
            self.ignored["other_battery"] += 1
            return None
        v = self._vehicle(msg)
        if v is None:
            return None
        cells = [c for c in msg.voltages if c != UINT16_UNKNOWN]
        cells += [c for c in (getattr(msg, "voltages_ext", None) or []) if c not in (0, UINT16_UNKNOWN)]
        v.battery_pct = float(msg.battery_remaining) if msg.battery_remaining >= 0 else None
        v.battery_v = sum(cells) / 1000.0 if cells else None
        return self._state(msg, at, v)

    def _gps_raw(self, msg: Any, at: datetime) -> SensorMessage | Reject | None:
        """Refine the accuracy of later positions: h_acc (mm) if given, else HDOP; no fix -> dead reckoning."""
        if self._not_from_vehicle(msg) is not None:
            return None
        v = self.vehicles.setdefault(msg.get_srcSystem(), VehicleInfo())
        h_acc_mm = int(getattr(msg, "h_acc", 0) or 0)
        if msg.fix_type < _MIN_FIX:
            v.gps_accuracy_m = self.config.no_fix_accuracy_m
        elif h_acc_mm > 0:
            v.gps_accuracy_m = h_acc_mm / 1000.0
        elif 0 < msg.eph < UINT16_UNKNOWN:
            v.gps_accuracy_m = msg.eph / 100.0 * self.config.hdop_scale_m
        else:
            v.gps_accuracy_m = None
        return None

    def _tracking(self, msg: Any, at: datetime) -> SensorMessage | Reject | None:
        """A target a drone's camera tracks: a position observation while tracking is ACTIVE."""
        if msg.get_srcSystem() in self.config.gcs_system_ids:
            self.ignored["gcs"] += 1
            return None
        if not msg.tracking_status & mavlink2.CAMERA_TRACKING_STATUS_FLAGS_ACTIVE:
            self.ignored["tracking_idle"] += 1
            return None
        lat_lon = _lat_lon(msg)
        if lat_lon is None:
            self.ignored["no_fix"] += 1
            return None
        if isinstance(lat_lon, Reject):
            return lat_lon
        h_acc = float(msg.h_acc)
        accuracy_m = h_acc if math.isfinite(h_acc) and h_acc > 0 else self.config.detection_accuracy_m
        hdg = float(msg.hdg)
        return Observation(
            sensor_id=self.config.id,
            sensor_kind=SensorKind.DRONE,
            time=at,
            position=Position(lon=lat_lon[1], lat=lat_lon[0], accuracy_m=accuracy_m),
            velocity=_velocity(float(msg.vel_n), float(msg.vel_e), float(msg.vel_acc)),
            target_id=f"{self.config.id}:{msg.get_srcSystem()}:{msg.get_srcComponent()}",
            target_class=TargetClass.UNKNOWN,
            heading_deg=_deg360(math.degrees(hdg)) if math.isfinite(hdg) else None,
            status="tracking",
            raw=bytes(msg.get_msgbuf()),
        )


def _frame_length(data: bytes, pos: int) -> int | None:
    """Length of the MAVLink frame starting at ``pos`` (from its header), or None if none starts there."""
    if pos + 3 > len(data):
        return None
    if data[pos] == mavlink2.PROTOCOL_MARKER_V1:
        return data[pos + 1] + 8
    if data[pos] == mavlink2.PROTOCOL_MARKER_V2:
        signed = data[pos + 2] & mavlink2.MAVLINK_IFLAG_SIGNED
        return data[pos + 1] + 12 + (mavlink2.MAVLINK_SIGNATURE_BLOCK_LEN if signed else 0)
    return None


def _resync(data: bytes, pos: int, last_us: int) -> int:
    """Next offset after ``pos`` where a plausible record starts (stamp within a day, then a marker)."""
    for p in range(pos + 1, len(data) - _TLOG_STAMP_LEN):
        us = int.from_bytes(data[p : p + _TLOG_STAMP_LEN], "big")
        plausible = us < _TLOG_MAX_US and abs(us - last_us) <= _TLOG_PLAUSIBLE_JUMP_US
        if plausible and _frame_length(data, p + _TLOG_STAMP_LEN) is not None:
            return p
    return len(data)


def read_tlog(path: str | Path) -> Iterator[tuple[datetime, bytes]]:
    """(UTC reception time, raw MAVLink frame) per record of a ground-station telemetry log (.tlog).

    A record is an 8-byte big-endian count of microseconds since 1970 and one MAVLink frame.
    Corrupt stretches are skipped to the next plausible record (logged); a truncated last record
    is dropped (logged).
    """
    data = Path(path).read_bytes()
    pos, last_us = 0, None
    while pos + _TLOG_STAMP_LEN < len(data):
        us = int.from_bytes(data[pos : pos + _TLOG_STAMP_LEN], "big")
        length = _frame_length(data, pos + _TLOG_STAMP_LEN)
        sane = last_us is None or abs(us - last_us) <= _TLOG_PLAUSIBLE_JUMP_US
        if length is None or not sane or us >= _TLOG_MAX_US:
            nxt = _resync(data, pos, last_us if last_us is not None else us)
            log.warning("tlog %s: %d corrupt bytes skipped at offset %d", path, nxt - pos, pos)
            pos = nxt
            continue
        end = pos + _TLOG_STAMP_LEN + length
        if end > len(data):
            log.warning("tlog %s: truncated last record at offset %d dropped", path, pos)
            return
        yield _EPOCH + timedelta(microseconds=us), data[pos + _TLOG_STAMP_LEN : end]
        pos, last_us = end, us


class DroneEmitter:
    """MAVLink 2 frames as one system/component sends them (scenario simulator, tests)."""

    def __init__(self, system_id: int, component_id: int = mavlink2.MAV_COMP_ID_AUTOPILOT1) -> None:
        self._mav = mavlink2.MAVLink(None, srcSystem=system_id, srcComponent=component_id)

    def _pack(self, msg: Any) -> bytes:
        buf = bytes(msg.pack(self._mav))
        self._mav.seq = (self._mav.seq + 1) % 256
        return buf

    def heartbeat(
        self,
        vehicle_type: int = mavlink2.MAV_TYPE_QUADROTOR,
        mode: str | int = 0,
        armed: bool = False,
        autopilot: int = mavlink2.MAV_AUTOPILOT_ARDUPILOTMEGA,
    ) -> bytes:
        """HEARTBEAT; ``mode`` is an ArduPilot mode name for the vehicle type or a custom mode number."""
        if isinstance(mode, str):
            names = mavutil.mode_mapping_byname(vehicle_type) or {}
            if mode not in names:
                raise ValueError(f"no mode {mode!r} for MAV_TYPE {vehicle_type}")
            mode = int(names[mode])
        base = mavlink2.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | (mavlink2.MAV_MODE_FLAG_SAFETY_ARMED if armed else 0)
        state = mavlink2.MAV_STATE_ACTIVE if armed else mavlink2.MAV_STATE_STANDBY
        return self._pack(self._mav.heartbeat_encode(vehicle_type, autopilot, base, mode, state))

    def global_position(
        self,
        lat_deg: float,
        lon_deg: float,
        relative_alt_m: float = 0.0,
        north_mps: float = 0.0,
        east_mps: float = 0.0,
        time_boot_ms: int = 0,
    ) -> bytes:
        """GLOBAL_POSITION_INT (AMSL altitude set equal to the relative one; heading unknown)."""
        alt_mm = round(relative_alt_m * 1000)
        lat, lon = round(lat_deg * 1e7), round(lon_deg * 1e7)
        vx, vy = round(north_mps * 100), round(east_mps * 100)
        return self._pack(
            self._mav.global_position_int_encode(time_boot_ms, lat, lon, alt_mm, alt_mm, vx, vy, 0, UINT16_UNKNOWN)
        )

    def sys_status(self, battery_pct: int | None, voltage_v: float | None) -> bytes:
        """SYS_STATUS with only the battery filled in (None -> the standard's unknown values)."""
        remaining = -1 if battery_pct is None else battery_pct
        mv = UINT16_UNKNOWN if voltage_v is None else round(voltage_v * 1000)
        return self._pack(self._mav.sys_status_encode(0, 0, 0, 0, mv, -1, remaining, 0, 0, 0, 0, 0, 0))

    def tracking(
        self,
        lat_deg: float,
        lon_deg: float,
        h_acc_m: float = math.nan,
        north_mps: float = math.nan,
        east_mps: float = math.nan,
        heading_deg: float = math.nan,
        active: bool = True,
    ) -> bytes:
        """CAMERA_TRACKING_GEO_STATUS of one tracked target (NaN = unknown, as the standard says)."""
        status = mavlink2.CAMERA_TRACKING_STATUS_FLAGS_ACTIVE if active else mavlink2.CAMERA_TRACKING_STATUS_FLAGS_IDLE
        nan, lat, lon = math.nan, round(lat_deg * 1e7), round(lon_deg * 1e7)
        # tracking_status, lat, lon, alt, h_acc, v_acc, vel_n, vel_e, vel_d, vel_acc, dist, hdg, hdg_acc
        head = (status, lat, lon, nan, h_acc_m, nan, north_mps, east_mps)
        tail = (nan, nan, nan, math.radians(heading_deg), nan)
        return self._pack(self._mav.camera_tracking_geo_status_encode(*head, *tail))
