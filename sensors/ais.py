"""AIS receiver output: AIVDM/AIVDO sentences (any talker), optionally behind an NMEA 4.0 tag block.

One frame is one line. Multi-sentence messages are reassembled here: fragments wait, keyed by
sentence address, sequential id and channel, until all parts are in; a group still open after
``fragment_timeout_s`` (or pushed out by a new group on the same key) is dropped and counted as
``incomplete_multipart``. pyais decodes the 6-bit payload; this module checks what pyais lets
through (checksums, payload characters, bit lengths, the standard's "not available" values).

- types 1/2/3 (Class A), 18 (Class B), 19 (Class B extended), 27 (long range) -> an Observation of a
  VESSEL keyed by MMSI (type 19 also gives VesselStatic); AIS-SART/EPIRB MMSIs (970/974...) keep
  class VESSEL with their device as status, man-overboard devices (972...) are a PERSON;
- type 21 (aid to navigation): a buoy is a real object on the water that a radar also sees, so it
  becomes an UNKNOWN-class Observation with status ``aton`` (``aton_off_position`` when it reports
  itself off station) plus its name as VesselStatic; a virtual aid has no object: ``virtual_aton``;
- types 5 and 24 -> VesselStatic; type 24 part A carries the name, part B callsign, ship type and
  dimensions, each emitted on its own with the other fields None (unknown, not empty);
- type 4 (base station) is counted as ``base_station``; every other type as ``unsupported_type``.

Time is the tag block's ``c:`` (receiver unix seconds) when present, else the arrival time. A
whole-second ``c:`` only says which second: when the message arrives within that second, the
arrival time is the finer stamp and is used (so a tracker with a lag well under 1 s does not
take live AIS for late). The payload's UTC-second field is ignored (it has no minute, so cannot
date a report by itself).

Accuracy (1 sigma): the ITU-R M.1371 position accuracy flag says better (1) or worse (0) than
10 m; defaults of 10 m and 30 m are conservative and cover the GNSS antenna's offset on the hull.
Type 27 positions are cut to 1/10 minute (185 m of latitude), hence about 200 m, and its speed
to whole knots. lon 0 with lat 0 is a transponder without a fix and counts as not available.

Reject reasons are listed in ``REJECT_REASONS``. The encoders at the end write AIVDM sentences
for the scenario simulator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import xor
from typing import Any, Literal

from pyais import NMEAMessage, TagBlock, encode_dict
from pyais.messages import AISSentence
from pydantic import Field

from sensors.adapter import Framing
from sensors.config import SensorConfigBase
from sensors.model import Decoded, Observation, Position, Reject, SensorKind, TargetClass, Velocity, VesselStatic

KNOT_MPS = 1852.0 / 3600.0
REJECT_REASONS = tuple(
    "not_ais malformed bad_checksum short_payload incomplete_multipart unsupported_type base_station"
    " invalid_part_number position_unavailable bad_position virtual_aton".split()
)
NAV_STATUS = {
    0: "under_way_using_engine",
    1: "at_anchor",
    2: "not_under_command",
    3: "restricted_manoeuvrability",
    4: "constrained_by_draught",
    5: "moored",
    6: "aground",
    7: "engaged_in_fishing",
    8: "under_way_sailing",
    11: "towing_astern",
    12: "pushing_ahead_or_towing_alongside",
    14: "ais_sart_active",
}  # 9, 10, 13 reserved and 15 "not defined": no status
DEVICE_STATUS = {970: "ais_sart", 972: "man_overboard", 974: "epirb"}  # by the first 3 MMSI digits
# Bits up to the end of the last field read, per type (type 24: per part; type 5: see _static).
_MIN_BITS = {1: 143, 2: 143, 3: 143, 5: 420, 18: 139, 19: 301, 21: 272, 27: 94}
_MIN_BITS_24 = {0: 160, 1: 162}
_ADDRESS = re.compile(rb"[!$][A-Z0-9]{2,10},")
_PAYLOAD = re.compile(rb"[0-W`-w]+")
_HEX2 = re.compile(rb"[0-9A-Fa-f]{2}")
_SPEED_MAX_KN = 102.2  # 102.3 = not available
_SPEED27_NA_KN = 63.0
_MS_EPOCH_THRESHOLD = 1e11  # a tag time above this is in milliseconds (some receivers)


class AisConfig(SensorConfigBase):
    """An AIS receiver (shore station or dongle) sending AIVDM lines."""

    type: Literal["ais"] = "ais"
    fragment_timeout_s: float = Field(default=10.0, gt=0, le=600, allow_inf_nan=False)
    max_open_groups: int = Field(default=64, ge=1, le=10_000, description="multi-part groups waiting at once")
    high_accuracy_m: float = Field(default=10.0, gt=0, allow_inf_nan=False, description="accuracy flag 1 (DGNSS)")
    low_accuracy_m: float = Field(default=30.0, gt=0, allow_inf_nan=False, description="accuracy flag 0")
    long_range_accuracy_m: float = Field(default=200.0, gt=0, allow_inf_nan=False, description="type 27")
    speed_accuracy_mps: float = Field(default=0.3, gt=0, allow_inf_nan=False)
    long_range_speed_accuracy_mps: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    class_confidence: float = Field(default=0.95, ge=0, le=1, description="AIS is cooperative: it says what it is")


class _Refused(Exception):
    """Internal: input refused for ``reason``; turned into a :class:`Reject`, never escapes."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class _Group:
    """Fragments of one multi-sentence message, waiting for the rest."""

    count: int
    started_at: datetime
    time: datetime
    parts: dict[int, AISSentence] = field(default_factory=dict)
    lines: list[bytes] = field(default_factory=list)


@dataclass(frozen=True)
class _Report:
    """A complete AIS message: its (assembled) sentence, its time and the raw line(s)."""

    sentence: AISSentence
    time: datetime
    raw: bytes


class AisDecoder:
    """Decodes AIVDM/AIVDO lines; keeps the fragments of multi-sentence messages between frames."""

    kind: SensorKind = SensorKind.AIS
    framing: Framing = Framing.LINES

    def __init__(self, config: AisConfig) -> None:
        self.config = config
        self._groups: dict[tuple[str, int | None, str], _Group] = {}

    def decode(self, frame: bytes, received_at: datetime) -> Decoded:
        at = received_at.replace(tzinfo=UTC) if received_at.tzinfo is None else received_at.astimezone(UTC)
        out = Decoded(rejects=self._expire(at))
        line = frame.strip()
        try:
            sentence, tag_time = _parse(line)
            report = self._collect(sentence, line, _report_time(tag_time, at), at, out.rejects)
        except _Refused as r:
            out.rejects.append(Reject(r.reason, r.detail, line))
            return out
        if report is not None:
            try:
                self._map(report, out)
            except _Refused as r:
                out.rejects.append(Reject(r.reason, r.detail, report.raw))
        return out

    def _expire(self, at: datetime) -> list[Reject]:
        """Drop groups open longer than the timeout (measured on arrival times)."""
        limit = self.config.fragment_timeout_s
        stale = [k for k, g in self._groups.items() if (at - g.started_at).total_seconds() > limit]
        return [_incomplete(self._groups.pop(k), f"no complete message within {limit:g} s") for k in stale]

    def _collect(
        self, s: AISSentence, line: bytes, time: datetime, at: datetime, rejects: list[Reject]
    ) -> _Report | None:
        """File a fragment; return the message once all its fragments are in."""
        if s.frag_cnt == 1:
            return _Report(s, time, line)
        key = (s.talker_id + s.type, s.seq_id, s.channel)
        group = self._groups.get(key)
        if group is not None and (group.count != s.frag_cnt or s.frag_num in group.parts):
            rejects.append(_incomplete(self._groups.pop(key), "superseded by a new message with the same id"))
            group = None
        if group is None:
            if len(self._groups) >= self.config.max_open_groups:
                oldest = min(self._groups, key=lambda k: self._groups[k].started_at)
                rejects.append(_incomplete(self._groups.pop(oldest), "too many open multi-part messages"))
            group = self._groups[key] = _Group(count=s.frag_cnt, started_at=at, time=time)
        group.parts[s.frag_num] = s
        group.lines.append(line)
        if len(group.parts) < group.count:
            return None
        del self._groups[key]
        ordered = [group.parts[n] for n in sorted(group.parts)]
        return _Report(NMEAMessage.assemble_from_iterable(ordered), group.time, b"\n".join(group.lines))

    def _map(self, r: _Report, out: Decoded) -> None:
        """Check the payload's type and length, decode it and map it to messages."""
        ais_id, bits = r.sentence.ais_id, len(r.sentence.bv)
        if ais_id == 4:
            raise _Refused("base_station", "type 4 base station report: not a target")
        if ais_id == 24:
            part = r.sentence.bv.get(38, 2) if bits >= 40 else -1
            if part in (2, 3):
                raise _Refused("invalid_part_number", f"type 24 part number {part}")
            need = _MIN_BITS_24.get(part, 40)
        elif ais_id in _MIN_BITS:
            need = _MIN_BITS[ais_id]
        else:
            raise _Refused("unsupported_type", f"AIS message type {ais_id} not used")
        if bits < need:
            raise _Refused("short_payload", f"type {ais_id} payload of {bits} bits, need {need}")
        try:
            m: Any = r.sentence.decode()
        except Exception as exc:  # pyais raises assorted types on corrupt payloads
            raise _Refused("malformed", f"type {ais_id} payload: {type(exc).__name__}: {exc}") from exc
        if ais_id in (1, 2, 3, 18, 19):
            self._position_report(m, r, out)
        elif ais_id == 27:
            self._long_range(m, r, out)
        elif ais_id == 21:
            self._aton(m, r, out)
        else:
            out.messages.append(self._static(m, r, bits))

    def _position_report(self, m: Any, r: _Report, out: Decoded) -> None:
        """Types 1-3, 18, 19: position, SOG/COG, heading (and static data for 19)."""
        if m.msg_type == 19:
            out.messages.append(self._static(m, r, len(r.sentence.bv)))
        accuracy_m = self.config.high_accuracy_m if m.accuracy else self.config.low_accuracy_m
        sog = m.speed if m.speed <= _SPEED_MAX_KN else None
        cog = m.course if m.course < 360.0 else None
        status = NAV_STATUS.get(int(m.status)) if m.msg_type in (1, 2, 3) else None
        velocity = _velocity(sog, cog, self.config.speed_accuracy_mps)
        heading = float(m.heading) if 0 <= m.heading < 360 else None
        out.messages.append(
            self._observation(m.mmsi, _position(m.lon, m.lat, accuracy_m), velocity, heading, status, r)
        )

    def _long_range(self, m: Any, r: _Report, out: Decoded) -> None:
        """Type 27: coarse position, whole-knot speed and whole-degree course."""
        position = _position(m.lon, m.lat, self.config.long_range_accuracy_m)
        sog = m.speed if m.speed < _SPEED27_NA_KN else None
        cog = m.course if m.course < 360.0 else None
        velocity = _velocity(sog, cog, self.config.long_range_speed_accuracy_mps)
        out.messages.append(self._observation(m.mmsi, position, velocity, None, NAV_STATUS.get(int(m.status)), r))

    def _aton(self, m: Any, r: _Report, out: Decoded) -> None:
        """Type 21: a physical aid is an object on the water; a virtual one is only a chart mark."""
        if m.virtual_aid:
            raise _Refused("virtual_aton", f"virtual aid to navigation {m.mmsi}: no physical object")
        accuracy_m = self.config.high_accuracy_m if m.accuracy else self.config.low_accuracy_m
        position = _position(m.lon, m.lat, accuracy_m)
        length_m, beam_m = _dimensions(m)
        name = _text(m.full_name)
        out.messages.append(VesselStatic(self.config.id, r.time, m.mmsi, name, None, None, length_m, beam_m, raw=r.raw))
        status = "aton_off_position" if m.off_position else "aton"
        out.messages.append(self._observation(m.mmsi, position, None, None, status, r, fixed_object=True))

    def _static(self, m: Any, r: _Report, bits: int) -> VesselStatic:
        """Types 5, 19, 24 (one part): what the message carries; the rest None."""
        length_m, beam_m = _dimensions(m)
        ship_type = getattr(m, "ship_type", None)
        imo = getattr(m, "imo", None)
        destination = getattr(m, "destination", None) if bits >= 422 else None  # 420-bit type 5: cut short
        return VesselStatic(
            sensor_id=self.config.id,
            time=r.time,
            mmsi=m.mmsi,
            name=_text(getattr(m, "shipname", None)),
            callsign=_text(getattr(m, "callsign", None)),
            ship_type=int(ship_type) if ship_type else None,
            length_m=length_m,
            beam_m=beam_m,
            imo=imo if imo is not None and 1_000_000 <= imo <= 9_999_999 else None,
            destination=_text(destination),
            raw=r.raw,
        )

    def _observation(
        self,
        mmsi: int,
        position: Position,
        velocity: Velocity | None,
        heading: float | None,
        status: str | None,
        r: _Report,
        fixed_object: bool = False,
    ) -> Observation:
        """A vessel report (a person for a man-overboard device); an aid to navigation is unclassed."""
        device = DEVICE_STATUS.get(mmsi // 1_000_000)
        if fixed_object:
            target_class, confidence = TargetClass.UNKNOWN, 0.0
        elif device == "man_overboard":
            target_class, confidence = TargetClass.PERSON, self.config.class_confidence
        else:
            target_class, confidence = TargetClass.VESSEL, self.config.class_confidence
        return Observation(
            sensor_id=self.config.id,
            sensor_kind=SensorKind.AIS,
            time=r.time,
            position=position,
            velocity=velocity,
            target_id=str(mmsi),
            target_class=target_class,
            class_confidence=confidence,
            heading_deg=heading,
            status=device or status,
            raw=r.raw,
        )


def _parse(line: bytes) -> tuple[AISSentence, datetime | None]:
    """Split off a tag block, check the sentence is a well-formed AIS one, return it with the tag time."""
    tag_time = None
    body = line
    if line.startswith(b"\\"):
        end = line.find(b"\\", 1)
        if end < 0:
            raise _Refused("malformed", "tag block without its closing backslash")
        tag_time = _tag_time(line[1:end])
        body = line[end + 1 :]
    if not body.isascii() or not _ADDRESS.match(body):
        raise _Refused("malformed", "not an NMEA sentence")
    address = body[1 : body.index(b",")]
    if len(address) != 5 or address[2:] not in (b"VDM", b"VDO"):
        raise _Refused("not_ais", f"{address.decode()} sentence")
    star = body.rfind(b"*")
    if star < 0 or not _HEX2.fullmatch(body[star + 1 :]) or reduce(xor, body[1:star], 0) != int(body[star + 1 :], 16):
        raise _Refused("bad_checksum", "sentence checksum missing or wrong")
    fields = body[:star].split(b",")
    if len(fields) != 7 or not _PAYLOAD.fullmatch(fields[5]):
        raise _Refused("malformed", "AIVDM needs 7 fields and a 6-bit armoured payload")
    try:
        return NMEAMessage(body), tag_time
    except Exception as exc:  # pyais: bad fragment numbers, fill bits, ...
        raise _Refused("malformed", f"{type(exc).__name__}: {exc}") from exc


def _report_time(tag_time: datetime | None, at: datetime) -> datetime:
    """The tag time, or the arrival time when the tag is a whole second and arrival lies within it."""
    if tag_time is None:
        return at
    if tag_time.microsecond == 0 and timedelta(0) <= at - tag_time < timedelta(seconds=1):
        return at
    return tag_time


def _tag_time(block: bytes) -> datetime | None:
    """The receiver time ``c:`` of an NMEA 4.0 tag block (unix seconds, or milliseconds)."""
    tb = TagBlock(block)
    tb.init()
    if not tb.is_valid:
        raise _Refused("bad_checksum", "tag block checksum missing or wrong")
    stamp = tb.receiver_timestamp
    if stamp is None:
        return None
    try:
        value = float(stamp)
        if value > _MS_EPOCH_THRESHOLD:
            value /= 1000.0
        return datetime.fromtimestamp(value, UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise _Refused("malformed", f"tag block time {stamp!r}") from exc


def _position(lon: float, lat: float, accuracy_m: float) -> Position:
    """A position, or refused when the standard's "not available" (181/91) or out of range."""
    if lon == 181.0 or lat == 91.0 or (lon == 0.0 and lat == 0.0):
        raise _Refused("position_unavailable", f"position not available (lon {lon}, lat {lat})")
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise _Refused("bad_position", f"position out of range (lon {lon}, lat {lat})")
    return Position(lon, lat, accuracy_m)


def _velocity(sog_kn: float | None, cog_deg: float | None, accuracy_mps: float) -> Velocity | None:
    if sog_kn is None or cog_deg is None:
        return None
    return Velocity(sog_kn * KNOT_MPS, float(cog_deg), accuracy_mps)


def _dimensions(m: Any) -> tuple[float | None, float | None]:
    """Length and beam from the antenna offsets (0 = not available); None where the message has none."""
    bow, stern, port, starboard = (getattr(m, k, None) or 0 for k in ("to_bow", "to_stern", "to_port", "to_starboard"))
    return (float(bow + stern) or None, float(port + starboard) or None)


def _text(value: str | None) -> str | None:
    """6-bit text without '@' padding and spaces; empty is None."""
    return (value or "").strip("@ ") or None


def _incomplete(group: _Group, why: str) -> Reject:
    got = ",".join(str(n) for n in sorted(group.parts))
    return Reject("incomplete_multipart", f"fragments {got} of {group.count} dropped: {why}", b"\n".join(group.lines))


# --- encoders for the scenario simulator -------------------------------------------------------

_SIXBIT = frozenset("@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?")
_Fields = dict[str, str | int | float | bytes | bool]


def encode_position(
    mmsi: int,
    lon: float,
    lat: float,
    sog_kn: float | None = None,
    cog_deg: float | None = None,
    heading_deg: float | None = None,
    *,
    msg_type: Literal[1, 18] = 1,
    status: int = 0,
    high_accuracy: bool = True,
    channel: Literal["A", "B"] = "A",
) -> list[str]:
    """AIVDM line of a Class A (type 1) or Class B (type 18) position report; None = not available."""
    data: _Fields = {"type": msg_type, "mmsi": mmsi, "lon": lon, "lat": lat, "accuracy": high_accuracy, "second": 60}
    data["speed"] = _tenths(sog_kn, 1022, 1023)
    data["course"] = _tenths(None if cog_deg is None else round(cog_deg * 10) % 3600 / 10, 3599, 3600)
    data["heading"] = 511 if heading_deg is None else round(heading_deg) % 360
    if msg_type == 1:
        data["status"] = status
    return encode_dict(data, talker_id="AI", sentence_type="VDM", radio_channel=channel)


def encode_static(
    mmsi: int,
    name: str | None,
    callsign: str | None,
    ship_type: int = 0,
    length_m: float | None = None,
    beam_m: float | None = None,
    imo: int | None = None,
    destination: str | None = None,
    *,
    class_b: bool = False,
    seq_id: int = 0,
    channel: Literal["A", "B"] = "A",
) -> list[str]:
    """AIVDM lines of static data: type 5 (two sentences) or, for Class B, type 24 parts A and B.
    Text outside the AIS 6-bit set becomes '?'; the antenna is put amidships."""
    length = min(round(length_m or 0), 1022)
    beam = min(round(beam_m or 0), 126)
    dims: _Fields = {
        "to_bow": length // 2,
        "to_stern": length - length // 2,
        "to_port": beam // 2,
        "to_starboard": beam - beam // 2,
    }
    common: _Fields = {"mmsi": mmsi, "ship_type": ship_type, "callsign": _sixbit(callsign, 7), **dims}
    kw: dict[str, Any] = {"talker_id": "AI", "sentence_type": "VDM", "radio_channel": channel}
    if class_b:
        part_a: _Fields = {"type": 24, "mmsi": mmsi, "partno": 0, "shipname": _sixbit(name, 20)}
        return encode_dict(part_a, **kw) + encode_dict({**common, "type": 24, "partno": 1}, **kw)
    data: _Fields = {
        **common,
        "type": 5,
        "ais_version": 2,
        "imo": imo or 0,
        "shipname": _sixbit(name, 20),
        "destination": _sixbit(destination, 20),
    }
    return encode_dict(data, seq_id=seq_id, **kw)


def with_tag_block(line: str, at: datetime, source: str = "sim") -> str:
    """The line behind an NMEA 4.0 tag block carrying the receiver time (``c:``, unix seconds)."""
    payload = f"s:{source},c:{int(at.timestamp())}"
    return f"\\{payload}*{reduce(xor, payload.encode(), 0):02X}\\{line}"


def _tenths(value: float | None, max_raw: int, na_raw: int) -> float:
    """A value for a pyais 1/10-unit field. pyais truncates value*10 to an integer, so half a unit
    is added to make that a rounding."""
    raw = na_raw if value is None else min(max(round(value * 10), 0), max_raw)
    return (raw + 0.5) / 10.0


def _sixbit(text: str | None, size: int) -> str:
    return "".join(c if c in _SIXBIT else "?" for c in (text or "").upper()[:size])
