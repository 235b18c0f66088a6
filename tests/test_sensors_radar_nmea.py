"""Shore radar NMEA 0183 decoder (TTM/TLL) and its encoders: exact values from hand-written
sentences in the real format, rejects by reason, round trips, and a fuzz through the adapter."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from functools import reduce

import pynmea2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sensors.adapter import Framing, SensorAdapter
from sensors.config import Site
from sensors.model import Decoded, Observation, SensorKind, SensorMessage, TargetClass
from sensors.radar_nmea import RadarNmeaConfig, RadarNmeaDecoder, encode_tll, encode_ttm

SITE = Site(lon=28.8353, lat=47.0245, height_m=25.0)
AT = datetime(2024, 5, 17, 12, 5, 31, tzinfo=UTC)
KNOT_MPS = 1852 / 3600

# Sentences written out in the NMEA 0183 format; checksums computed once with ``checksum`` below
# and asserted by test_literal_checksums (an independent XOR, not pynmea2).
TTM_NM = "$RATTM,05,1.25,123.4,T,8.5,250.0,T,0.30,6.2,N,,T,,120530.50,A*0D"
TTM_KM = "$RATTM,07,2.5,45.0,T,18.0,90.0,T,,,K,,T,,,A*1D"
TTM_MI = "$IITTM,08,0.5,300.0,T,10.0,0.0,T,,,S,,Q,,,M*11"
TTM_REL = "$RATTM,09,1.00,350.0,R,5.0,340.0,R,,,N,,T,,,A*15"
TTM_LOST = "$RATTM,10,0.40,200.0,T,0.0,0.0,T,,,N,,L,,,A*06"
TTM_V2 = "$RATTM,11,0.80,10.0,T,,,T,,,N,,T,*61"  # NMEA 0183 v2: 13 fields, no time
TTM_2359 = "$RATTM,12,1.50,90.0,T,3.0,180.0,T,,,N,,T,,235959.50,A*07"
TTM_0000 = "$RATTM,13,1.50,90.0,T,3.0,180.0,T,,,N,,T,,000000.50,A*07"
TLL_NE = "$RATLL,01,4807.038,N,01131.000,E,TGT01,225444.00,T,*6E"
TLL_SW = "$RATLL,02,4707.500,S,02845.750,W,,080000,L,*11"
GGA = "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47"
XDR = "$RAXDR,C,12.3,C,AIRTEMP*15"

REJECTS = {
    "$RATTM,05,1.25,123.4,T,8.5,250.0,T,0.30,6.2,N,,T,,120530.50,A*0E": "bad_checksum",
    "$RATTM,05,1.25,123.4,T,8.5,250.0,T,0.30,6.2,N,,T,,120530.50,A": "bad_checksum",
    "$RATTM,05,1.35,123.4,T,8.5,250.0,T,0.30,6.2,N,,T,,120530.50,A*0D": "bad_checksum",
    "$RATTM,05,,123.4,T,8.5,250.0,T,,,N,,T,,120530.50,A*22": "missing_field",
    "$RATTM,05,1.25,,T,8.5,250.0,T,,,N,,T,,120530.50,A*10": "missing_field",
    "$RATTM,,1.25,123.4,T,8.5,250.0,T,,,N,,T,,120530.50,A*3F": "missing_field",
    "$RATTM,05,1.25,123.4,T,8.5,250.0,T,,,,,T,,120530.50,A*74": "missing_field",
    "$RATLL,01,,N,01131.000,E,,225444.00,T,*36": "missing_field",
    "$RATTM,05,1.25,123.4,T,8.5,250.0,T,,,M,,T,,120530.50,A*39": "bad_units",
    "$RATTM,05,1.25,123.4,M,8.5,250.0,T,,,N,,T,,120530.50,A*23": "bad_units",
    "$RATTM,05,1.25,123.4,T,8.5,250.0,X,,,N,,T,,120530.50,A*36": "bad_units",
    "$RATTM,05,-1.25,123.4,T,8.5,250.0,T,,,N,,T,,120530.50,A*17": "bad_value",
    "$RATTM,05,1.25,360.0,T,8.5,250.0,T,,,N,,T,,120530.50,A*3B": "bad_value",
    "$RATTM,05,1.25,123.4,T,-8.5,250.0,T,,,N,,T,,120530.50,A*17": "bad_value",
    "$RATTM,05,1.25,123.4,T,8.5,250.0,T,,,N,,Z,,120530.50,A*34": "bad_value",
    "$RATTM,05,1.25,123.4,T,8.5,250.0,T,,,N,,T,,250530.50,A*3E": "bad_value",
    "$RATTM,05,abc,123.4,T,8.5,250.0,T,,,N,,T,,120530.50,A*42": "bad_value",
    "$RATLL,01,9107.038,N,01131.000,E,,225444.00,T,*2C": "bad_value",
    "$RATLL,01,4861.000,N,01131.000,E,,225444.00,T,*23": "bad_value",
    "$RATLL,01,4807.038,X,01131.000,E,,225444.00,T,*3E": "bad_value",
    "$RATLL,01,4807.038,N,18031.000,E,,225444.00,T,*21": "bad_value",
    GGA: "not_radar",
    XDR: "not_radar",
    "!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*23": "not_radar",
    "hello radar": "parse_error",
    "$RATTM": "parse_error",
    "$RATTM,05,1.25*0D*0D": "parse_error",
}


def checksum(body: str) -> str:
    """NMEA 0183 checksum: XOR of the characters between '$' and '*', two hex digits."""
    return f"{reduce(lambda acc, ch: acc ^ ord(ch), body, 0):02X}"


def with_checksum(body: str) -> str:
    return f"${body}*{checksum(body)}"


def make_decoder(heading_deg: float | None = 0.0) -> RadarNmeaDecoder:
    return RadarNmeaDecoder(RadarNmeaConfig(id="md-radar-1", agency="MD", site=SITE, heading_deg=heading_deg))


def decode_one(line: str, at: datetime = AT, heading_deg: float | None = 0.0) -> Observation:
    decoded = make_decoder(heading_deg).decode(line.encode(), at)
    assert decoded.rejects == [], decoded.rejects
    assert len(decoded.messages) == 1
    obs = decoded.messages[0]
    assert isinstance(obs, Observation)
    return obs


def test_literal_checksums() -> None:
    for line in [TTM_NM, TTM_KM, TTM_MI, TTM_REL, TTM_LOST, TTM_V2, TTM_2359, TTM_0000, TLL_NE, TLL_SW, GGA, XDR]:
        body, cs = line[1:].split("*")
        assert checksum(body) == cs, line


def test_ttm_nautical_miles_knots_true() -> None:
    obs = decode_one(TTM_NM)
    assert obs.sensor_id == "md-radar-1" and obs.sensor_kind is SensorKind.RADAR
    assert obs.position is None and obs.bearing is not None
    b = obs.bearing
    assert (b.origin_lon, b.origin_lat) == (28.8353, 47.0245)
    assert b.bearing_deg == 123.4 and b.bearing_sd_deg == 0.5
    assert b.range_m == 1.25 * 1852 == 2315.0 and b.range_sd_m == 20.0
    assert obs.velocity is not None
    assert obs.velocity.speed_mps == pytest.approx(8.5 * KNOT_MPS, abs=1e-12)
    assert obs.velocity.speed_mps == pytest.approx(4.372778, abs=1e-6)
    assert obs.velocity.course_deg == 250.0
    assert obs.time == datetime(2024, 5, 17, 12, 5, 30, 500000, tzinfo=UTC)
    assert obs.target_id == "md-radar-1:5"
    assert obs.status == "tracking"
    assert obs.target_class is TargetClass.UNKNOWN and obs.class_confidence == 0.0
    assert obs.raw == TTM_NM.encode()


def test_ttm_kilometres_and_statute_miles() -> None:
    km = decode_one(TTM_KM)
    assert km.bearing is not None and km.velocity is not None
    assert km.bearing.range_m == 2500.0 and km.bearing.bearing_deg == 45.0
    assert km.velocity.speed_mps == pytest.approx(5.0, abs=1e-12)  # 18 km/h
    assert km.velocity.course_deg == 90.0
    assert km.time == AT  # no UTC field: reception time
    mi = decode_one(TTM_MI)  # talker II, not RA
    assert mi.bearing is not None and mi.velocity is not None
    assert mi.bearing.range_m == pytest.approx(804.672, abs=1e-9)  # 0.5 statute mile
    assert mi.velocity.speed_mps == pytest.approx(4.4704, abs=1e-12)  # 10 mph
    assert mi.bearing.bearing_deg == 300.0 and mi.velocity.course_deg == 0.0
    assert mi.target_id == "md-radar-1:8" and mi.status == "acquiring"


def test_relative_bearing_and_course_use_reference_heading() -> None:
    obs = decode_one(TTM_REL, heading_deg=30.0)
    assert obs.bearing is not None and obs.velocity is not None
    assert obs.bearing.bearing_deg == pytest.approx(20.0, abs=1e-9)  # 350 + 30 wraps
    assert obs.velocity.course_deg == pytest.approx(10.0, abs=1e-9)  # 340 + 30 wraps
    north_up = decode_one(TTM_REL)
    assert north_up.bearing is not None and north_up.bearing.bearing_deg == 350.0
    decoded = make_decoder(heading_deg=None).decode(TTM_REL.encode(), AT)
    assert [r.reason for r in decoded.rejects] == ["bad_units"] and decoded.messages == []


def test_status_mapping_and_old_ttm() -> None:
    assert decode_one(TTM_NM).status == "tracking"
    assert decode_one(TTM_MI).status == "acquiring"
    lost = decode_one(TTM_LOST)
    assert lost.status == "lost" and lost.target_id == "md-radar-1:10"
    assert lost.velocity is not None and lost.velocity.speed_mps == 0.0
    old = decode_one(TTM_V2)
    assert old.bearing is not None and old.bearing.range_m == pytest.approx(0.8 * 1852, abs=1e-9)
    assert old.velocity is None and old.time == AT and old.status == "tracking"


def test_tll_positions() -> None:
    ne = decode_one(TLL_NE)
    assert ne.bearing is None and ne.position is not None and ne.velocity is None
    assert ne.position.lat == pytest.approx(48.1173, abs=1e-6)
    assert ne.position.lon == pytest.approx(11.516666, abs=1e-6)
    assert ne.position.accuracy_m == 25.0
    assert ne.target_id == "md-radar-1:1" and ne.status == "tracking"
    assert ne.time == datetime(2024, 5, 17, 22, 54, 44, tzinfo=UTC)  # nearer than 2024-05-16 22:54
    sw = decode_one(TLL_SW)
    assert sw.position is not None
    assert sw.position.lat == pytest.approx(-(47 + 7.5 / 60), abs=1e-9)
    assert sw.position.lon == pytest.approx(-(28 + 45.75 / 60), abs=1e-9)
    assert sw.status == "lost" and sw.time == datetime(2024, 5, 17, 8, 0, 0, tzinfo=UTC)


def test_tll_and_ttm_of_one_track_share_the_target_id() -> None:
    ttm = decode_one(with_checksum("RATTM,01,0.50,10.0,T,,,T,,,N,,T,,120000.00,A"))
    assert ttm.target_id == decode_one(TLL_NE).target_id == "md-radar-1:1"


def test_midnight_wrap() -> None:
    after_midnight = datetime(2024, 5, 18, 0, 0, 1, tzinfo=UTC)
    assert decode_one(TTM_2359, at=after_midnight).time == datetime(2024, 5, 17, 23, 59, 59, 500000, tzinfo=UTC)
    before_midnight = datetime(2024, 5, 17, 23, 59, 59, 900000, tzinfo=UTC)
    assert decode_one(TTM_0000, at=before_midnight).time == datetime(2024, 5, 18, 0, 0, 0, 500000, tzinfo=UTC)
    assert decode_one(TTM_2359, at=before_midnight).time == datetime(2024, 5, 17, 23, 59, 59, 500000, tzinfo=UTC)


@pytest.mark.parametrize(("line", "reason"), list(REJECTS.items()))
def test_rejects_with_reason(line: str, reason: str) -> None:
    decoded = make_decoder().decode(line.encode(), AT)
    assert decoded.messages == []
    assert [r.reason for r in decoded.rejects] == [reason]
    assert decoded.rejects[0].raw == line.encode()
    assert decoded.rejects[0].detail and "\n" not in decoded.rejects[0].detail


def test_non_ascii_is_a_parse_error() -> None:
    decoded = make_decoder().decode("$RATTM,05,1.25,123.4°,T*00".encode(), AT)
    assert [r.reason for r in decoded.rejects] == ["parse_error"]


def test_config_requires_site_and_checks_values() -> None:
    with pytest.raises(ValidationError, match="site"):
        RadarNmeaConfig(id="r", agency="UA")
    with pytest.raises(ValidationError):
        RadarNmeaConfig(id="r", agency="UA", site=SITE, heading_deg=360.0)
    with pytest.raises(ValidationError):
        RadarNmeaConfig(id="r", agency="UA", site=SITE, range_sd_m=0)
    cfg = RadarNmeaConfig(id="r", agency="UA", site=SITE)
    assert (cfg.type, cfg.heading_deg, cfg.range_sd_m, cfg.bearing_sd_deg, cfg.tll_accuracy_m) == (
        "radar_nmea",
        0.0,
        20.0,
        0.5,
        25.0,
    )
    dec = RadarNmeaDecoder(cfg)
    assert dec.kind is SensorKind.RADAR and dec.framing is Framing.LINES


def test_encoders_exact_text() -> None:
    when = datetime(2024, 5, 17, 12, 5, 30, 500000, tzinfo=UTC)
    ttm = encode_ttm(5, 2315.0, 123.4, 8.5 * KNOT_MPS, 250.0, "tracking", when)
    assert ttm == with_checksum("RATTM,05,1.250,123.4,T,8.5,250.0,T,,,N,,T,,120530.50,A")
    tll = encode_tll(1, 11.0 + 31 / 60, 48.0 + 7.038 / 60, "lost", when, talker="II")
    assert tll == with_checksum("IITLL,01,4807.0380,N,01131.0000,E,,120530.50,L,")
    assert encode_ttm(1, 0.0, 359.97, 0.0, -0.01, "acquiring", when, units="K").split(",")[3:7] == [
        "0.0",
        "T",
        "0.0",
        "0.0",
    ]
    with pytest.raises(ValueError):
        encode_ttm(1, -1.0, 0.0, 0.0, 0.0, "tracking", when)
    with pytest.raises(ValueError):
        encode_ttm(1, 1.0, 0.0, 0.0, 0.0, "tracking", when, units="X")
    with pytest.raises(ValueError):
        encode_tll(1, 0.0, 0.0, "gone", when)


def angle_diff_deg(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


times = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC))


@settings(max_examples=150, deadline=None)
@given(
    number=st.integers(0, 999),
    range_m=st.floats(0, 50_000),
    bearing_deg=st.floats(-720, 720),
    speed_mps=st.floats(0, 40),
    course_deg=st.floats(0, 360, exclude_max=True),
    status=st.sampled_from(["tracking", "acquiring", "lost"]),
    when=times,
    units=st.sampled_from(["N", "K", "S"]),
    talker=st.sampled_from(["RA", "II"]),
)
def test_ttm_round_trip(
    number: int,
    range_m: float,
    bearing_deg: float,
    speed_mps: float,
    course_deg: float,
    status: str,
    when: datetime,
    units: str,
    talker: str,
) -> None:
    line = encode_ttm(number, range_m, bearing_deg, speed_mps, course_deg, status, when, units, talker)
    assert pynmea2.parse(line, check=True).sentence_type == "TTM"
    unit_m = {"N": 1852.0, "K": 1000.0, "S": 1609.344}[units]
    obs = decode_one(line, at=when + timedelta(seconds=0.7))
    assert obs.bearing is not None and obs.velocity is not None
    assert obs.bearing.range_m == pytest.approx(range_m, abs=0.0005 * unit_m + 1e-9)
    assert angle_diff_deg(obs.bearing.bearing_deg, bearing_deg) <= 0.05 + 1e-9
    assert obs.velocity.speed_mps == pytest.approx(speed_mps, abs=0.05 * unit_m / 3600 + 1e-9)
    assert angle_diff_deg(obs.velocity.course_deg, course_deg) <= 0.05 + 1e-9
    assert abs((obs.time - when).total_seconds()) <= 0.005 + 1e-6
    assert obs.target_id == f"md-radar-1:{number}" and obs.status == status


@settings(max_examples=150, deadline=None)
@given(
    number=st.integers(0, 99),
    lon=st.floats(-180, 180),
    lat=st.floats(-90, 90),
    status=st.sampled_from(["tracking", "acquiring", "lost"]),
    when=times,
)
def test_tll_round_trip(number: int, lon: float, lat: float, status: str, when: datetime) -> None:
    line = encode_tll(number, lon, lat, status, when)
    obs = decode_one(line, at=when - timedelta(seconds=2))
    assert obs.position is not None
    tolerance_deg = 0.00005 / 60 + 1e-12  # half of 0.0001 minute
    assert obs.position.lat == pytest.approx(lat, abs=tolerance_deg)
    assert obs.position.lon == pytest.approx(lon, abs=tolerance_deg)
    assert abs((obs.time - when).total_seconds()) <= 0.005 + 1e-6
    assert obs.target_id == f"md-radar-1:{number}" and obs.status == status


class FixedClock:
    def now(self) -> datetime:
        return AT


class Recording:
    """Wraps the decoder to count the rejects it returned, to compare with the adapter's counts."""

    def __init__(self, inner: RadarNmeaDecoder) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.framing = inner.framing
        self.rejects = 0
        self.messages = 0

    def decode(self, frame: bytes, received_at: datetime) -> Decoded:
        decoded = self.inner.decode(frame, received_at)
        self.rejects += len(decoded.rejects)
        self.messages += len(decoded.messages)
        assert len(decoded.rejects) + len(decoded.messages) == 1  # one line, one outcome
        return decoded


REAL = [TTM_NM, TTM_KM, TTM_MI, TTM_REL, TTM_LOST, TTM_V2, TTM_2359, TTM_0000, TLL_NE, TLL_SW]
FIELD_TEXT = st.text(alphabet="0123456789.-+eENSWTRQLKMX ", max_size=12)


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes:
    """A real sentence with bytes flipped/cut, or with one field replaced and the checksum redone
    (so the mutation reaches the field checks, not just the checksum)."""
    line = draw(st.sampled_from(REAL))
    if draw(st.booleans()):
        data = bytearray(line.encode())
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data[: draw(st.integers(0, len(data)))])
    fields = line[1:].split("*")[0].split(",")
    index = draw(st.integers(0, len(fields) - 1))
    fields[index] = draw(FIELD_TEXT) if index else draw(st.sampled_from(["RATTM", "IITLL", "GPGGA", "RA", ""]))
    return with_checksum(",".join(fields)).encode()


@settings(max_examples=400, deadline=None)
@given(frames=st.lists(st.one_of(st.binary(max_size=120), mutated_frames()), min_size=1, max_size=10))
def test_fuzz_through_adapter(frames: list[bytes]) -> None:
    recording = Recording(make_decoder(heading_deg=15.0))
    sunk: list[SensorMessage] = []
    adapter = SensorAdapter("md-radar-1", recording, sunk.append, FixedClock(), agency="MD")
    for frame in frames:
        adapter.ingest(frame, AT)
    health = adapter.health()
    assert "decoder_error" not in health.rejected
    assert sum(health.rejected.values()) == recording.rejects
    assert health.accepted == recording.messages == len(sunk)
    assert recording.rejects + recording.messages == len(frames)
    for m in sunk:
        assert isinstance(m, Observation)
        assert m.bearing is None or (m.bearing.range_m is not None and math.isfinite(m.bearing.range_m))
