"""Shore radar ARPA target output over NMEA 0183: TTM (range and bearing) and TLL (lat/lon).

One frame is one sentence line from any talker (RA, II, ...), checksum required. A TTM becomes a
bearing observation from the radar site; a TLL a position observation. Relative bearings and
courses (``R``) are turned true with the configured reference heading: a shore radar does not
move, so "relative" means relative to how it is mounted (0 = north-up).

A radar track says nothing about what the target is (a boat, a swimmer, a log): observations
carry :attr:`TargetClass.UNKNOWN` with confidence 0 and classification is left to cameras and AIS.
Target ids are ``"<sensor id>:<target number>"`` with the number normalised ("05" -> "5") so TTM
and TLL of the same track join. Target name, CPA, reference-target flag and acquisition type are
not used. The encoders at the end write the same sentences for the scenario simulator.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pynmea2
from pydantic import Field, model_validator

from sensors.adapter import Framing
from sensors.config import SensorConfigBase
from sensors.model import BearingRange, Decoded, Observation, Position, Reject, SensorKind, TargetClass, Velocity

NAUTICAL_MILE_M = 1852.0
STATUTE_MILE_M = 1609.344
KILOMETRE_M = 1000.0
HOUR_S = 3600.0

# Speed/distance unit letter -> metres per distance unit (speeds are that unit per hour).
UNIT_M: dict[str, float] = {"N": NAUTICAL_MILE_M, "K": KILOMETRE_M, "S": STATUTE_MILE_M}
STATUS: dict[str, str] = {"T": "tracking", "Q": "acquiring", "L": "lost"}
_STATUS_LETTER = {word: letter for letter, word in STATUS.items()}

_NUMBER = re.compile(r"^-?(?:\d+(?:\.\d*)?|\.\d+)$")
_TARGET_NUMBER = re.compile(r"^\d{1,6}$")
_HHMMSS = re.compile(r"^(\d{2})(\d{2})(\d{2}(?:\.\d+)?)$")
_DEG_MIN = re.compile(r"^(\d{1,3})(\d{2}(?:\.\d+)?)$")
_TALKER = re.compile(r"^[A-Z0-9]{2}$")
_CENTISECONDS_PER_DAY = 8_640_000


class RadarNmeaConfig(SensorConfigBase):
    """A shore radar sending ARPA targets as NMEA 0183 TTM/TLL; its site is required."""

    type: Literal["radar_nmea"] = "radar_nmea"
    heading_deg: float | None = Field(
        default=0.0,
        ge=0,
        lt=360,
        allow_inf_nan=False,
        description="reference heading for relative (R) bearings/courses; None rejects relative sentences",
    )
    range_sd_m: float = Field(default=20.0, gt=0, allow_inf_nan=False)
    bearing_sd_deg: float = Field(default=0.5, gt=0, allow_inf_nan=False)
    tll_accuracy_m: float = Field(default=25.0, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _site_required(self) -> RadarNmeaConfig:
        if self.site is None:
            raise ValueError("a radar needs its site: ranges and bearings are measured from it")
        return self


class _Bad(Exception):
    """Internal: a sentence refused for ``reason``; turned into a :class:`Reject`, never escapes."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class RadarNmeaDecoder:
    """Decodes one NMEA line into one observation or one reject; keeps no state across lines."""

    kind: SensorKind = SensorKind.RADAR
    framing: Framing = Framing.LINES

    def __init__(self, config: RadarNmeaConfig) -> None:
        if config.site is None:  # the config validator already refuses this
            raise ValueError("a radar needs its site")
        self.config = config
        self.origin_lon = config.site.lon
        self.origin_lat = config.site.lat

    def decode(self, frame: bytes, received_at: datetime) -> Decoded:
        at = received_at.replace(tzinfo=UTC) if received_at.tzinfo is None else received_at.astimezone(UTC)
        try:
            sentence = _parse(frame)
            if isinstance(sentence, pynmea2.TTM):
                obs = self._ttm(sentence, frame, at)
            elif isinstance(sentence, pynmea2.TLL):
                obs = self._tll(sentence, frame, at)
            else:
                raise _Bad("not_radar", f"{_sentence_name(sentence)} is not a radar target sentence")
        except _Bad as bad:
            return Decoded(rejects=[Reject(bad.reason, bad.detail, frame)])
        return Decoded(messages=[obs])

    def _ttm(self, s: Any, frame: bytes, at: datetime) -> Observation:
        """Tracked target: range and bearing from the site, optional speed and course."""
        number = _target_number(s)
        distance = _required(s, "distance", "target distance")
        if distance < 0:
            raise _Bad("bad_value", f"negative target distance {distance}")
        bearing = _angle_deg(_required(s, "bearing", "bearing"), "bearing")
        unit_m = _unit_m(_field(s, "dist_unit"))
        bearing_true = self._true_deg(bearing, _field(s, "brg_ref"), "bearing")
        velocity = self._velocity(s, unit_m)
        return Observation(
            sensor_id=self.config.id,
            sensor_kind=SensorKind.RADAR,
            time=_sentence_time(_field(s, "timestamp"), at),
            bearing=BearingRange(
                origin_lon=self.origin_lon,
                origin_lat=self.origin_lat,
                bearing_deg=bearing_true,
                bearing_sd_deg=self.config.bearing_sd_deg,
                range_m=distance * unit_m,
                range_sd_m=self.config.range_sd_m,
            ),
            velocity=velocity,
            target_id=f"{self.config.id}:{number}",
            target_class=TargetClass.UNKNOWN,
            status=_status(_field(s, "status")),
            raw=frame,
        )

    def _tll(self, s: Any, frame: bytes, at: datetime) -> Observation:
        """Target position as the radar computed it from its own site."""
        number = _target_number(s)
        lat = _deg_min(_field(s, "lat"), _field(s, "lat_dir"), "NS", 90.0, "latitude")
        lon = _deg_min(_field(s, "lon"), _field(s, "lon_dir"), "EW", 180.0, "longitude")
        return Observation(
            sensor_id=self.config.id,
            sensor_kind=SensorKind.RADAR,
            time=_sentence_time(_field(s, "timestamp"), at),
            position=Position(lon=lon, lat=lat, accuracy_m=self.config.tll_accuracy_m),
            target_id=f"{self.config.id}:{number}",
            target_class=TargetClass.UNKNOWN,
            status=_status(_field(s, "target_status")),
            raw=frame,
        )

    def _velocity(self, s: Any, unit_m: float) -> Velocity | None:
        """Speed and course over ground; None unless both are given."""
        speed = _optional(s, "speed", "target speed")
        course = _optional(s, "cog", "target course")
        if speed is not None and speed < 0:
            raise _Bad("bad_value", f"negative target speed {speed}")
        if course is None or speed is None:
            return None
        course_true = self._true_deg(_angle_deg(course, "course"), _field(s, "cog_unit"), "course")
        return Velocity(speed_mps=speed * unit_m / HOUR_S, course_deg=course_true)

    def _true_deg(self, value_deg: float, reference: str, label: str) -> float:
        """True (T) angles pass; relative (R) ones are added to the configured reference heading."""
        if reference == "T":
            return value_deg
        if reference == "R":
            if self.config.heading_deg is None:
                raise _Bad("bad_units", f"relative {label} but no reference heading configured")
            return (value_deg + self.config.heading_deg) % 360.0
        if reference == "":
            raise _Bad("missing_field", f"{label} reference (T/R) is empty")
        raise _Bad("bad_units", f"{label} reference {reference!r} is not T or R")


def _parse(frame: bytes) -> Any:
    """Bytes -> pynmea2 sentence with a verified checksum, or a :class:`_Bad`."""
    try:
        line = frame.decode("ascii").strip()
    except UnicodeDecodeError:
        raise _Bad("parse_error", "line is not ASCII") from None
    if line.startswith("!"):
        raise _Bad("not_radar", f"encapsulated sentence {line[:6]!r} (AIS?) is not radar output")
    if not line.startswith("$"):
        raise _Bad("parse_error", "line does not start with '$'")
    try:
        return pynmea2.parse(line, check=True)
    except pynmea2.ChecksumError as exc:
        raise _Bad("bad_checksum", _pynmea_message(exc)) from None
    except pynmea2.SentenceTypeError as exc:
        raise _Bad("not_radar", _pynmea_message(exc)) from None
    except pynmea2.ParseError as exc:
        raise _Bad("parse_error", _pynmea_message(exc)) from None


def _pynmea_message(exc: Exception) -> str:
    """pynmea2 errors carry ``(message, data)``; keep the message, one line and short."""
    arg = exc.args[0] if exc.args else ""
    message = arg[0] if isinstance(arg, tuple) and arg else arg
    return str(message).replace("\n", " ")[:120]


def _sentence_name(sentence: Any) -> str:
    talker = getattr(sentence, "talker", "")
    kind = getattr(sentence, "sentence_type", None) or getattr(sentence, "manufacturer", "?")
    return f"{talker}{kind}"


def _field(sentence: Any, name: str) -> str:
    """The raw text of a field by its pynmea2 name; "" when the sentence is shorter."""
    index: int = type(sentence).name_to_idx[name]
    data: list[str] = sentence.data
    return str(data[index]) if index < len(data) else ""


def _optional(sentence: Any, name: str, label: str) -> float | None:
    text = _field(sentence, name)
    if text == "":
        return None
    if not _NUMBER.match(text):
        raise _Bad("bad_value", f"{label} {text[:20]!r} is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise _Bad("bad_value", f"{label} {text[:20]!r} is out of range")
    return value


def _required(sentence: Any, name: str, label: str) -> float:
    value = _optional(sentence, name, label)
    if value is None:
        raise _Bad("missing_field", f"{label} is empty")
    return value


def _angle_deg(value: float, label: str) -> float:
    if not 0.0 <= value < 360.0:
        raise _Bad("bad_value", f"{label} {value} is not in [0, 360)")
    return value


def _target_number(sentence: Any) -> int:
    text = _field(sentence, "target_number")
    if text == "":
        raise _Bad("missing_field", "target number is empty")
    if not _TARGET_NUMBER.match(text):
        raise _Bad("bad_value", f"target number {text[:20]!r} is not a number")
    return int(text)


def _unit_m(letter: str) -> float:
    if letter == "":
        raise _Bad("missing_field", "speed/distance units are empty")
    if letter not in UNIT_M:
        raise _Bad("bad_units", f"speed/distance units {letter[:10]!r} are not K, N or S")
    return UNIT_M[letter]


def _status(letter: str) -> str | None:
    if letter == "":
        return None
    if letter not in STATUS:
        raise _Bad("bad_value", f"target status {letter[:10]!r} is not T, Q or L")
    return STATUS[letter]


def _deg_min(text: str, hemisphere: str, signs: str, limit_deg: float, label: str) -> float:
    """``ddmm.mmmm`` / ``dddmm.mmmm`` with hemisphere letter -> signed degrees."""
    if text == "" or hemisphere == "":
        raise _Bad("missing_field", f"{label} or its hemisphere is empty")
    match = _DEG_MIN.match(text)
    if not match:
        raise _Bad("bad_value", f"{label} {text[:20]!r} is not degrees and minutes")
    minutes = float(match[2])
    degrees = int(match[1]) + minutes / 60.0
    if minutes >= 60.0 or degrees > limit_deg:
        raise _Bad("bad_value", f"{label} {text[:20]!r} is out of range")
    if hemisphere not in signs:
        raise _Bad("bad_value", f"{label} hemisphere {hemisphere[:10]!r} is not {signs[0]} or {signs[1]}")
    return -degrees if hemisphere == signs[1] else degrees


def _sentence_time(text: str, received_at: datetime) -> datetime:
    """``hhmmss.ss`` UTC on the day (yesterday, today, tomorrow) nearest to reception; the
    reception time itself when the sentence has none (NMEA 0183 before v3)."""
    if text == "":
        return received_at
    match = _HHMMSS.match(text)
    if not match:
        raise _Bad("bad_value", f"UTC time {text[:20]!r} is not hhmmss.ss")
    hours, minutes, seconds = int(match[1]), int(match[2]), float(match[3])
    if hours > 23 or minutes > 59 or seconds >= 60.0:
        raise _Bad("bad_value", f"UTC time {text[:20]!r} is out of range")
    of_day = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    midnight = datetime(received_at.year, received_at.month, received_at.day, tzinfo=UTC)
    candidates = [midnight + timedelta(days=days) + of_day for days in (-1, 0, 1)]
    return min(candidates, key=lambda t: abs(t - received_at))


# --- encoders for the scenario simulator -----------------------------------------------------


def encode_ttm(
    target_number: int,
    range_m: float,
    bearing_deg: float,
    speed_mps: float,
    course_deg: float,
    status: str,
    time: datetime,
    units: str = "N",
    talker: str = "RA",
) -> str:
    """A TTM sentence (true bearing and course, no CPA) with checksum. Printed resolution:
    distance 0.001 unit, bearing/course 0.1 deg, speed 0.1 unit/h, time 0.01 s."""
    if units not in UNIT_M:
        raise ValueError(f"units must be K, N or S, got {units!r}")
    if not (math.isfinite(range_m) and range_m >= 0 and math.isfinite(speed_mps) and speed_mps >= 0):
        raise ValueError(f"range and speed must be finite and >= 0, got {range_m}, {speed_mps}")
    unit_m = UNIT_M[units]
    fields = (
        _number_text(target_number),
        f"{range_m / unit_m:.3f}",
        _deg_text(bearing_deg),
        "T",
        f"{speed_mps * HOUR_S / unit_m:.1f}",
        _deg_text(course_deg),
        "T",
        "",  # distance of CPA: not simulated
        "",  # time to CPA
        units,
        "",  # target name
        _status_letter(status),
        "",  # reference target
        _hhmmss(time),
        "A",  # automatic acquisition
    )
    return str(pynmea2.TTM(_talker(talker), "TTM", fields).render())


def encode_tll(target_number: int, lon: float, lat: float, status: str, time: datetime, talker: str = "RA") -> str:
    """A TLL sentence with checksum; lat/lon printed to 0.0001 minute (about 0.2 m)."""
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"invalid position lon={lon} lat={lat}")
    fields = (
        _number_text(target_number),
        _deg_min_text(lat, 2),
        "N" if lat >= 0 else "S",
        _deg_min_text(lon, 3),
        "E" if lon >= 0 else "W",
        "",  # target name
        _hhmmss(time),
        _status_letter(status),
        "",  # reference target
    )
    return str(pynmea2.TLL(_talker(talker), "TLL", fields).render())


def _number_text(target_number: int) -> str:
    if not 0 <= target_number <= 999_999:
        raise ValueError(f"target number must be in [0, 999999], got {target_number}")
    return f"{target_number:02d}"


def _talker(talker: str) -> str:
    if not _TALKER.match(talker):
        raise ValueError(f"talker must be two upper-case letters or digits, got {talker!r}")
    return talker


def _status_letter(status: str) -> str:
    """``tracking``/``acquiring``/``lost`` (or the letters T/Q/L) -> the TTM/TLL status letter."""
    if status in STATUS:
        return status
    if status not in _STATUS_LETTER:
        raise ValueError(f"status must be one of {sorted(_STATUS_LETTER)}, got {status!r}")
    return _STATUS_LETTER[status]


def _deg_text(value_deg: float) -> str:
    """An angle to 0.1 deg in [0, 360): 359.96 prints as 0.0, never 360.0."""
    if not math.isfinite(value_deg):
        raise ValueError(f"angle must be finite, got {value_deg}")
    return f"{round(value_deg % 360.0, 1) % 360.0:.1f}"


def _deg_min_text(value_deg: float, degree_digits: int) -> str:
    """|value| as degrees and minutes to 0.0001 minute, rounded in integers so minutes never print 60."""
    ten_thousandths = round(abs(value_deg) * 600_000)
    degrees, rest = divmod(ten_thousandths, 600_000)
    return f"{degrees:0{degree_digits}d}{rest // 10_000:02d}.{rest % 10_000:04d}"


def _hhmmss(when: datetime) -> str:
    """UTC time of day as ``hhmmss.ss`` (rounded to 0.01 s, wrapping at midnight)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("time must be timezone-aware")
    t = when.astimezone(UTC)
    seconds = t.hour * 3600 + t.minute * 60 + t.second
    centiseconds = round(seconds * 100 + t.microsecond / 10_000) % _CENTISECONDS_PER_DAY
    hours, rest = divmod(centiseconds, 360_000)
    minutes, rest = divmod(rest, 6_000)
    return f"{hours:02d}{minutes:02d}{rest // 100:02d}.{rest % 100:02d}"
