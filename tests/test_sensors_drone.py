"""MAVLink drone decoder: a real ArduSub telemetry log checked against pymavlink's own log reader,
several vehicles on one link, corrupted and garbage input, and a fuzz through the adapter."""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from sensors.adapter import Framing, SensorAdapter
from sensors.drone import DroneConfig, DroneDecoder, DroneEmitter, mode_name, read_tlog
from sensors.model import Decoded, Observation, SensorKind, SensorMessage, TargetClass, VehicleState
from tests.conftest import REPO

TLOG = REPO / "tests" / "data" / "mavlink" / "ardusub-small.tlog"
T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
CONFIG = DroneConfig(id="uav-md-1", agency="MD")
STATE_TYPES = ("GLOBAL_POSITION_INT", "SYS_STATUS", "BATTERY_STATUS")


@dataclass
class Oracle:
    """What pymavlink's own tlog reader (mavutil) sees in the log, independently of our decoder."""

    records: int = 0
    bad_data: int = 0
    heartbeats: Counter[tuple[int, int]] = field(default_factory=Counter)
    positions: list[Any] = field(default_factory=list)
    vehicle_heartbeats: list[Any] = field(default_factory=list)
    sys_status: list[Any] = field(default_factory=list)
    gps_raw_before: list[Any] = field(default_factory=list)  # latest GPS_RAW_INT before each GLOBAL_POSITION_INT
    states_before_first_heartbeat: int = 0


@pytest.fixture(scope="module")
def oracle() -> Oracle:
    o = Oracle()
    conn = mavutil.mavlink_connection(str(TLOG), dialect="ardupilotmega")
    gps_raw = None
    while (msg := conn.recv_match()) is not None:
        o.records += 1
        kind = msg.get_type()
        if kind == "BAD_DATA":
            o.bad_data += 1
            continue
        src = (msg.get_srcSystem(), msg.get_srcComponent())
        if kind == "HEARTBEAT":
            o.heartbeats[src] += 1
            if src == (1, 1):
                o.vehicle_heartbeats.append(msg)
        elif kind in STATE_TYPES and src == (1, 1) and not o.vehicle_heartbeats:
            o.states_before_first_heartbeat += 1
        if kind == "GLOBAL_POSITION_INT":
            o.positions.append(msg)
            o.gps_raw_before.append(gps_raw)
        elif kind == "GPS_RAW_INT":
            gps_raw = msg
        elif kind == "SYS_STATUS":
            o.sys_status.append(msg)
    conn.close()
    return o


@dataclass
class Replay:
    decoder: DroneDecoder
    messages: list[SensorMessage]
    decoded: Decoded


@pytest.fixture(scope="module")
def replay() -> Replay:
    decoder = DroneDecoder(CONFIG)
    out = Decoded()
    for stamp, raw in read_tlog(TLOG):
        d = decoder.decode(raw, stamp)
        out.messages += d.messages
        out.rejects += d.rejects
    return Replay(decoder, out.messages, out)


def states(messages: list[SensorMessage]) -> list[VehicleState]:
    return [m for m in messages if isinstance(m, VehicleState)]


def msg_type(state: VehicleState) -> str:
    """The MAVLink message a state was made from (its raw frame's id, MAVLink 2)."""
    return str(mavlink2.mavlink_map[int.from_bytes(state.raw[7:10], "little")].msgname)


# --- the real log -------------------------------------------------------------------------------


def test_read_tlog_yields_every_record(oracle: Oracle) -> None:
    records = list(read_tlog(TLOG))
    assert len(records) == 35_916 == oracle.records
    assert sum(len(raw) + 8 for _, raw in records) == TLOG.stat().st_size
    assert all(raw[0] == 0xFD for _, raw in records)
    assert records[0][0] == datetime(2023, 5, 4, 17, 15, 41, 55_000, tzinfo=UTC)
    assert records[-1][0] - records[0][0] == timedelta(seconds=263.43)
    assert all(a[0] <= b[0] for a, b in zip(records, records[1:], strict=False))


def test_tlog_has_one_vehicle_a_submarine(replay: Replay, oracle: Oracle) -> None:
    assert set(replay.decoder.vehicles) == {1}
    vehicle = replay.decoder.vehicles[1]
    assert (vehicle.vehicle_type, vehicle.autopilot) == ("submarine", "ardupilotmega")
    assert vehicle.heartbeats == oracle.heartbeats[(1, 1)] == 263
    assert {s.system_id for s in states(replay.messages)} == {1}
    by_type = Counter(msg_type(s) for s in states(replay.messages))
    assert by_type == {"HEARTBEAT": 263, "GLOBAL_POSITION_INT": 792, "BATTERY_STATUS": 792, "SYS_STATUS": 528}
    assert not [m for m in replay.messages if isinstance(m, Observation)]


def test_ground_station_camera_and_companion_heartbeats_are_not_vehicles(replay: Replay, oracle: Oracle) -> None:
    assert oracle.heartbeats == {(1, 1): 263, (255, 190): 265, (1, 100): 264, (1, 194): 264}
    assert replay.decoder.ignored == {"gcs": 265, "not_vehicle": 264 + 264}
    assert not any(r.reason == "not_vehicle" for r in replay.decoded.rejects)


def test_positions_match_pymavlink(replay: Replay, oracle: Oracle) -> None:
    with_position = [s for s in states(replay.messages) if s.position is not None]
    assert len(with_position) == len(oracle.positions) == 792
    for state, ref in zip(with_position, oracle.positions, strict=True):
        assert state.position is not None and state.velocity is not None and state.altitude_m is not None
        assert abs(state.position.lat - ref.lat / 1e7) < 1e-9 and abs(state.position.lon - ref.lon / 1e7) < 1e-9
        assert state.altitude_m == pytest.approx(ref.relative_alt / 1000.0, abs=1e-9)
        assert state.velocity.north_mps == pytest.approx(ref.vx / 100.0, abs=1e-9)
        assert state.velocity.east_mps == pytest.approx(ref.vy / 100.0, abs=1e-9)
        assert abs(state.time.timestamp() - ref._timestamp) < 1e-3
    first, last = with_position[0].position, with_position[-1].position
    assert first is not None and last is not None
    assert abs(first.lat - 48.3861421) < 1e-7 and abs(first.lon - -124.6305728) < 1e-7
    assert abs(last.lat - 48.3861419) < 1e-7 and abs(last.lon - -124.6305723) < 1e-7


def test_position_accuracy_follows_gps_raw_int(replay: Replay, oracle: Oracle) -> None:
    with_position = [s for s in states(replay.messages) if s.position is not None]
    expected_by_fix: Counter[int | None] = Counter()
    for state, gps in zip(with_position, oracle.gps_raw_before, strict=True):
        assert state.position is not None
        if gps is None:
            expected = CONFIG.position_accuracy_m
        elif gps.fix_type < 2:
            expected = CONFIG.no_fix_accuracy_m
        else:  # this log has no h_acc: HDOP (eph/100) times the configured metres per HDOP
            assert gps.h_acc == 0
            expected = gps.eph / 100 * CONFIG.hdop_scale_m
        expected_by_fix[gps.fix_type if gps else None] += 1
        assert state.position.accuracy_m == pytest.approx(expected)
    assert with_position[0].position is not None and with_position[0].position.accuracy_m == pytest.approx(4.8)
    assert expected_by_fix[0] > 0 and expected_by_fix[3] > 0  # both branches exercised by real data


def test_mode_armed_and_battery_match_pymavlink(replay: Replay, oracle: Oracle) -> None:
    beats = [s for s in states(replay.messages) if msg_type(s) == "HEARTBEAT"]
    assert [s.mode for s in beats] == [mavutil.mode_string_v10(h) for h in oracle.vehicle_heartbeats]
    assert {s.mode for s in beats} == {"MANUAL"}
    changes = [
        (round(s.time.timestamp(), 3), s.armed) for i, s in enumerate(beats) if i == 0 or beats[i - 1].armed != s.armed
    ]
    ref = [(round(h._timestamp, 3), bool(h.base_mode & 128)) for h in oracle.vehicle_heartbeats]
    assert changes == [r for i, r in enumerate(ref) if i == 0 or ref[i - 1][1] != r[1]]
    assert [a for _, a in changes] == [False, True, False]
    assert changes[2][0] - changes[1][0] == pytest.approx(15.981)  # armed for 16 s
    sys_states = [s for s in states(replay.messages) if msg_type(s) == "SYS_STATUS"]
    assert [s.battery_v for s in sys_states] == [m.voltage_battery / 1000 for m in oracle.sys_status]
    assert all(s.battery_pct is None for s in states(replay.messages))  # the log says -1 (unknown) throughout
    volts = [s.battery_v or 0.0 for s in sys_states]
    assert (volts[0], min(volts), max(volts), volts[-1]) == (16.233, 15.488, 16.234, 16.22)  # sag while armed


def test_states_before_the_first_heartbeat_are_unknown_type(replay: Replay, oracle: Oracle) -> None:
    all_states = states(replay.messages)
    unknown = [s for s in all_states if s.vehicle_type == "unknown"]
    assert len(unknown) == oracle.states_before_first_heartbeat == 8
    assert all_states[: len(unknown)] == unknown
    assert all(s.mode is None and s.armed is None for s in unknown)
    assert all_states[len(unknown)].vehicle_type == "submarine"


def test_camera_messages_with_foreign_crc_are_rejected(replay: Replay, oracle: Oracle) -> None:
    rejects = replay.decoded.rejects
    assert Counter(r.reason for r in rejects) == {"bad_crc": oracle.bad_data} == {"bad_crc": 4}
    assert {int.from_bytes(r.raw[7:10], "little") for r in rejects} == {259, 260, 262, 269}
    assert {(r.raw[5], r.raw[6]) for r in rejects} == {(1, 100)}  # all from the camera component


# --- built traffic ------------------------------------------------------------------------------


def two_vehicle_stream() -> bytes:
    quad, plane = DroneEmitter(1), DroneEmitter(2)
    frames = [
        quad.heartbeat(mavlink2.MAV_TYPE_QUADROTOR, "GUIDED", armed=True),
        plane.heartbeat(mavlink2.MAV_TYPE_FIXED_WING, "AUTO", armed=False),
        quad.global_position(47.25, 29.125, relative_alt_m=120.5, north_mps=0.0, east_mps=3.0),
        plane.global_position(46.5, 30.0625, relative_alt_m=300.0, north_mps=-10.0, east_mps=0.0),
        quad.sys_status(76, 15.2),
        plane.sys_status(None, None),
        quad.heartbeat(mavlink2.MAV_TYPE_QUADROTOR, "RTL", armed=True),
    ]
    return b"".join(frames)


def decode_chunks(decoder: DroneDecoder, data: bytes, sizes: list[int]) -> Decoded:
    out, pos, i = Decoded(), 0, 0
    while pos < len(data):
        d = decoder.decode(data[pos : pos + sizes[i % len(sizes)]], T0)
        out.messages += d.messages
        out.rejects += d.rejects
        pos, i = pos + sizes[i % len(sizes)], i + 1
    return out


def test_two_vehicles_on_one_link_split_at_odd_offsets() -> None:
    data = two_vehicle_stream()
    whole = DroneDecoder(CONFIG).decode(data, T0)
    split = decode_chunks(DroneDecoder(CONFIG), data, [1, 3, 7, 13, 29, 5])
    assert split.messages == whole.messages and not split.rejects and not whole.rejects
    got = states(split.messages)
    assert [(s.system_id, s.vehicle_type, s.mode, s.armed) for s in got] == [
        (1, "quadrotor", "GUIDED", True),
        (2, "fixed_wing", "AUTO", False),
        (1, "quadrotor", "GUIDED", True),
        (2, "fixed_wing", "AUTO", False),
        (1, "quadrotor", "GUIDED", True),
        (2, "fixed_wing", "AUTO", False),
        (1, "quadrotor", "RTL", True),
    ]
    quad, plane = got[2], got[3]
    assert quad.position is not None and plane.position is not None
    assert (quad.position.lat, quad.position.lon, quad.altitude_m) == (47.25, 29.125, 120.5)
    assert (plane.position.lat, plane.position.lon, plane.altitude_m) == (46.5, 30.0625, 300.0)
    assert quad.velocity is not None and (quad.velocity.speed_mps, quad.velocity.course_deg) == (3.0, 90.0)
    assert plane.velocity is not None and (plane.velocity.speed_mps, plane.velocity.course_deg) == (10.0, 180.0)
    assert (got[4].battery_pct, got[4].battery_v) == (76.0, 15.2)
    assert (got[5].battery_pct, got[5].battery_v) == (None, None)  # -1 and UINT16_MAX are "unknown"
    assert (got[6].battery_pct, got[6].position) == (76.0, None)  # battery carried, position never re-stamped


def test_bad_crc_is_rejected_and_the_next_messages_decode() -> None:
    emitter = DroneEmitter(7)
    good1, bad, good2 = emitter.heartbeat(), bytearray(emitter.global_position(47.0, 29.0)), emitter.sys_status(50, 12)
    bad[-1] ^= 0x5A
    decoder = DroneDecoder(CONFIG)
    d = decode_chunks(decoder, good1 + bytes(bad) + good2, [11, 17])
    assert [r.reason for r in d.rejects] == ["bad_crc"] and d.rejects[0].raw == bytes(bad)
    assert [msg_type(s) for s in states(d.messages)] == ["HEARTBEAT", "SYS_STATUS"]
    assert states(d.messages)[1].battery_pct == 50.0


def test_garbage_between_frames_is_a_parse_error() -> None:
    emitter = DroneEmitter(3)
    d = DroneDecoder(CONFIG).decode(b"hello" + emitter.heartbeat() + b"\x00\x01" + emitter.heartbeat(), T0)
    assert [r.reason for r in d.rejects] == ["parse_error", "parse_error"]
    assert [r.raw for r in d.rejects] == [b"hello", b"\x00\x01"]
    assert len(states(d.messages)) == 2


def test_lat_lon_zero_is_no_fix_and_out_of_range_is_rejected() -> None:
    emitter, decoder = DroneEmitter(4), DroneDecoder(CONFIG)
    d = decoder.decode(emitter.global_position(0.0, 0.0, relative_alt_m=12.0, north_mps=1.0), T0)
    (state,) = states(d.messages)
    assert (state.position, state.velocity, state.altitude_m, state.vehicle_type) == (None, None, 12.0, "unknown")
    d = decoder.decode(emitter.global_position(91.0, 29.0), T0)
    assert d.messages == [] and [r.reason for r in d.rejects] == ["bad_position"]


def test_messages_from_ground_stations_and_other_components_are_ignored_not_rejected() -> None:
    decoder = DroneDecoder(CONFIG)
    gcs = DroneEmitter(255, 190)
    gimbal = DroneEmitter(1, mavlink2.MAV_COMP_ID_GIMBAL)
    flightless = DroneEmitter(5)
    data = (
        gcs.heartbeat(mavlink2.MAV_TYPE_GCS, 0, autopilot=mavlink2.MAV_AUTOPILOT_INVALID)
        + gcs.global_position(47.0, 29.0)
        + gimbal.heartbeat(mavlink2.MAV_TYPE_GIMBAL, 0, autopilot=mavlink2.MAV_AUTOPILOT_INVALID)
        + flightless.heartbeat(mavlink2.MAV_TYPE_ONBOARD_CONTROLLER, 0, autopilot=mavlink2.MAV_AUTOPILOT_INVALID)
    )
    d = decoder.decode(data, T0)
    assert d.messages == [] and d.rejects == []
    assert decoder.ignored == {"gcs": 2, "not_vehicle": 2} and decoder.vehicles == {}


def test_camera_tracking_becomes_an_observation() -> None:
    decoder, camera = DroneDecoder(CONFIG), DroneEmitter(2, mavlink2.MAV_COMP_ID_CAMERA)
    d = decoder.decode(camera.tracking(47.0123, 29.5, h_acc_m=7.5, north_mps=1.0, east_mps=1.0, heading_deg=45), T0)
    (obs,) = d.messages
    assert isinstance(obs, Observation) and obs.position is not None and obs.velocity is not None
    assert (obs.sensor_kind, obs.target_id, obs.target_class, obs.status) == (
        SensorKind.DRONE,
        "uav-md-1:2:100",
        TargetClass.UNKNOWN,
        "tracking",
    )
    assert abs(obs.position.lat - 47.0123) < 1e-7 and obs.position.lon == 29.5 and obs.position.accuracy_m == 7.5
    assert obs.velocity.speed_mps == pytest.approx(math.sqrt(2), rel=1e-6)
    assert obs.velocity.course_deg == pytest.approx(45.0) and obs.heading_deg == pytest.approx(45.0)
    (unknowns,) = decoder.decode(camera.tracking(47.0, 29.0), T0).messages
    assert isinstance(unknowns, Observation) and unknowns.position is not None
    assert (unknowns.position.accuracy_m, unknowns.velocity, unknowns.heading_deg) == (20.0, None, None)
    assert decoder.decode(camera.tracking(47.0, 29.0, active=False), T0).messages == []
    assert decoder.decode(camera.tracking(0.0, 0.0), T0).messages == []
    assert decoder.ignored == {"tracking_idle": 1, "no_fix": 1}


def test_mode_names() -> None:
    ardupilot, px4, generic = (
        mavlink2.MAV_AUTOPILOT_ARDUPILOTMEGA,
        mavlink2.MAV_AUTOPILOT_PX4,
        mavlink2.MAV_AUTOPILOT_GENERIC,
    )
    custom = mavlink2.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
    assert mode_name(ardupilot, mavlink2.MAV_TYPE_QUADROTOR, custom, 6) == "RTL"
    assert mode_name(ardupilot, mavlink2.MAV_TYPE_SUBMARINE, custom, 19) == "MANUAL"
    assert mode_name(ardupilot, mavlink2.MAV_TYPE_FIXED_WING, custom, 10) == "AUTO"
    assert mode_name(ardupilot, mavlink2.MAV_TYPE_QUADROTOR, custom, 250) == "mode 250"
    assert mode_name(px4, mavlink2.MAV_TYPE_QUADROTOR, custom, (4 << 16) | (4 << 24)) == "MISSION"
    assert mode_name(px4, mavlink2.MAV_TYPE_QUADROTOR, custom, 9 << 16) == "mode 589824"
    assert mode_name(generic, mavlink2.MAV_TYPE_QUADROTOR, custom, 3) == "mode 3"
    assert mode_name(ardupilot, mavlink2.MAV_TYPE_QUADROTOR, 0, 3) is None
    with pytest.raises(ValueError, match="no mode"):
        DroneEmitter(1).heartbeat(mavlink2.MAV_TYPE_QUADROTOR, "WARP")


def test_read_tlog_skips_corrupt_bytes_and_a_truncated_tail(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = TLOG.read_bytes()
    records = list(read_tlog(TLOG))[:6]
    sizes = [len(raw) + 8 for _, raw in records]
    head = data[: sum(sizes[:3])]
    tail = data[sum(sizes[:3]) : sum(sizes)]
    damaged = tmp_path / "damaged.tlog"
    damaged.write_bytes(head + b"\x00\xfd\x13\x37\xff" + tail + data[sum(sizes) : sum(sizes) + 20])
    with caplog.at_level(logging.WARNING, logger="sensors.drone"):
        assert list(read_tlog(damaged)) == records
    assert len(caplog.messages) == 2
    assert "5 corrupt bytes skipped" in caplog.messages[0] and "truncated last record" in caplog.messages[1]


def test_config_tag_and_defaults() -> None:
    cfg = DroneConfig.model_validate({"id": "uav-ua-2", "agency": "UA", "type": "drone_mavlink"})
    assert (cfg.gcs_system_ids, cfg.vehicle_components, cfg.position_accuracy_m) == ([255], [1], 5.0)
    decoder = DroneDecoder(cfg)
    assert (decoder.kind, decoder.framing) == (SensorKind.DRONE, Framing.STREAM)


# --- fuzz ---------------------------------------------------------------------------------------


class _Clock:
    def now(self) -> datetime:
        return T0


class _CountingDecoder:
    """The real decoder, counting the rejects it returns (the adapter only returns messages)."""

    kind = SensorKind.DRONE
    framing = Framing.STREAM

    def __init__(self) -> None:
        self.inner = DroneDecoder(CONFIG)
        self.rejects = 0

    def decode(self, frame: bytes, received_at: datetime) -> Decoded:
        d = self.inner.decode(frame, received_at)
        self.rejects += len(d.rejects)
        return d


@cache
def real_frames() -> list[bytes]:
    return [raw for _, raw in read_tlog(TLOG)][:3000]


def feed(chunks: list[bytes]) -> None:
    spy = _CountingDecoder()
    adapter = SensorAdapter("uav-md-1", spy, lambda m: None, _Clock())
    for chunk in chunks:
        adapter.ingest(chunk)
    rejected = adapter.health().rejected
    assert "decoder_error" not in rejected
    assert sum(rejected.values()) == spy.rejects


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=400), max_size=8))
def test_fuzz_random_bytes(chunks: list[bytes]) -> None:
    feed(chunks)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_fuzz_mutated_real_messages(data: st.DataObject) -> None:
    frames = data.draw(st.lists(st.sampled_from(real_frames()), min_size=1, max_size=6))
    stream = bytearray(b"".join(frames))
    for _ in range(data.draw(st.integers(0, 6))):
        i = data.draw(st.integers(0, len(stream) - 1))
        op = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if op == "flip":
            stream[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "delete" and len(stream) > 1:
            del stream[i]
        else:
            stream[i:i] = data.draw(st.binary(min_size=1, max_size=4))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=5)))
    feed([bytes(stream[a:b]) for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)])
