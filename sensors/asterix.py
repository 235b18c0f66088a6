"""ASTERIX radar data (EUROCONTROL): CAT010 monosensor surface movement reports (VTS and coastal
radars) and CAT062 SDPS system tracks, one :class:`Observation` per target report or track.

A frame (a UDP datagram, or a block cut from a TCP stream) holds one or more data blocks: CAT
(1 octet), LEN (2 octets, big-endian, counting the 3-octet header), then records. A bad block is
rejected with a reason and the next one is still read at LEN; a bad record drops the rest of its
block (records carry no length of their own, so nothing after it can be found).

Choices:
- position: WGS-84 items as given (I010/041, I062/105); otherwise polar or cartesian metres from
  the configured ``site`` (the radar, or the SDPS reference point for I062/100), placed with a
  geodesic. CAT010 prefers WGS-84, then polar (measured), then cartesian.
- accuracy: the record's own (I010/500, I062/500 APC) as sqrt(sx^2 + sy^2); otherwise for polar
  and cartesian the radar model sqrt(range_sd^2 + (range * azimuth_sd)^2), which grows with range;
  otherwise ``position_sd_m``.
- class: a radar on the river mostly sees boats, so VESSEL with confidence 0.5 (configurable);
  I010/020 TOT, when a sensor fills it, says aircraft or ground vehicle instead.
- I010/202 uses LSB 0.25 m/s as in the CAT010 document's range (+/- 8192 m/s on 16 bits).
- time: time of day (UTC) on the date of ``received_at``, moved by a day when that lands more
  than 12 h away (a report from 23:59:59 received at 00:00:01 belongs to the day before).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import Field
from pyproj import Geod

from sensors.adapter import Framing
from sensors.asterix_items import I062_500, UAPS, Malformed, read_record, subfields
from sensors.config import SensorConfigBase
from sensors.model import Decoded, Observation, Position, Reject, SensorKind, TargetClass, Velocity

TOD_LSB_S = 1 / 128
ANGLE_LSB_DEG = 360 / 2**16
WGS84_LSB_010_DEG = 180 / 2**31
WGS84_LSB_062_DEG = 180 / 2**25
SPEED_LSB_NMPS = 2**-14
METRES_PER_NM = 1852.0
VELOCITY_LSB_MPS = 0.25
XY_LSB_062_M = 0.5
SD_LSB_010_M = 0.25
SD_LSB_062_M = 0.5
DAY_S = 86400

_TOT_CLASS = {1: TargetClass.AIRCRAFT, 2: TargetClass.VEHICLE, 3: TargetClass.AIRCRAFT}


class AsterixConfig(SensorConfigBase):
    """An ASTERIX radar feed (CAT010 and/or CAT062). ``site`` is the radar (origin of CAT010 polar
    and cartesian positions) and, for CAT062 cartesian-only tracks, the system reference point."""

    type: Literal["radar_asterix"] = "radar_asterix"
    range_sd_m: float = Field(default=15.0, gt=0, description="1-sigma range error of the radar")
    azimuth_sd_deg: float = Field(default=0.3, gt=0, description="1-sigma azimuth error of the radar")
    position_sd_m: float = Field(default=20.0, gt=0, description="WGS-84 position accuracy when the record has none")
    speed_sd_mps: float = Field(default=0.5, gt=0)
    target_class: TargetClass = TargetClass.VESSEL
    class_confidence: float = Field(default=0.5, ge=0, le=1)


def _u(b: bytes) -> int:
    return int.from_bytes(b, "big")


def _s(b: bytes) -> int:
    return int.from_bytes(b, "big", signed=True)


def _deg360(angle_deg: float) -> float:
    a = angle_deg % 360.0
    return 0.0 if a >= 360.0 else a


def time_of_day_to_utc(tod_s: float, received_at: datetime) -> datetime:
    """Seconds since UTC midnight, on the day (of the three around ``received_at``) nearest to it."""
    at = received_at.replace(tzinfo=UTC) if received_at.tzinfo is None else received_at.astimezone(UTC)
    t = at.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(seconds=tod_s)
    if t - at > timedelta(hours=12):
        t -= timedelta(days=1)
    elif at - t > timedelta(hours=12):
        t += timedelta(days=1)
    return t


def _time(tod: bytes | None, at: datetime) -> datetime:
    if tod is None:
        raise Malformed("missing_item", "no time of day")
    tod_s = _u(tod) * TOD_LSB_S
    if tod_s >= DAY_S:
        raise Malformed("bad_value", f"time of day {tod_s:.3f} s is not within a day")
    return time_of_day_to_utc(tod_s, at)


def _source(items: dict[str, bytes]) -> str:
    b = items.get("010")
    if b is None:
        raise Malformed("missing_item", "no data source identifier (SAC/SIC)")
    return f"{b[0]}/{b[1]}"


def _wgs84(lat_deg: float, lon_deg: float, sd_m: float) -> Position:
    if not (-90.0 <= lat_deg <= 90.0 and -180.0 <= lon_deg <= 180.0):
        raise Malformed("bad_value", f"WGS-84 position out of range: lat {lat_deg} lon {lon_deg}")
    return Position(lon=lon_deg, lat=lat_deg, accuracy_m=sd_m)


def _xy_velocity(vx_mps: float, vy_mps: float, sd_mps: float) -> Velocity:
    course = _deg360(math.degrees(math.atan2(vx_mps, vy_mps)))
    return Velocity(speed_mps=math.hypot(vx_mps, vy_mps), course_deg=course, accuracy_mps=sd_mps)


class AsterixDecoder:
    """Data blocks -> one Observation per CAT010 target report or CAT062 track."""

    kind = SensorKind.RADAR
    framing = Framing.ASTERIX

    def __init__(self, config: AsterixConfig) -> None:
        self.config = config
        self._geod = Geod(ellps="WGS84")

    def decode(self, frame: bytes, received_at: datetime) -> Decoded:
        """Cut the frame into blocks by LEN and decode each; reject what cannot be used."""
        out = Decoded()
        pos = 0
        while (left := len(frame) - pos) > 0:
            length = _u(frame[pos + 1 : pos + 3]) if left >= 3 else 0
            if length < 3:
                why = f"{left} octets left" if left < 3 else f"LEN {length} < 3"
                detail = f"no block header at offset {pos}: {why}; rest dropped"
                out.rejects.append(Reject("bad_length", detail, frame[pos:]))
                break
            if length > left:
                detail = f"CAT{frame[pos]:03d} block LEN {length} at offset {pos}, only {left} octets left"
                out.rejects.append(Reject("truncated_block", detail, frame[pos:]))
                break
            self._block(frame[pos : pos + length], received_at, out)
            pos += length
        return out

    def _block(self, block: bytes, at: datetime, out: Decoded) -> None:
        cat = block[0]
        uap = UAPS.get(cat)
        if uap is None:
            out.rejects.append(Reject("unknown_category", f"CAT{cat:03d} block of {len(block)} octets", block))
            return
        if len(block) == 3:
            out.rejects.append(Reject("bad_length", f"CAT{cat:03d} block with no record", block))
            return
        pos = 3
        while pos < len(block):
            try:
                items, nxt = read_record(uap, block, pos, len(block))
            except Malformed as e:
                detail = f"CAT{cat:03d} record at offset {pos}: {e.detail}; rest of block dropped"
                out.rejects.append(Reject(e.reason, detail, block))
                return
            record = block[pos:nxt]
            raw = bytes([cat]) + (3 + len(record)).to_bytes(2, "big") + record
            pos = nxt
            try:
                obs = self._cat010(items, raw, at) if cat == 10 else self._cat062(items, raw, at)
            except Malformed as e:
                out.rejects.append(Reject(e.reason, f"CAT{cat:03d} record: {e.detail}", raw))
                continue
            except ValueError as e:  # a value the model refuses (defence in depth)
                out.rejects.append(Reject("bad_value", f"CAT{cat:03d} record: {e}", raw))
                continue
            if obs is not None:
                out.messages.append(obs)

    # --- CAT010 -------------------------------------------------------------------------------

    def _cat010(self, items: dict[str, bytes], raw: bytes, at: datetime) -> Observation | None:
        mt = items.get("000")
        if mt is not None and mt[0] != 1:
            return None  # start of update cycle, status messages: no target in them
        source = _source(items)
        time = _time(items.get("140"), at)
        target_class, confidence = self._class010(items.get("020"))
        track = items.get("161")
        return Observation(
            sensor_id=self.config.id,
            sensor_kind=SensorKind.RADAR,
            time=time,
            position=self._position010(items),
            velocity=self._velocity010(items),
            target_id=None if track is None else f"{source}:{_u(track) & 0x0FFF}",
            target_class=target_class,
            class_confidence=confidence,
            status=_status010(items.get("170")),
            raw=raw,
        )

    def _class010(self, trd: bytes | None) -> tuple[TargetClass, float]:
        """Refuse simulated, test and field-monitor reports; take the target type when given."""
        if trd is not None and len(trd) > 1:
            if trd[1] & 0xE0:
                raise Malformed("test_target", "simulated, test or field monitor report (I010/020 SIM/TST/RAB)")
            tot = (trd[1] >> 1) & 0x03
            if tot in _TOT_CLASS:
                return _TOT_CLASS[tot], 0.8
        return self.config.target_class, self.config.class_confidence

    def _position010(self, items: dict[str, bytes]) -> Position:
        sd = items.get("500")
        sd_m = math.hypot(sd[0], sd[1]) * SD_LSB_010_M if sd is not None else 0.0
        if (b := items.get("041")) is not None:
            lat, lon = _s(b[:4]) * WGS84_LSB_010_DEG, _s(b[4:]) * WGS84_LSB_010_DEG
            return _wgs84(lat, lon, sd_m or self.config.position_sd_m)
        if (b := items.get("040")) is not None:
            return self._polar(float(_u(b[:2])), _u(b[2:]) * ANGLE_LSB_DEG, sd_m)
        if (b := items.get("042")) is not None:
            return self._cartesian(float(_s(b[:2])), float(_s(b[2:])), sd_m)
        raise Malformed("missing_item", "target report without a position (I010/040, 041 or 042)")

    def _velocity010(self, items: dict[str, bytes]) -> Velocity | None:
        sd = self.config.speed_sd_mps
        if (b := items.get("200")) is not None:
            speed = _u(b[:2]) * SPEED_LSB_NMPS * METRES_PER_NM
            return Velocity(speed_mps=speed, course_deg=_u(b[2:]) * ANGLE_LSB_DEG, accuracy_mps=sd)
        if (b := items.get("202")) is not None:
            return _xy_velocity(_s(b[:2]) * VELOCITY_LSB_MPS, _s(b[2:]) * VELOCITY_LSB_MPS, sd)
        return None

    # --- CAT062 -------------------------------------------------------------------------------

    def _cat062(self, items: dict[str, bytes], raw: bytes, at: datetime) -> Observation:
        source = _source(items)
        time = _time(items.get("070"), at)
        status = items.get("080")
        if status is not None and len(status) > 1 and status[1] & 0x80:
            raise Malformed("test_target", "simulated track (I062/080 SIM)")
        track = items.get("040")
        v = items.get("185")
        sd = self.config.speed_sd_mps
        return Observation(
            sensor_id=self.config.id,
            sensor_kind=SensorKind.RADAR,
            time=time,
            position=self._position062(items),
            velocity=None
            if v is None
            else _xy_velocity(_s(v[:2]) * VELOCITY_LSB_MPS, _s(v[2:]) * VELOCITY_LSB_MPS, sd),
            target_id=None if track is None else f"{source}:{_u(track)}",
            target_class=self.config.target_class,
            class_confidence=self.config.class_confidence,
            status=_status062(status),
            raw=raw,
        )

    def _position062(self, items: dict[str, bytes]) -> Position:
        sd_m = 0.0
        if (b := items.get("500")) is not None and (apc := subfields(I062_500, b, "I062/500").get(0)) is not None:
            sd_m = math.hypot(_u(apc[:2]), _u(apc[2:])) * SD_LSB_062_M
        if (b := items.get("105")) is not None:
            lat, lon = _s(b[:4]) * WGS84_LSB_062_DEG, _s(b[4:]) * WGS84_LSB_062_DEG
            return _wgs84(lat, lon, sd_m or self.config.position_sd_m)
        if (b := items.get("100")) is not None:
            return self._cartesian(_s(b[:3]) * XY_LSB_062_M, _s(b[3:]) * XY_LSB_062_M, sd_m)
        raise Malformed("missing_item", "track without a position (I062/105 or 100)")

    # --- geometry -----------------------------------------------------------------------------

    def _polar(self, range_m: float, azimuth_deg: float, sd_m: float) -> Position:
        """A point at range and true azimuth from the site, along the WGS-84 geodesic."""
        site = self.config.site
        if site is None:
            raise Malformed("no_site", "polar or cartesian position but the sensor has no site configured")
        lon, lat, _ = self._geod.fwd(site.lon, site.lat, azimuth_deg, range_m)
        if not sd_m:
            sd_m = math.hypot(self.config.range_sd_m, range_m * math.radians(self.config.azimuth_sd_deg))
        return Position(lon=float(lon), lat=float(lat), accuracy_m=sd_m)

    def _cartesian(self, x_m: float, y_m: float, sd_m: float) -> Position:
        """x east, y north of the site, in metres (small areas: the plane is the local tangent)."""
        return self._polar(math.hypot(x_m, y_m), _deg360(math.degrees(math.atan2(x_m, y_m))), sd_m)


def _status010(b: bytes | None) -> str | None:
    """I010/170: TRE (bit 7) = last report of the track; CNF (bit 8) = in initialisation."""
    if b is None:
        return None
    if b[0] & 0x40:
        return "lost"
    return "tentative" if b[0] & 0x80 else "confirmed"


def _status062(b: bytes | None) -> str | None:
    """I062/080: TSE (second octet, bit 7) = last message of the track; CNF (bit 2) = tentative."""
    if b is None:
        return None
    if len(b) > 1 and b[1] & 0x40:
        return "lost"
    return "tentative" if b[0] & 0x02 else "confirmed"
