"""ASTERIX CAT010/CAT062 decoder and encoder.

Records are written by hand, octet by octet, from the EUROCONTROL item definitions (FSPEC bits
and item layouts named in the comments), then decoded and checked against exact values. The
encoder is checked by round trips through the decoder, and the decoder by a fuzz through the
adapter. (No recorded ASTERIX traffic with a usable licence is in tests/data.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pyproj import Geod

from sensors.adapter import SensorAdapter
from sensors.asterix import (
    ANGLE_LSB_DEG,
    METRES_PER_NM,
    SPEED_LSB_NMPS,
    WGS84_LSB_010_DEG,
    WGS84_LSB_062_DEG,
    AsterixConfig,
    AsterixDecoder,
    time_of_day_to_utc,
)
from sensors.asterix_encode import (
    Cat010Report,
    Cat062Track,
    TrackStatus,
    cat010_block,
    cat062_block,
    data_block,
    fspec,
)
from sensors.config import Site
from sensors.model import Observation, SensorMessage, TargetClass

SITE = Site(lon=27.80, lat=48.45)  # the radar, on the Dniester near Mohyliv-Podilskyi
AT = datetime(2024, 5, 1, 12, 0, 3, tzinfo=UTC)  # when the datagrams arrive
GEOD = Geod(ellps="WGS84")

# CAT010 record A: WGS-84 position, polar velocity, confirmed track.
REC_A = bytes(
    [
        0xF9,  # FSPEC 1: FRN1 I010/010, FRN2 I010/000, FRN3 I010/020, FRN4 I010/140, FRN5 I010/041, FX
        0xB0,  # FSPEC 2: FRN8 I010/200, FRN10 I010/161, FRN11 I010/170, no FX
        0x07, 0x15,  # I010/010 SAC 7, SIC 21
        0x01,  # I010/000 message type 1: target report
        0x60,  # I010/020 TYP 011 = PSR, no FX
        0x54, 0x60, 0x40,  # I010/140 time of day 5529664 / 128 s = 12:00:00.5
        0x22, 0x74, 0x47, 0x2F,  # I010/041 latitude 578045743 * 180/2^31 deg = 48.4512345 N
        0x13, 0xC3, 0x3D, 0x66,  # longitude 331562342 * 180/2^31 deg = 27.7912345 E
        0x00, 0x40, 0x40, 0x00,  # I010/200 speed 64 * 2^-14 NM/s = 1/256 NM/s, track angle 0x4000 = 90 deg
        0x01, 0x23,  # I010/161 track number 0x123 = 291
        0x00,  # I010/170 CNF 0 (confirmed), TRE 0, no FX
    ]
)  # fmt: skip

# CAT010 record B: polar position 5000 m at 45 deg, cartesian velocity, tentative track.
REC_B = bytes(
    [
        0xF5,  # FSPEC 1: FRN1 010, FRN2 000, FRN3 020, FRN4 140, FRN6 I010/040, FX
        0x70,  # FSPEC 2: FRN9 I010/202, FRN10 I010/161, FRN11 I010/170
        0x07, 0x15,  # I010/010 SAC 7, SIC 21
        0x01,  # I010/000 target report
        0x60,  # I010/020 PSR
        0x54, 0x60, 0x40,  # I010/140 12:00:00.5
        0x13, 0x88, 0x20, 0x00,  # I010/040 RHO 5000 m, THETA 0x2000 * 360/2^16 = 45 deg
        0xFF, 0xF8, 0x00, 0x0C,  # I010/202 VX -8 * 0.25 = -2 m/s, VY 12 * 0.25 = 3 m/s
        0x00, 0x0C,  # I010/161 track number 12
        0x80,  # I010/170 CNF 1: track in initialisation
    ]
)  # fmt: skip

# CAT010 record C: cartesian position x 3000 m, y -4000 m, last report of the track.
REC_C = bytes(
    [
        0xF3,  # FSPEC 1: FRN1 010, FRN2 000, FRN3 020, FRN4 140, FRN7 I010/042, FX
        0x30,  # FSPEC 2: FRN10 161, FRN11 170
        0x07, 0x15, 0x01, 0x60,  # I010/010 7/21, I010/000 target report, I010/020 PSR
        0x54, 0x60, 0x40,  # I010/140 12:00:00.5
        0x0B, 0xB8, 0xF0, 0x60,  # I010/042 X 3000 m, Y -4000 m (two's complement)
        0x00, 0x0D,  # I010/161 track 13
        0x40,  # I010/170 TRE 1: last report for the track
    ]
)  # fmt: skip

# CAT062 record D: compound items I062/380, 290, 295, 390, 510, 500, 340 around the items read.
REC_D = bytes(
    [
        0xBB,  # FSPEC 1: FRN1 I062/010, FRN3 I062/015, FRN4 I062/070, FRN5 I062/105, FRN7 I062/185, FX
        0x1F,  # FSPEC 2: FRN11 I062/380, FRN12 I062/040, FRN13 I062/080, FRN14 I062/290, FX
        0x43,  # FSPEC 3: FRN16 I062/295, FRN21 I062/390, FX
        0x0E,  # FSPEC 4: FRN26 I062/510, FRN27 I062/500, FRN28 I062/340
        0x01, 0x02,  # I062/010 SAC 1, SIC 2
        0x05,  # I062/015 service 5
        0x07, 0x08, 0x20,  # I062/070 time of track 460832 / 128 s = 01:00:00.25
        0x00, 0x88, 0xE2, 0x6F,  # I062/105 latitude 8970863 * 180/2^25 deg
        0x00, 0x4E, 0xA9, 0x43,  # longitude 5155139 * 180/2^25 deg
        0x00, 0x06, 0xFF, 0xEF,  # I062/185 VX 6 * 0.25 = 1.5 m/s, VY -17 * 0.25 = -4.25 m/s
        0x81, 0x40,  # I062/380 primary: ADR, FX; TID
        0x3C, 0x66, 0x0C,  # I062/380 ADR target address
        0x01, 0x00, 0x00, 0x64, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00,  # TID REP 1, one 15-octet point ...
        0x10, 0x00, 0x0E, 0x10, 0x00, 0x00,  # ... (TCP, altitude, lat, lon, type, TOV, TTR)
        0x12, 0x34,  # I062/040 track number 0x1234 = 4660
        0x01, 0x00,  # I062/080 CNF 0 (confirmed), FX; octet 2: TSE 0
        0x88,  # I062/290 primary: TRK, ADS
        0x04, 0x00, 0x08,  # I062/290 TRK age 1 s (1 octet), ADS age 2 s (2 octets)
        0x81, 0x01, 0x01, 0x02,  # I062/295 primary (4 octets): MFL ... MB (subfield 28)
        0x04, 0x08,  # I062/295 MFL age, MB age
        0xC1, 0x08,  # I062/390 primary: TAG, CSN, FX; TOD
        0x01, 0x02,  # I062/390 TAG SAC/SIC
        0x41, 0x42, 0x43, 0x31, 0x32, 0x33, 0x34,  # I062/390 CSN "ABC1234"
        0x01, 0x40, 0x0C, 0x1E, 0x00,  # I062/390 TOD REP 1, one 4-octet time
        0x01, 0x00, 0x0B, 0x02, 0x00, 0x0C,  # I062/510 two 3-octet parts, FX set in the first
        0xC0,  # I062/500 primary: APC, COV
        0x00, 0x14, 0x00, 0x1E,  # I062/500 APC sigma X 20 * 0.5 = 10 m, sigma Y 30 * 0.5 = 15 m
        0x00, 0x00,  # I062/500 COV
        0x84,  # I062/340 primary: SID, TYP
        0x01, 0x07, 0x20,  # I062/340 SID 1/7, TYP
    ]
)  # fmt: skip

BLOCK_AB = bytes([0x0A, 0x00, 0x2F]) + REC_A + REC_B  # CAT 10, LEN 47 = 3 + 24 + 20
BLOCK_D = bytes([0x3E, 0x00, 0x5D]) + REC_D  # CAT 62, LEN 93 = 3 + 90


def decoder(site: Site | None = SITE) -> AsterixDecoder:
    return AsterixDecoder(AsterixConfig(id="radar-md-1", agency="MD", site=site))


def decode_ok(frame: bytes, at: datetime = AT, site: Site | None = SITE) -> list[Observation]:
    out = decoder(site).decode(frame, at)
    assert out.rejects == []
    assert all(isinstance(m, Observation) for m in out.messages)
    return [m for m in out.messages if isinstance(m, Observation)]


def inverse(obs: Observation) -> tuple[float, float]:
    """(azimuth deg in [0, 360), distance m) from the site to the observation."""
    assert obs.position is not None
    az, _, dist = GEOD.inv(SITE.lon, SITE.lat, obs.position.lon, obs.position.lat)
    return float(az) % 360.0, float(dist)


def test_hand_blocks_have_the_lengths_they_claim() -> None:
    assert (len(REC_A), len(REC_B), len(REC_C), len(REC_D)) == (24, 20, 16, 90)
    assert len(BLOCK_AB) == 0x2F and len(BLOCK_D) == 0x5D


def test_cat010_wgs84_report() -> None:
    (a, _) = decode_ok(BLOCK_AB)
    assert a.position is not None and a.velocity is not None
    assert a.position.lat == pytest.approx(48.4512345, abs=1e-6)
    assert a.position.lon == pytest.approx(27.7912345, abs=1e-6)
    assert a.position.accuracy_m == 20.0  # no I010/500: the configured WGS-84 accuracy
    assert a.time == datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)
    assert a.velocity.speed_mps == pytest.approx(1852 / 256, abs=1e-9)  # 1/256 NM/s
    assert a.velocity.course_deg == 90.0
    assert (a.target_id, a.status) == ("7/21:291", "confirmed")
    assert (a.target_class, a.class_confidence) == (TargetClass.VESSEL, 0.5)
    assert a.raw == bytes([0x0A, 0x00, 0x1B]) + REC_A  # the record as a block of its own


def test_cat010_polar_report() -> None:
    (_, b) = decode_ok(BLOCK_AB)
    assert b.position is not None and b.velocity is not None
    az, dist = inverse(b)
    assert dist == pytest.approx(5000.0, abs=1.0)
    assert az == pytest.approx(45.0, abs=1e-3)
    # 15 m in range and 0.3 deg in azimuth at 5 km: sqrt(15^2 + 26.18^2) m
    assert b.position.accuracy_m == pytest.approx(30.17, abs=0.01)
    assert b.velocity.speed_mps == pytest.approx(math.sqrt(13), abs=1e-9)
    assert b.velocity.course_deg == pytest.approx(360 - math.degrees(math.atan2(2, 3)), abs=1e-9)
    assert (b.target_id, b.status) == ("7/21:12", "tentative")


def test_cat010_cartesian_report_and_end_of_track() -> None:
    (c,) = decode_ok(bytes([0x0A, 0x00, 0x13]) + REC_C)
    az, dist = inverse(c)
    assert dist == pytest.approx(5000.0, abs=1.0)
    assert az == pytest.approx(180 - math.degrees(math.atan2(3000, 4000)), abs=1e-3)  # 143.13 deg
    assert (c.target_id, c.status, c.velocity) == ("7/21:13", "lost", None)


def test_cat010_every_item_of_the_uap_is_skipped_correctly() -> None:
    """All 27 items (FRN 1-28 but the spare 26) in one record, then a second record in the block:
    if any length rule were wrong, the values read or the second record would be garbage."""
    full = bytes(
        [
            0xFF, 0xFF, 0xFF,  # FSPEC 1-3: FRN 1-21, FX on each
            0xF6,  # FSPEC 4: FRN22 I010/500, 23 I010/280, 24 I010/131, 25 I010/210, 27 SP, 28 RE
            0x07, 0x15,  # FRN1 I010/010 7/21
            0x01,  # FRN2 I010/000 target report
            0x61, 0x00,  # FRN3 I010/020 PSR, FX; octet 2: SIM TST RAB LOP TOT all 0
            0x54, 0x60, 0x40,  # FRN4 I010/140 12:00:00.5
            0x22, 0x74, 0x47, 0x2F, 0x13, 0xC3, 0x3D, 0x66,  # FRN5 I010/041 48.4512345 N 27.7912345 E
            0x13, 0x88, 0x20, 0x00,  # FRN6 I010/040 5000 m, 45 deg (WGS-84 wins)
            0x0B, 0xB8, 0xF0, 0x60,  # FRN7 I010/042 3000 m, -4000 m
            0x00, 0x40, 0x40, 0x00,  # FRN8 I010/200 1/256 NM/s, 90 deg
            0xFF, 0xF8, 0x00, 0x0C,  # FRN9 I010/202 (polar velocity wins)
            0x01, 0x23,  # FRN10 I010/161 track 291
            0x01, 0x01, 0x00,  # FRN11 I010/170 confirmed, FX; TOM DOU MRS, FX; GHO
            0x02, 0x00,  # FRN12 I010/060 mode 3/A
            0x3C, 0x66, 0x0C,  # FRN13 I010/220 target address
            0x00, 0x0D, 0x33, 0xB3, 0xC3, 0x7E, 0x20,  # FRN14 I010/245 STI + 8 six-bit characters
            0x02,  # FRN15 I010/250 REP 2, then 2 x 8 octets of Mode S MB data
            0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x20,
            0x11, 0x21, 0x31, 0x41, 0x51, 0x61, 0x71, 0x40,
            0x08,  # FRN16 I010/300 vehicle fleet: police
            0x00, 0x00,  # FRN17 I010/090 flight level
            0x00, 0x10,  # FRN18 I010/091 measured height
            0x0B, 0x41, 0x06,  # FRN19 I010/270 length 5 m FX, orientation 90 deg FX, width 3 m
            0x00,  # FRN20 I010/550 system status
            0x00,  # FRN21 I010/310 pre-programmed message
            0x10, 0x0C, 0x00, 0x00,  # FRN22 I010/500 sigma X 16 * 0.25 = 4 m, sigma Y 3 m, cov 0
            0x03, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,  # FRN23 I010/280 REP 3, 3 x (DRHO, DTHETA)
            0x7F,  # FRN24 I010/131 amplitude
            0x00, 0x00,  # FRN25 I010/210 acceleration
            0x03, 0xAA, 0xBB,  # FRN27 SP: length 3 (counting itself)
            0x02, 0xCC,  # FRN28 RE: length 2
        ]
    )  # fmt: skip
    second = bytes([0xF4, 0x07, 0x15, 0x01, 0x60, 0x54, 0x60, 0x40, 0x13, 0x88, 0x20, 0x00])  # 010 000 020 140 040
    block = bytes([0x0A, 0x00, 0x72]) + full + second  # LEN 114
    assert len(block) == 114
    first, after = decode_ok(block)
    assert first.position is not None and first.velocity is not None
    assert first.position.lat == pytest.approx(48.4512345, abs=1e-6)
    assert first.position.accuracy_m == pytest.approx(5.0)  # I010/500: sqrt(4^2 + 3^2)
    assert first.velocity.speed_mps == pytest.approx(1852 / 256)
    assert (first.target_id, first.status) == ("7/21:291", "confirmed")
    assert after.position is not None and (after.target_id, after.status) == (None, None)
    assert inverse(after)[1] == pytest.approx(5000.0, abs=1.0)


def test_cat062_compound_items_are_skipped_and_items_after_them_read() -> None:
    (d,) = decode_ok(BLOCK_D)
    assert d.position is not None and d.velocity is not None
    assert d.position.lat == pytest.approx(8970863 * WGS84_LSB_062_DEG, abs=1e-12)
    assert d.position.lon == pytest.approx(5155139 * WGS84_LSB_062_DEG, abs=1e-12)
    assert d.position.lat == pytest.approx(48.1234567, abs=WGS84_LSB_062_DEG / 2)
    assert d.position.lon == pytest.approx(27.6543210, abs=WGS84_LSB_062_DEG / 2)
    assert d.position.accuracy_m == pytest.approx(math.hypot(10, 15))  # I062/500 APC
    assert d.time == datetime(2024, 5, 1, 1, 0, 0, 250000, tzinfo=UTC)
    assert (d.target_id, d.status) == ("1/2:4660", "confirmed")
    assert d.velocity.speed_mps == pytest.approx(math.hypot(1.5, 4.25))
    assert d.velocity.course_deg == pytest.approx(180 - math.degrees(math.atan2(1.5, 4.25)))


def test_several_records_per_block_and_blocks_per_datagram() -> None:
    c_block = bytes([0x0A, 0x00, 0x13]) + REC_C
    obs = decode_ok(BLOCK_AB + BLOCK_D + c_block)
    assert [o.target_id for o in obs] == ["7/21:291", "7/21:12", "1/2:4660", "7/21:13"]


def test_bad_blocks_are_rejected_and_the_rest_of_the_datagram_decoded() -> None:
    garbage = bytes([0x30, 0x00, 0x06, 0xDE, 0xAD, 0xBE])  # CAT 48, not ours: skipped by its LEN
    spare_frn = bytes([0x3E, 0x00, 0x06, 0x40, 0x01, 0x02])  # CAT062 FSPEC flags FRN2 (spare)
    short_item = bytes([0x0A, 0x00, 0x08, 0x88, 0x07, 0x15, 0x22, 0x74])  # I010/041 needs 8, 2 left
    fspec_past_end = bytes([0x0A, 0x00, 0x05, 0xFF, 0xFF])  # FX set in the last octet of the block
    truncated = bytes([0x0A, 0x00, 0x40, 0xF4, 0x07, 0x15])  # LEN 64, 6 octets left
    frame = BLOCK_AB + garbage + spare_frn + short_item + fspec_past_end + BLOCK_D + truncated
    out = decoder().decode(frame, AT)
    assert [m.target_id for m in out.messages if isinstance(m, Observation)] == ["7/21:291", "7/21:12", "1/2:4660"]
    reasons = [r.reason for r in out.rejects]
    assert reasons == ["unknown_category", "bad_fspec", "truncated_item", "bad_fspec", "truncated_block"]
    assert out.rejects[0].raw == garbage and out.rejects[-1].raw == truncated


def test_bad_record_drops_the_rest_of_its_block_only() -> None:
    block = bytes([0x0A, 0x00, 0x1D]) + REC_A + bytes([0x02, 0x00])  # 2nd record: FRN7 I010/042, 1 octet of 4
    out = decoder().decode(block + BLOCK_D, AT)
    assert [r.reason for r in out.rejects] == ["truncated_item"]
    assert [m.target_id for m in out.messages if isinstance(m, Observation)] == ["7/21:291", "1/2:4660"]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (bytes([0x0A, 0x00, 0x02, 0x00]), "bad_length"),  # LEN < 3: the stream is lost
        (bytes([0x0A, 0x00]), "bad_length"),  # not even a header
        (bytes([0x0A, 0x00, 0x03]), "bad_length"),  # a block with no record
        (bytes([0x0A, 0x00, 0x04, 0x00]), "bad_fspec"),  # FSPEC flags nothing
        (bytes([0x0A, 0x00, 0x07, 0x01, 0x01, 0x01, 0x08]), "bad_fspec"),  # FSPEC 4: FRN26 (spare) flagged
        (bytes([0x0A, 0x00, 0x08, 0x01, 0x01, 0x01, 0x01, 0x80]), "bad_fspec"),  # FRN29: past the CAT010 UAP
        (bytes([0x0A, 0x00, 0x05, 0x01, 0x01]), "bad_fspec"),  # FX set on the last octet of the block
        (bytes([0x0A, 0x00, 0x08, 0x01, 0x01, 0x01, 0x04, 0x00]), "bad_item"),  # FRN27 SP of length 0
        (bytes([0x3E, 0x00, 0x07, 0x01, 0x10, 0x80, 0x00]), "truncated_item"),  # I062/380 ADR: 1 octet of 3
        (bytes([0x3E, 0x00, 0x08, 0x01, 0x01, 0x01, 0x02, 0x02]), "bad_item"),  # I062/340 spare subfield 7
        (bytes([0x0A, 0x00, 0x0A, 0x84, 0x07, 0x15, 0x13, 0x88, 0x20, 0x00]), "missing_item"),  # no I010/140
        (bytes([0x0A, 0x00, 0x09, 0x90, 0x07, 0x15, 0x54, 0x60, 0x40]), "missing_item"),  # no position
        (bytes([0x0A, 0x00, 0x0D, 0x94, 0x07, 0x15, 0xFF, 0xFF, 0xFF, 0x13, 0x88, 0x20, 0x00]), "bad_value"),
    ],
)
def test_malformed_input_is_rejected_with_its_reason(frame: bytes, reason: str) -> None:
    out = decoder().decode(frame, AT)
    assert out.messages == []
    assert [r.reason for r in out.rejects] == [reason]


def test_wgs84_out_of_range_is_rejected() -> None:
    lat_100 = round(100 * 2**31 / 180).to_bytes(4, "big")  # latitude 100 deg
    rec = bytes([0x98, 0x07, 0x15, 0x54, 0x60, 0x40]) + lat_100 + bytes(4)  # FRN1 010, FRN4 140, FRN5 041
    out = decoder().decode(data_block(10, [rec]), AT)
    assert [r.reason for r in out.rejects] == ["bad_value"]


def test_status_messages_give_nothing_and_test_targets_are_refused() -> None:
    start_of_cycle = bytes([0xD0, 0x07, 0x15, 0x02, 0x54, 0x60, 0x40])  # 010, 000 = 2, 140
    # 010, 000, 020 (PSR, FX; octet 2: SIM = 1 / TOT = 2), 140, 040
    simulated = bytes([0xF4, 0x07, 0x15, 0x01, 0x61, 0x80, 0x54, 0x60, 0x40, 0x13, 0x88, 0x20, 0x00])
    vehicle = bytes([0xF4, 0x07, 0x15, 0x01, 0x61, 0x04, 0x54, 0x60, 0x40, 0x13, 0x88, 0x20, 0x00])
    out = decoder().decode(data_block(10, [start_of_cycle, simulated, vehicle]), AT)
    assert [r.reason for r in out.rejects] == ["test_target"]  # I010/020 SIM set
    (v,) = out.messages
    assert isinstance(v, Observation)
    assert (v.target_class, v.class_confidence) == (TargetClass.VEHICLE, 0.8)  # I010/020 TOT = ground vehicle


def test_polar_position_without_site_is_rejected() -> None:
    out = decoder(site=None).decode(BLOCK_AB, AT)
    assert [r.reason for r in out.rejects] == ["no_site"]
    assert [m.target_id for m in out.messages if isinstance(m, Observation)] == ["7/21:291"]


def test_midnight_wrap() -> None:
    # CAT010 LEN 15; FSPEC 010 000 020 140 040; 7/21, target report, PSR, time of day, 5000 m at 45 deg
    just_before = bytes([0x0A, 0x00, 0x0F, 0xF4, 0x07, 0x15, 0x01, 0x60, 0xA8, 0xBF, 0xC0, 0x13, 0x88, 0x20, 0x00])
    just_after = bytes([0x0A, 0x00, 0x0F, 0xF4, 0x07, 0x15, 0x01, 0x60, 0x00, 0x00, 0x40, 0x13, 0x88, 0x20, 0x00])
    # ToD 86399.5 s (0xA8BFC0 / 128) received at 00:00:01: the day before
    (a,) = decode_ok(just_before, datetime(2024, 5, 2, 0, 0, 1, tzinfo=UTC))
    assert a.time == datetime(2024, 5, 1, 23, 59, 59, 500000, tzinfo=UTC)
    # ToD 0.5 s (0x40 / 128) received at 23:59:59: the day after
    (b,) = decode_ok(just_after, datetime(2024, 5, 1, 23, 59, 59, tzinfo=UTC))
    assert b.time == datetime(2024, 5, 2, 0, 0, 0, 500000, tzinfo=UTC)
    noon = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert time_of_day_to_utc(43199.0, noon) == datetime(2024, 5, 1, 11, 59, 59, tzinfo=UTC)
    assert time_of_day_to_utc(86399.0, datetime(2024, 12, 31, 23, 59, 58, tzinfo=UTC)).day == 31
    assert time_of_day_to_utc(1.0, datetime(2024, 12, 31, 23, 59, 58, tzinfo=UTC)) == datetime(
        2025, 1, 1, 0, 0, 1, tzinfo=UTC
    )


def test_fspec_and_block_encoding_by_hand() -> None:
    assert fspec([1, 2, 3, 4, 5, 8, 10, 11]) == bytes([0xF9, 0xB0])  # as in REC_A
    assert fspec([1, 3, 4, 5, 7, 11, 12, 13, 14, 16, 21, 26, 27, 28]) == REC_D[:4]
    assert fspec([28]) == bytes([0x01, 0x01, 0x01, 0x02])
    report = Cat010Report(7, 21, 43200.5, track_number=291, lat_deg=48.4512345, lon_deg=27.7912345)
    # FSPEC 0xF9 0x20 (010 000 020 140 041, FX | 161), then REC_A's first five items and the track number
    assert cat010_block([report]) == bytes([0x0A, 0x00, 0x16, 0xF9, 0x20]) + REC_A[2:17] + bytes([0x01, 0x23])
    track = Cat062Track(1, 2, 3600.25, 4660, lat_deg=48.1234567, lon_deg=27.654321, vx_mps=1.5, vy_mps=-4.25)
    # FSPEC 0x9B 0x0C (010 070 105 185, FX | 040 080), items as in REC_D, I062/080 confirmed = 0x00
    expected = bytes([0x3E, 0x00, 0x19, 0x9B, 0x0C]) + REC_D[4:6] + REC_D[7:22] + bytes([0x12, 0x34, 0x00])
    assert cat062_block([track]) == expected


@pytest.mark.parametrize(
    "bad",
    [
        lambda: Cat010Report(7, 21, 0.0, track_number=4096, lat_deg=48.0, lon_deg=27.0),
        lambda: Cat010Report(7, 21, 0.0, range_m=70000.0, azimuth_deg=0.0),
        lambda: Cat010Report(7, 21, 86400.0, lat_deg=48.0, lon_deg=27.0),
        lambda: Cat010Report(7, 21, 0.0, lat_deg=48.0),
        lambda: Cat010Report(256, 21, 0.0, lat_deg=48.0, lon_deg=27.0),
        lambda: Cat010Report(7, 21, 0.0, lat_deg=91.0, lon_deg=27.0),
    ],
)
def test_encoder_refuses_values_it_cannot_encode(bad: Callable[[], Cat010Report]) -> None:
    with pytest.raises(ValueError):
        cat010_block([bad()])


def test_config() -> None:
    cfg = AsterixConfig.model_validate({"id": "vts-ua-2", "agency": "UA", "site": {"lon": 29.5, "lat": 46.6}})
    assert (cfg.type, cfg.range_sd_m, cfg.azimuth_sd_deg, cfg.target_class) == ("radar_asterix", 15.0, 0.3, "vessel")
    with pytest.raises(ValidationError):
        AsterixConfig.model_validate({"id": "x", "agency": "UA", "range_sd_m": 0})


# --- round trips -------------------------------------------------------------------------------

tods = st.floats(0, 86399.99)
lats = st.floats(-89.99, 89.99)
lons = st.floats(-180, 180)


def _angle_diff(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


@settings(max_examples=150, deadline=None)
@given(tod=tods, lat=lats, lon=lons, track=st.integers(0, 4095), speed=st.floats(0, 60), course=st.floats(0, 360))
def test_cat010_wgs84_round_trip(tod: float, lat: float, lon: float, track: int, speed: float, course: float) -> None:
    r = Cat010Report(7, 21, tod, track, lat_deg=lat, lon_deg=lon, speed_mps=speed, course_deg=course, status="lost")
    (o,) = decode_ok(cat010_block([r]), datetime(2024, 5, 1, 12, tzinfo=UTC))
    assert o.position is not None and o.velocity is not None
    assert o.position.lat == pytest.approx(lat, abs=WGS84_LSB_010_DEG / 2 + 1e-12)
    assert _angle_diff(o.position.lon, lon) <= WGS84_LSB_010_DEG / 2 + 1e-12
    assert abs((o.time - datetime(2024, 5, 1, tzinfo=UTC)).total_seconds() - tod) <= 1 / 256 + 1e-6
    assert o.velocity.speed_mps == pytest.approx(speed, abs=SPEED_LSB_NMPS * METRES_PER_NM / 2 + 1e-9)
    assert _angle_diff(o.velocity.course_deg, course) <= ANGLE_LSB_DEG / 2 + 1e-9
    assert (o.target_id, o.status) == (f"7/21:{track}", "lost")


@settings(max_examples=150, deadline=None)
@given(rng=st.floats(100, 65535), az=st.floats(0, 360), x=st.floats(-32768, 32767), y=st.floats(-32768, 32767))
def test_cat010_polar_and_cartesian_round_trip(rng: float, az: float, x: float, y: float) -> None:
    polar = Cat010Report(7, 21, 10.0, range_m=rng, azimuth_deg=az, vx_mps=x / 10, vy_mps=y / 10)
    cart = Cat010Report(7, 21, 10.0, x_m=x, y_m=y)
    p, c = decode_ok(cat010_block([polar, cart]), datetime(2024, 5, 1, 0, 1, tzinfo=UTC))
    p_az, p_dist = inverse(p)
    assert p_dist == pytest.approx(rng, abs=0.5 + 1e-6)
    assert _angle_diff(p_az, az) <= ANGLE_LSB_DEG / 2 + 1e-6
    assert p.velocity is not None
    assert p.velocity.east_mps == pytest.approx(x / 10, abs=0.125 + 1e-9)
    assert p.velocity.north_mps == pytest.approx(y / 10, abs=0.125 + 1e-9)
    c_az, c_dist = inverse(c)
    assert c_dist * math.sin(math.radians(c_az)) == pytest.approx(x, abs=0.5 + 1e-6)
    assert c_dist * math.cos(math.radians(c_az)) == pytest.approx(y, abs=0.5 + 1e-6)


@settings(max_examples=150, deadline=None)
@given(
    tod=tods,
    lat=lats,
    lon=lons,
    track=st.integers(0, 65535),
    v=st.tuples(st.floats(-8000, 8000), st.floats(-8000, 8000)),
    status=st.sampled_from(["tentative", "confirmed", "lost"]),
    sd=st.floats(0.5, 30000),
)
def test_cat062_round_trip(
    tod: float, lat: float, lon: float, track: int, v: tuple[float, float], status: TrackStatus, sd: float
) -> None:
    vx, vy = v
    t = Cat062Track(
        1, 2, tod, track, lat_deg=lat, lon_deg=lon, vx_mps=vx, vy_mps=vy, status=status, sd_x_m=sd, sd_y_m=sd
    )
    (o,) = decode_ok(cat062_block([t]), datetime(2024, 5, 1, 12, tzinfo=UTC))
    assert o.position is not None and o.velocity is not None
    assert o.position.lat == pytest.approx(lat, abs=WGS84_LSB_062_DEG / 2 + 1e-12)
    assert _angle_diff(o.position.lon, lon) <= WGS84_LSB_062_DEG / 2 + 1e-12
    assert o.position.accuracy_m == pytest.approx(math.hypot(sd, sd), abs=0.5)
    assert o.velocity.east_mps == pytest.approx(v[0], abs=0.125 + 1e-6)
    assert o.velocity.north_mps == pytest.approx(v[1], abs=0.125 + 1e-6)
    assert (o.target_id, o.status) == (f"1/2:{track}", status)
    assert decode_ok(o.raw, datetime(2024, 5, 1, 12, tzinfo=UTC)) == [o]  # raw is the record as a block


# --- fuzz through the adapter ------------------------------------------------------------------


class _Clock:
    def now(self) -> datetime:
        return AT


REAL = [BLOCK_AB, BLOCK_D, bytes([0x0A, 0x00, 0x13]) + REC_C, BLOCK_AB + BLOCK_D]


def _ingest_counts_every_reject(frame: bytes) -> None:
    dec = decoder()
    expected = dec.decode(frame, AT)
    got: list[SensorMessage] = []
    adapter = SensorAdapter("radar-md-1", dec, got.append, _Clock(), agency="MD")
    returned = adapter.ingest(frame, AT)
    rejected = adapter.health().rejected
    assert "decoder_error" not in rejected
    assert sum(rejected.values()) == len(expected.rejects)
    assert returned == got == expected.messages


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(frame: bytes) -> None:
    _ingest_counts_every_reject(frame)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_real_blocks(data: st.DataObject) -> None:
    frame = bytearray(data.draw(st.sampled_from(REAL)))
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        i = data.draw(st.integers(0, max(len(frame) - 1, 0)))
        if op == "flip" and frame:
            frame[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del frame[i : i + data.draw(st.integers(1, 8))]
        else:
            frame[i:i] = data.draw(st.binary(min_size=1, max_size=8))
    _ingest_counts_every_reject(bytes(frame))
