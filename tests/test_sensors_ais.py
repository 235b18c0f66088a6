"""AIS decoder against real recordings: positions, MMSIs, names and callsigns compared with GPSD's
own decoding (the ``.chk`` files, an independent C decoder), exact reject counts per reason,
multi-part reassembly and its timeout, tag block time, "not available" values, the encoders'
round trip, and a fuzz through the adapter."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import xor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyais import encode_dict

from sensors.adapter import Framing, SensorAdapter
from sensors.ais import (
    NAV_STATUS,
    REJECT_REASONS,
    AisConfig,
    AisDecoder,
    encode_position,
    encode_static,
    with_tag_block,
)
from sensors.model import Decoded, Observation, SensorKind, SensorMessage, TargetClass, VesselStatic
from tests.sensor_fixtures import ManualClock

DATA = Path(__file__).parent / "data" / "ais"
FILES = ["ais-nmea.log", "ais-raw-messages.log", "ais-18-27.log"]
T0 = datetime(2023, 5, 7, 10, 0, tzinfo=UTC)
STEP = timedelta(milliseconds=100)
KNOT_MPS = 1852 / 3600  # the international knot, not the module's constant
POSITION_TYPES = {1, 2, 3, 18, 19, 21, 27}
NA_LON = {27: 181 * 600}  # GPSD's unscaled "not available" longitude; others 181 * 600000
TYPE5_FRAG1 = b"!AIVDM,2,1,9,B,55R3Vn82=ILTQ3KKS>1<D60Dq@E918U<F222221J1`?164vc03S1CCAD,0*2A"
TYPE5_FRAG2 = b"!AIVDM,2,2,9,B,`88888888888880,2*76"
CLASS_A = b"!AIVDM,1,1,,B,13aDp<PP000IwSlN?Wm@0?wN2<1T,0*29"  # mmsi 244660274 (ais-nmea.log)
# CLASS_A behind a tag block written by hand; its checksum 5D is asserted in test_literal_checksum.
TAGGED = b"\\s:rcv01,c:1585312871*5D\\" + CLASS_A


def sentences(name: str) -> list[bytes]:
    """The recorded lines of a log, without its '#' comment header."""
    lines = (DATA / name).read_bytes().splitlines()
    return [line for line in lines if line and not line.startswith(b"#")]


def gpsd_reports(name: str) -> list[tuple[bytes, list[dict[str, Any]]]]:
    """Each AIVDM line of a .chk file with the distinct AIS reports GPSD printed after it
    (GPSD repeats a report between later GPS fixes; the repeats are dropped)."""
    out: list[tuple[bytes, list[dict[str, Any]]]] = []
    for line in (DATA / f"{name}.chk").read_bytes().splitlines():
        if line.startswith(b"!"):
            out.append((line, []))
        elif line.startswith(b"{"):
            report = json.loads(line)
            if report["class"] == "AIS" and report not in out[-1][1]:
                out[-1][1].append(report)
    return out


def decoder(**kw: Any) -> AisDecoder:
    return AisDecoder(AisConfig(id="md-ais-1", agency="MD", **kw))


def run(name: str) -> tuple[dict[bytes, list[Decoded]], Counter[str]]:
    """Decode a whole log, one line every 100 ms; results per line (a line may recur)."""
    dec, per_line, reasons = decoder(), dict[bytes, list[Decoded]](), Counter[str]()
    for i, line in enumerate(sentences(name)):
        out = dec.decode(line, T0 + i * STEP)
        per_line.setdefault(line, []).append(out)
        reasons.update(r.reason for r in out.rejects)
    return per_line, reasons


def paired(name: str) -> list[tuple[dict[str, Any] | None, Decoded]]:
    """Each AIVDM line's GPSD report (None when GPSD printed none, e.g. after a first fragment),
    paired with what our decoder made of that line."""
    per_line, _ = run(name)
    seen: Counter[bytes] = Counter()
    pairs: list[tuple[dict[str, Any] | None, Decoded]] = []
    for line, reports in gpsd_reports(name):
        out = per_line[line][seen[line]]
        seen[line] += 1
        assert len(reports) <= 1
        pairs.append((reports[0] if reports else None, out))
    return pairs


def nmea(body: str) -> bytes:
    """A sentence with its checksum (an XOR written here, independent of the decoder)."""
    return f"{body}*{reduce(xor, body[1:].encode(), 0):02X}".encode()


def decode(*lines: bytes | str, dec: AisDecoder | None = None, at: datetime = T0) -> Decoded:
    dec = dec or decoder()
    total = Decoded()
    for line in lines:
        out = dec.decode(line.encode() if isinstance(line, str) else line, at)
        total.messages += out.messages
        total.rejects += out.rejects
    return total


def only_observation(out: Decoded) -> Observation:
    assert not out.rejects and len(out.messages) == 1
    obs = out.messages[0]
    assert isinstance(obs, Observation)
    return obs


# --- against GPSD's decoding of the recordings -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ais-nmea.log", {"not_ais": 1313, "unsupported_type": 6, "position_unavailable": 3}),
        ("ais-raw-messages.log", {"base_station": 5}),
        ("ais-18-27.log", {"invalid_part_number": 69}),
    ],
)
def test_reject_counts(name: str, expected: dict[str, int]) -> None:
    _, reasons = run(name)
    assert dict(reasons) == expected
    # cross-checks from the data itself: every GPS sentence is not_ais; GPSD's type 8 / type 4
    # reports are the unsupported / base-station lines; its 181/91 reports the unavailable ones
    assert reasons["not_ais"] == sum(line.startswith(b"$") for line in sentences(name))
    reports = [r for _, rs in gpsd_reports(name) for r in rs]
    assert reasons["unsupported_type"] == sum(r["type"] == 8 for r in reports)
    assert reasons["base_station"] == sum(r["type"] == 4 for r in reports)
    assert reasons["position_unavailable"] == sum(
        r["type"] in POSITION_TYPES and r["lon"] == NA_LON.get(r["type"], 181 * 600000) for r in reports
    )


@pytest.mark.parametrize(
    ("name", "compared"), [("ais-nmea.log", 141), ("ais-raw-messages.log", 97), ("ais-18-27.log", 138)]
)
def test_positions_match_gpsd(name: str, compared: int) -> None:
    n = 0
    for report, out in paired(name):
        if (
            report is None
            or report["type"] not in POSITION_TYPES
            or report["lon"] == NA_LON.get(report["type"], 181 * 600000)
        ):
            continue
        obs = [m for m in out.messages if isinstance(m, Observation)]
        assert len(obs) == 1, report
        scale = 600.0 if report["type"] == 27 else 600000.0
        assert obs[0].target_id == str(report["mmsi"])
        assert obs[0].position is not None
        assert obs[0].position.lon == pytest.approx(report["lon"] / scale, abs=1e-4)
        assert obs[0].position.lat == pytest.approx(report["lat"] / scale, abs=1e-4)
        n += 1
    assert n == compared


@pytest.mark.parametrize(
    ("name", "compared"), [("ais-nmea.log", 141), ("ais-raw-messages.log", 91), ("ais-18-27.log", 138)]
)
def test_motion_and_status_match_gpsd(name: str, compared: int) -> None:
    """SOG/COG -> velocity (none when either is not available), heading (511 -> None), status.
    Two Class B reports in ais-18-27.log carry heading 360, which the standard does not define."""
    n = invalid_headings = 0
    for report, out in paired(name):
        obs = [m for m in out.messages if isinstance(m, Observation)]
        if report is None or report["type"] not in POSITION_TYPES - {21} or not obs:
            continue
        long_range = report["type"] == 27
        speed_kn = report["speed"] if long_range else report["speed"] / 10
        course = report["course"] if long_range else report["course"] / 10
        available = speed_kn < (63 if long_range else 102.3) and course < 360
        velocity = obs[0].velocity
        assert (velocity is not None) == available, report
        if velocity is not None:
            assert velocity.speed_mps == pytest.approx(speed_kn * KNOT_MPS, abs=1e-9)
            assert velocity.course_deg == pytest.approx(course, abs=1e-9)
        heading = report.get("heading", 511)  # 511: not available; 360-510 are not valid headings
        assert obs[0].heading_deg == (heading if heading < 360 else None)
        invalid_headings += 360 <= heading < 511
        assert obs[0].status == (NAV_STATUS.get(report["status"]) if "status" in report else None)
        assert obs[0].target_class is TargetClass.VESSEL and obs[0].class_confidence == 0.95
        n += 1
    assert n == compared
    assert invalid_headings == (2 if name == "ais-18-27.log" else 0)


@pytest.mark.parametrize(("name", "compared"), [("ais-nmea.log", 16), ("ais-raw-messages.log", 12)])
def test_static_data_matches_gpsd(name: str, compared: int) -> None:
    """Type 5 in full; type 24 part B's callsign/type/dimensions and the name of the part A before
    it (GPSD prints one report per A/B pair); type 21's name."""
    names: dict[int, str | None] = {}
    n = 0
    for report, out in paired(name):
        statics = [m for m in out.messages if isinstance(m, VesselStatic)]
        for s in statics:
            names[s.mmsi] = s.name or names.get(s.mmsi)
        if report is None or report["type"] not in (5, 21, 24):
            continue
        assert len(statics) == 1 and statics[0].mmsi == report["mmsi"]
        s = statics[0]
        assert names[s.mmsi] == (report.get("shipname") or report.get("name") or None)
        if report["type"] != 21:
            assert s.callsign == (report["callsign"] or None)
            assert s.ship_type == (report["shiptype"] or None)
        length, beam = report["to_bow"] + report["to_stern"], report["to_port"] + report["to_starboard"]
        assert (s.length_m, s.beam_m) == (length or None, beam or None)
        if report["type"] == 5:
            assert s.imo == (report["imo"] or None)
            assert s.destination == (report["destination"] or None)
        n += 1
    assert n == compared


def test_type5_names_from_the_recording() -> None:
    out = decode(TYPE5_FRAG1)
    assert out.messages == [] and out.rejects == []
    out = decode(TYPE5_FRAG1, TYPE5_FRAG2)
    assert len(out.messages) == 1 and not out.rejects
    s = out.messages[0]
    assert isinstance(s, VesselStatic)
    assert (s.mmsi, s.name, s.callsign, s.imo, s.ship_type) == (371255000, "SEA ENTERPRISE", "HP6683", 9266633, 90)
    assert s.raw == TYPE5_FRAG1 + b"\n" + TYPE5_FRAG2


# --- multi-part messages ------------------------------------------------------------------------


def test_multipart_survives_interleaving_and_reordering() -> None:
    dec = decoder()
    assert decode(TYPE5_FRAG2, dec=dec).messages == []
    between = decode(CLASS_A, dec=dec, at=T0 + STEP)
    assert only_observation(between).target_id == "244660274"
    out = decode(TYPE5_FRAG1, dec=dec, at=T0 + 2 * STEP)
    assert [m.name for m in out.messages if isinstance(m, VesselStatic)] == ["SEA ENTERPRISE"]
    assert not out.rejects


def test_orphan_fragment_is_dropped_after_the_timeout() -> None:
    dec = decoder(fragment_timeout_s=10.0)
    assert decode(TYPE5_FRAG2, dec=dec) == Decoded()
    assert decode(CLASS_A, dec=dec, at=T0 + timedelta(seconds=10)).rejects == []
    out = decode(CLASS_A, dec=dec, at=T0 + timedelta(seconds=10.5))
    assert len(out.messages) == 1
    assert [(r.reason, r.raw) for r in out.rejects] == [("incomplete_multipart", TYPE5_FRAG2)]
    late = decode(TYPE5_FRAG1, dec=dec, at=T0 + timedelta(seconds=11))  # its partner is gone: waits alone
    assert late == Decoded()


def test_fragment_superseded_by_a_new_message_with_the_same_id() -> None:
    dec = decoder()
    decode(TYPE5_FRAG1, dec=dec)
    out = decode(TYPE5_FRAG1, TYPE5_FRAG2, dec=dec)
    assert [r.reason for r in out.rejects] == ["incomplete_multipart"]
    assert len(out.messages) == 1


def test_too_many_open_groups_drop_the_oldest() -> None:
    dec = decoder(max_open_groups=2)
    frags = [nmea(f"!AIVDM,2,1,{i},A,55R3Vn82=ILTQ3KKS>1<D60Dq@E918U<F222221J1`?164vc03S1CCAD,0") for i in range(3)]
    for i, f in enumerate(frags[:2]):
        assert decode(f, dec=dec, at=T0 + i * STEP) == Decoded()
    out = decode(frags[2], dec=dec, at=T0 + 2 * STEP)
    assert [(r.reason, r.raw) for r in out.rejects] == [("incomplete_multipart", frags[0])]


# --- sentence layer -----------------------------------------------------------------------------


def test_literal_checksum() -> None:
    assert reduce(xor, b"s:rcv01,c:1585312871", 0) == 0x5D


def test_tag_block_time_is_used() -> None:
    obs = only_observation(decode(TAGGED, at=T0))
    assert obs.time == datetime.fromtimestamp(1585312871, UTC)
    assert obs.raw == TAGGED
    assert only_observation(decode(CLASS_A, at=T0)).time == T0
    line = with_tag_block(CLASS_A.decode(), datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert only_observation(decode(line)).time == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    ms = b"\\s:rcv01,c:1585312871123*6D\\" + CLASS_A  # milliseconds, as some receivers send
    assert only_observation(decode(ms)).time == datetime.fromtimestamp(1585312871.123, UTC)


def test_a_whole_second_tag_is_refined_by_an_arrival_within_that_second() -> None:
    second = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    line = with_tag_block(CLASS_A.decode(), second)
    within = second + timedelta(milliseconds=730)
    assert only_observation(decode(line, at=within)).time == within  # live: the finer stamp
    later = second + timedelta(seconds=3)
    assert only_observation(decode(line, at=later)).time == second  # replayed or delayed: the tag
    early = second - timedelta(milliseconds=200)
    assert only_observation(decode(line, at=early)).time == second  # receiver clock ahead: the tag
    ms = b"\\s:rcv01,c:1585312871123*6D\\" + CLASS_A
    arrival = datetime.fromtimestamp(1585312871.5, UTC)
    assert only_observation(decode(ms, at=arrival)).time == datetime.fromtimestamp(1585312871.123, UTC)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"\\s:rcv01,c:1585312871*5E\\" + CLASS_A, "bad_checksum"),
        (b"\\s:rcv01,c:1585312871*5D" + CLASS_A, "malformed"),
        (CLASS_A[:-2] + b"28", "bad_checksum"),
        (CLASS_A[:-3], "bad_checksum"),
        (CLASS_A.replace(b"13aDp", b"13aDq"), "bad_checksum"),
        (b"$GPGGA,213950.00,5250.53669,N,00542.34920,E,1,09,1.03,-6.0,M,45.8,M,,*7B", "not_ais"),
        (b"$PGRME,15.0,M,45.0,M,25.0,M*1C", "not_ais"),
        (b"hello world", "malformed"),
        (b"!AIVDM\xff,1,1", "malformed"),
        (nmea("!AIVDM,1,1,,B,13aDp<PP000IwSlN?Wm@0?wN2<1T"), "malformed"),
        (nmea("!AIVDM,1,1,,B,13aDp<PP000IwSlN?Wm@0?wN2<1x,0"), "malformed"),
        (nmea("!AIVDM,3,4,,B,13aDp<PP000IwSlN?Wm@0?wN2<1T,0"), "malformed"),
        (nmea("!AIVDM,1,1,,B,13aDp<PP000IwSlN?Wm@0?wN2<1T,7"), "malformed"),
        (nmea("!AIVDM,1,1,,B,13aDp<PP000IwSlN?Wm,0"), "short_payload"),
        (b"!AIVDM,1,1,,A,H3KLehdt00000000?6ekkjm000000,0*2C", "invalid_part_number"),
        (b"!AIVDM,1,1,,A,402B4L0000Htt1Lg@6FV5vG01d7N,0*06", "base_station"),
        (b"!AIVDM,1,1,,B,839FEj0j2d<dtuuMMj9PqgbP00P0,0*19", "unsupported_type"),
    ],
)
def test_rejects(line: bytes, reason: str) -> None:
    out = decode(line)
    assert out.messages == []
    assert [r.reason for r in out.rejects] == [reason]
    assert out.rejects[0].raw == line.strip()
    assert reason in REJECT_REASONS


def test_other_talkers_and_own_ship() -> None:
    for talker, kind in [("BS", "VDM"), ("AB", "VDM"), ("AI", "VDO")]:
        (line,) = encode_dict({"type": 1, "mmsi": 211000001, "lon": 28.5, "lat": 47.5}, talker, kind)
        assert only_observation(decode(line)).target_id == "211000001"


# --- "not available" values and special targets --------------------------------------------------


def test_position_not_available_gives_no_observation() -> None:
    for lon, lat in [(181.0, 91.0), (181.0, 47.0), (28.0, 91.0), (0.0, 0.0)]:
        (line,) = encode_dict({"type": 1, "mmsi": 255000001, "lon": lon, "lat": lat, "speed": 3.0, "course": 90})
        out = decode(line)
        assert out.messages == [] and [r.reason for r in out.rejects] == ["position_unavailable"]
    (line,) = encode_dict({"type": 18, "mmsi": 255000001, "lon": 200.0, "lat": 47.0})
    assert [r.reason for r in decode(line).rejects] == ["bad_position"]


def test_heading_speed_course_not_available() -> None:
    base = {"type": 1, "mmsi": 255000001, "lon": 28.9, "lat": 47.1}
    obs = only_observation(decode(*encode_dict({**base, "heading": 511, "speed": 4.0, "course": 45.0})))
    assert obs.heading_deg is None
    assert obs.velocity is not None and obs.velocity.speed_mps == pytest.approx(4.0 * KNOT_MPS)
    obs = only_observation(decode(*encode_dict({**base, "heading": 90, "speed": 102.3, "course": 45.0})))
    assert obs.heading_deg == 90.0 and obs.velocity is None
    obs = only_observation(decode(*encode_dict({**base, "heading": 90, "speed": 4.0, "course": 360.0})))
    assert obs.velocity is None
    assert obs.position is not None and (obs.position.lon, obs.position.lat) == (28.9, 47.1)
    assert obs.position.accuracy_m == 30.0  # accuracy flag 0
    (line,) = encode_dict({"type": 27, "mmsi": 255000001, "lon": 28.9, "lat": 47.1, "speed": 63, "course": 511})
    obs = only_observation(decode(line))
    assert obs.velocity is None and obs.position is not None and obs.position.accuracy_m == 200.0


def test_man_overboard_device_is_a_person_and_virtual_aton_is_refused() -> None:
    obs = only_observation(decode(*encode_position(972123456, 28.9, 47.1, 1.0, 80.0)))
    assert (obs.target_class, obs.status) == (TargetClass.PERSON, "man_overboard")
    sart = only_observation(decode(*encode_position(970123456, 28.9, 47.1, 1.0, 80.0, status=14)))
    assert (sart.target_class, sart.status) == (TargetClass.VESSEL, "ais_sart")
    aton: dict[str, Any] = {
        "type": 21,
        "mmsi": 992411001,
        "name": "BUOY 1",
        "lon": 28.9,
        "lat": 47.1,
        "virtual_aid": True,
    }
    out = decode(*encode_dict(aton))
    assert out.messages == [] and [r.reason for r in out.rejects] == ["virtual_aton"]
    out = decode(*encode_dict({**aton, "virtual_aid": False, "off_position": True, "accuracy": True}))
    obs = next(m for m in out.messages if isinstance(m, Observation))
    assert (obs.status, obs.target_class, obs.class_confidence) == ("aton_off_position", TargetClass.UNKNOWN, 0.0)
    assert obs.position is not None and obs.position.accuracy_m == 10.0


# --- encoders -------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    mmsi=st.integers(200_000_000, 775_999_999),
    lon=st.floats(26.0, 30.5),
    lat=st.floats(45.0, 48.6),
    sog_kn=st.none() | st.floats(0, 102.2),
    cog_deg=st.none() | st.floats(0, 360, exclude_max=True),
    heading_deg=st.none() | st.integers(0, 359),
    msg_type=st.sampled_from([1, 18]),
)
def test_position_round_trip(
    mmsi: int,
    lon: float,
    lat: float,
    sog_kn: float | None,
    cog_deg: float | None,
    heading_deg: int | None,
    msg_type: Any,
) -> None:
    obs = only_observation(decode(*encode_position(mmsi, lon, lat, sog_kn, cog_deg, heading_deg, msg_type=msg_type)))
    assert obs.target_id == str(mmsi) and obs.sensor_kind is SensorKind.AIS
    assert obs.position is not None
    tolerance_deg = 0.5 / 600000 + 0.5e-6  # half a 1/10000 minute step, plus pyais rounding to 1e-6
    assert obs.position.lon == pytest.approx(lon, abs=tolerance_deg)
    assert obs.position.lat == pytest.approx(lat, abs=tolerance_deg)
    assert obs.heading_deg == (None if heading_deg is None else float(heading_deg))
    if sog_kn is None or cog_deg is None:
        assert obs.velocity is None
    else:
        assert obs.velocity is not None
        assert obs.velocity.speed_mps == pytest.approx(sog_kn * KNOT_MPS, abs=0.051 * KNOT_MPS)
        assert abs((obs.velocity.course_deg - cog_deg + 180) % 360 - 180) <= 0.051  # 359.96 -> 0.0


def test_static_round_trip() -> None:
    lines = encode_static(214180000, "Nistru 7", "ER2345", 52, 31.4, 8.0, 9123456, "Soroca", seq_id=3)
    assert len(lines) == 2 and lines[0].startswith("!AIVDM,2,1,3,A,")
    (s,) = decode(*lines).messages
    assert isinstance(s, VesselStatic)
    assert (s.mmsi, s.name, s.callsign, s.ship_type, s.imo, s.destination) == (
        214180000,
        "NISTRU 7",
        "ER2345",
        52,
        9123456,
        "SOROCA",
    )
    assert (s.length_m, s.beam_m) == (31.0, 8.0)
    part_a, part_b = decode(*encode_static(272100200, "Дніпро", None, 37, 9.0, 3.0, class_b=True)).messages
    assert isinstance(part_a, VesselStatic) and isinstance(part_b, VesselStatic)
    assert (part_a.name, part_a.callsign, part_a.length_m) == ("??????", None, None)
    assert (part_b.name, part_b.callsign, part_b.ship_type, part_b.length_m, part_b.beam_m) == (
        None,
        None,
        37,
        9.0,
        3.0,
    )


def test_config_defaults_and_type_tag() -> None:
    cfg = AisConfig.model_validate({"id": "ua-ais-2", "agency": "UA", "type": "ais"})
    assert (cfg.fragment_timeout_s, cfg.high_accuracy_m, cfg.low_accuracy_m, cfg.class_confidence) == (
        10.0,
        10.0,
        30.0,
        0.95,
    )
    dec = AisDecoder(cfg)
    assert (dec.kind, dec.framing) == (SensorKind.AIS, Framing.LINES)


# --- fuzz -----------------------------------------------------------------------------------------

REAL = [line for name in FILES for line in sentences(name)][::7] + [TYPE5_FRAG1, TYPE5_FRAG2, TAGGED]


@dataclass
class Recording:
    """Wraps the decoder and counts what it returned, to compare with the adapter's counters."""

    inner: AisDecoder
    kind: SensorKind = SensorKind.AIS
    framing: Framing = Framing.LINES
    rejects: int = 0
    messages: int = 0

    def decode(self, frame: bytes, received_at: datetime) -> Decoded:
        out = self.inner.decode(frame, received_at)
        self.rejects += len(out.rejects)
        self.messages += len(out.messages)
        return out


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    line = bytearray(draw(st.sampled_from(REAL)))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(line)))
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        if action == "flip" and i < len(line):
            line[i] = draw(st.integers(0, 255))
        elif action == "cut":
            del line[i:]
        elif action == "insert":
            line[i:i] = draw(st.binary(min_size=1, max_size=4))
        elif i < len(line):
            del line[i]
    return bytes(line)


@settings(max_examples=300, deadline=None)
@given(frames=st.lists(st.binary(max_size=100) | mutated() | st.sampled_from(REAL), min_size=1, max_size=12))
def test_fuzz_through_adapter(frames: list[bytes]) -> None:
    recording = Recording(decoder(fragment_timeout_s=0.5, max_open_groups=3))
    sunk: list[SensorMessage] = []
    clock = ManualClock(T0)
    adapter = SensorAdapter("md-ais-1", recording, sunk.append, clock, agency="MD")
    for i, frame in enumerate(frames):
        adapter.ingest(frame, T0 + i * STEP)
    health = adapter.health()
    assert "decoder_error" not in health.rejected
    assert set(health.rejected) <= set(REJECT_REASONS)
    assert sum(health.rejected.values()) == recording.rejects
    assert health.accepted == recording.messages == len(sunk)
