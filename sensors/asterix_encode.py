"""Build ASTERIX CAT010 and CAT062 records and data blocks from values: what the scenario simulator
sends over UDP and what the tests decode. The inverse of :mod:`sensors.asterix` for the items it
reads; values are rounded to the item's LSB and out-of-range values raise ValueError.

A datagram may carry several blocks: concatenate the bytes of :func:`data_block` calls.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sensors.asterix import (
    ANGLE_LSB_DEG,
    DAY_S,
    METRES_PER_NM,
    SD_LSB_062_M,
    SPEED_LSB_NMPS,
    TOD_LSB_S,
    VELOCITY_LSB_MPS,
    WGS84_LSB_010_DEG,
    WGS84_LSB_062_DEG,
    XY_LSB_062_M,
)

TrackStatus = Literal["tentative", "confirmed", "lost"]

CAT010_PSR = 0x60  # I010/020 octet 1: TYP = 3 (PSR), no extension


def fspec(frns: Iterable[int]) -> bytes:
    """The FSPEC flagging these field reference numbers (1-based), FX set on all but the last octet."""
    present = sorted(set(frns))
    if not present or present[0] < 1:
        raise ValueError(f"FSPEC needs FRNs >= 1, got {present}")
    out = bytearray((present[-1] + 6) // 7)
    for frn in present:
        i, bit = divmod(frn - 1, 7)
        out[i] |= 0x80 >> bit
    for i in range(len(out) - 1):
        out[i] |= 0x01
    return bytes(out)


def record(items: dict[int, bytes]) -> bytes:
    """A record from item bytes by FRN: the FSPEC, then the items in FRN order."""
    return fspec(items) + b"".join(items[frn] for frn in sorted(items))


def data_block(category: int, records: Sequence[bytes]) -> bytes:
    """CAT, LEN (big-endian, counting the 3-octet header), then the records."""
    body = b"".join(records)
    if not records or not 0 <= category <= 255 or 3 + len(body) > 0xFFFF:
        raise ValueError(f"cannot build a CAT{category} block of {len(records)} records, {len(body)} octets")
    return bytes([category]) + (3 + len(body)).to_bytes(2, "big") + body


def scaled(value: float, lsb: float, octets: int, signed: bool, what: str) -> bytes:
    """``value`` in units of ``lsb``, rounded, as a big-endian integer of ``octets`` octets."""
    try:
        return round(value / lsb).to_bytes(octets, "big", signed=signed)
    except (OverflowError, ValueError):
        raise ValueError(f"{what} = {value} does not fit {octets} octets at LSB {lsb}") from None


def time_of_day(seconds: float) -> bytes:
    """I010/140, I062/070: seconds since UTC midnight at 1/128 s (a value rounding to 24:00 is 00:00)."""
    if not 0 <= seconds < DAY_S:
        raise ValueError(f"time of day {seconds} s is not within a day")
    return (round(seconds / TOD_LSB_S) % round(DAY_S / TOD_LSB_S)).to_bytes(3, "big")


def angle(deg: float) -> bytes:
    """A 16-bit angle at 360/2^16 deg, wrapped to [0, 360)."""
    if not math.isfinite(deg):
        raise ValueError(f"angle {deg}")
    return (round(deg / ANGLE_LSB_DEG) % 2**16).to_bytes(2, "big")


def lat_lon(lat_deg: float, lon_deg: float, lsb: float) -> bytes:
    """Latitude then longitude, 32-bit two's complement; longitude 180 is sent as -180."""
    if not (-90 <= lat_deg <= 90 and -180 <= lon_deg <= 180):
        raise ValueError(f"invalid position lat {lat_deg} lon {lon_deg}")
    lon = lon_deg - 360 if lon_deg >= 180 - lsb / 2 else lon_deg
    return scaled(lat_deg, lsb, 4, True, "latitude") + scaled(lon, lsb, 4, True, "longitude")


def _pair(a: float | None, b: float | None, what: str) -> bool:
    if (a is None) != (b is None):
        raise ValueError(f"{what}: give both values or neither")
    return a is not None


@dataclass(frozen=True)
class Cat010Report:
    """One CAT010 target report (a PSR plot or track). Give at most one of each pair group."""

    sac: int
    sic: int
    time_of_day_s: float
    track_number: int | None = None
    lat_deg: float | None = None  # I010/041
    lon_deg: float | None = None
    range_m: float | None = None  # I010/040
    azimuth_deg: float | None = None
    x_m: float | None = None  # I010/042, east of the radar
    y_m: float | None = None  # north of the radar
    speed_mps: float | None = None  # I010/200
    course_deg: float | None = None
    vx_mps: float | None = None  # I010/202
    vy_mps: float | None = None
    status: TrackStatus | None = None  # I010/170
    message_type: int = 1


def cat010_record(r: Cat010Report) -> bytes:
    """The record for one CAT010 target report (items 010, 000, 020, 140 and those given)."""
    items = {1: bytes([r.sac, r.sic]), 2: bytes([r.message_type]), 3: bytes([CAT010_PSR])}
    items[4] = time_of_day(r.time_of_day_s)
    if _pair(r.lat_deg, r.lon_deg, "I010/041 lat/lon"):
        items[5] = lat_lon(r.lat_deg or 0.0, r.lon_deg or 0.0, WGS84_LSB_010_DEG)
    if _pair(r.range_m, r.azimuth_deg, "I010/040 range/azimuth"):
        items[6] = scaled(r.range_m or 0.0, 1.0, 2, False, "range_m") + angle(r.azimuth_deg or 0.0)
    if _pair(r.x_m, r.y_m, "I010/042 x/y"):
        items[7] = scaled(r.x_m or 0.0, 1.0, 2, True, "x_m") + scaled(r.y_m or 0.0, 1.0, 2, True, "y_m")
    if _pair(r.speed_mps, r.course_deg, "I010/200 speed/course"):
        speed = scaled((r.speed_mps or 0.0) / METRES_PER_NM, SPEED_LSB_NMPS, 2, False, "speed_mps")
        items[8] = speed + angle(r.course_deg or 0.0)
    if _pair(r.vx_mps, r.vy_mps, "I010/202 vx/vy"):
        items[9] = _vxy(r.vx_mps or 0.0, r.vy_mps or 0.0)
    if r.track_number is not None:
        if not 0 <= r.track_number <= 0x0FFF:
            raise ValueError(f"CAT010 track number {r.track_number} is not 12 bits")
        items[10] = r.track_number.to_bytes(2, "big")
    if r.status is not None:
        items[11] = bytes([{"confirmed": 0x00, "tentative": 0x80, "lost": 0x40}[r.status]])
    return record(items)


@dataclass(frozen=True)
class Cat062Track:
    """One CAT062 system track update."""

    sac: int
    sic: int
    time_of_day_s: float
    track_number: int
    lat_deg: float | None = None  # I062/105
    lon_deg: float | None = None
    x_m: float | None = None  # I062/100, east of the system reference point
    y_m: float | None = None
    vx_mps: float | None = None  # I062/185
    vy_mps: float | None = None
    status: TrackStatus = "confirmed"  # I062/080
    sd_x_m: float | None = None  # I062/500 APC
    sd_y_m: float | None = None


def cat062_record(t: Cat062Track) -> bytes:
    """The record for one CAT062 track (items 010, 070, 040, 080 and those given)."""
    items = {1: bytes([t.sac, t.sic]), 4: time_of_day(t.time_of_day_s)}
    if _pair(t.lat_deg, t.lon_deg, "I062/105 lat/lon"):
        items[5] = lat_lon(t.lat_deg or 0.0, t.lon_deg or 0.0, WGS84_LSB_062_DEG)
    if _pair(t.x_m, t.y_m, "I062/100 x/y"):
        items[6] = scaled(t.x_m or 0.0, XY_LSB_062_M, 3, True, "x_m") + scaled(
            t.y_m or 0.0, XY_LSB_062_M, 3, True, "y_m"
        )
    if _pair(t.vx_mps, t.vy_mps, "I062/185 vx/vy"):
        items[7] = _vxy(t.vx_mps or 0.0, t.vy_mps or 0.0)
    if not 0 <= t.track_number <= 0xFFFF:
        raise ValueError(f"CAT062 track number {t.track_number} is not 16 bits")
    items[12] = t.track_number.to_bytes(2, "big")
    items[13] = {"confirmed": b"\x00", "tentative": b"\x02", "lost": b"\x01\x40"}[t.status]
    if _pair(t.sd_x_m, t.sd_y_m, "I062/500 APC sd_x/sd_y"):
        apc = scaled(t.sd_x_m or 0.0, SD_LSB_062_M, 2, False, "sd_x_m")
        items[27] = b"\x80" + apc + scaled(t.sd_y_m or 0.0, SD_LSB_062_M, 2, False, "sd_y_m")
    return record(items)


def _vxy(vx_mps: float, vy_mps: float) -> bytes:
    return scaled(vx_mps, VELOCITY_LSB_MPS, 2, True, "vx_mps") + scaled(vy_mps, VELOCITY_LSB_MPS, 2, True, "vy_mps")


def cat010_block(reports: Sequence[Cat010Report]) -> bytes:
    return data_block(10, [cat010_record(r) for r in reports])


def cat062_block(tracks: Sequence[Cat062Track]) -> bytes:
    return data_block(62, [cat062_record(t) for t in tracks])
