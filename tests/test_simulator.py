"""The scenario simulator: deterministic bytes, a ground truth that does what the scenario says,
frames every decoder takes without a reject and within 3 sigma of the truth, and delivery over
real sockets (UDP, TCP, MQTT on the local Mosquitto, HTTP) to a running server."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.api.app import create_app
from sar.auth.sessions import token_sha256
from sar.settings import Settings
from sensors.adapter import SensorAdapter, SystemClock
from sensors.config import MqttTransport
from sensors.framing import split_datagram
from sensors.model import Observation, SensorMessage, TargetClass
from sensors.registry import SensorConfig, make_decoder
from sensors.sim import (
    CLUTTER,
    DemoPorts,
    Frame,
    Simulator,
    World,
    build_world,
    demo_sensor_configs,
    demo_simulator,
    demo_specs,
)
from sensors.sim.scenario import AIS_IDENTITY, CURRENT_MPS, DARK_AIS_OFF_S
from sensors.sim.transmit import TCP_RETRY_S, TcpClientEmitter
from sensors.sim.world import bearing_range
from tests.conftest import bearer, free_port, sign_in

START = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
SEED = 7
NON_COOPERATIVE_CROSSERS = {"boat-cross-north", "boat-cross-south"}


@dataclass
class CycleRun:
    """One full 30-minute cycle in frames mode: frames, truth lines, decoded messages."""

    sim: Simulator
    frames: list[Frame]
    truth: list[dict[str, Any]]
    messages: dict[str, list[SensorMessage]]
    adapters: dict[str, SensorAdapter]


def adapters_for(configs: list[SensorConfig], sink: dict[str, list[SensorMessage]]) -> dict[str, SensorAdapter]:
    return {c.id: SensorAdapter(c.id, make_decoder(c), sink[c.id].append, SystemClock()) for c in configs}


def ingest(adapter: SensorAdapter, frame: Frame) -> list[SensorMessage]:
    """A payload as a transport hands it over: cut into frames, each ingested at the frame's time."""
    parts, rejects = split_datagram(adapter.decoder.framing, frame.payload)
    for r in rejects:
        adapter.reject(r)
    return [m for p in parts for m in adapter.ingest(p, frame.time)]


@pytest.fixture(scope="module")
def world(river: RiverModel) -> World:
    return build_world(river, SEED)


@pytest.fixture(scope="module")
def cycle(world: World, tmp_path_factory: pytest.TempPathFactory) -> CycleRun:
    configs = demo_sensor_configs(DemoPorts(), mqtt=True)
    truth_path = tmp_path_factory.mktemp("sim") / "truth.jsonl"
    sim = Simulator(world, configs, seed=SEED, start=START, specs=demo_specs(), truth_path=truth_path)
    frames = list(sim.frames(world.cycle_s))
    messages: dict[str, list[SensorMessage]] = defaultdict(list)
    adapters = adapters_for(configs, messages)
    for f in frames:
        ingest(adapters[f.sensor_id], f)
    truth = [json.loads(line) for line in truth_path.read_text(encoding="utf-8").splitlines()]
    return CycleRun(sim, frames, truth, messages, adapters)


def track(truth: list[dict[str, Any]], entity: str) -> list[dict[str, Any]]:
    return [r for r in truth if r["type"] == "truth" and r["entity"] == entity]


# --- determinism --------------------------------------------------------------------------------


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(river: RiverModel) -> None:
    configs = demo_sensor_configs(DemoPorts(), mqtt=False)

    def run(seed: int) -> list[Frame]:
        return list(Simulator(build_world(river, seed), configs, seed, start=START, specs=demo_specs()).frames(240))

    first, again, other = run(3), run(3), run(4)
    assert len(first) > 300 and {f.sensor_id for f in first} == {c.id for c in configs}
    assert first == again
    assert [f.payload for f in first] != [f.payload for f in other]


# --- ground truth -------------------------------------------------------------------------------


def test_crossings_are_true_border_crossings(cycle: CycleRun, river: RiverModel) -> None:
    """Counted with RiverModel.crossed_border on consecutive truth positions, independently of the
    simulator's own crossing events, which must agree."""
    counted: dict[str, list[tuple[str, str]]] = {}
    for e in cycle.sim.world.entities:
        if not e.on_water:
            continue
        pts = track(cycle.truth, e.id)
        moves = list(zip(pts, pts[1:]))
        a_lon, a_lat = [a["lon"] for a, _ in moves], [a["lat"] for a, _ in moves]
        hits = river.crossed_border_many(a_lon, a_lat, [b["lon"] for _, b in moves], [b["lat"] for _, b in moves])
        found = [
            river.crossed_border((a["lon"], a["lat"]), (b["lon"], b["lat"])) for (a, b), h in zip(moves, hits) if h
        ]
        counted[e.id] = [(c.from_side, c.to_side) for c in found if c is not None]
    for boat in NON_COOPERATIVE_CROSSERS:
        assert counted[boat] == [("UA", "MD")], boat
    for boat in ("boat-loiter", "boat-meet-ua", "boat-meet-md", "person-soroca", "tourist-nistru", "patrol-md-1"):
        assert counted[boat] == [], boat
    assert counted["ferry-soroca"] == [("MD", "UA"), ("UA", "MD")] * 2
    assert counted["dark-volna"] == [("MD", "UA")]
    events = [r for r in cycle.truth if r["type"] == "crossing"]
    assert Counter(r["entity"] for r in events) == Counter({k: len(v) for k, v in counted.items() if v})
    dark = next(r for r in events if r["entity"] == "dark-volna")
    assert dark["cooperative"] is True and dark["ais_on"] is False
    assert all(not r["cooperative"] for r in events if r["entity"] in NON_COOPERATIVE_CROSSERS)


def test_no_boat_or_person_leaves_the_water(cycle: CycleRun, river: RiverModel) -> None:
    on_water = [r for r in cycle.truth if r["type"] == "truth" and r["class"] in ("vessel", "person")]
    assert len(on_water) > 15_000
    assert max(abs(r["offset_m"]) for r in on_water) <= 90.0
    where = river.locate_many([r["lon"] for r in on_water], [r["lat"] for r in on_water])
    assert bool(where.on_water.all())


def test_person_drifts_downstream_at_the_current(cycle: CycleRun) -> None:
    pts = track(cycle.truth, "person-soroca")
    assert len(pts) > 1500 and all(15.0 <= r["offset_m"] <= 25.0 for r in pts)  # on the water, MD half
    speeds = [
        bearing_range(a["lon"], a["lat"], b["lon"], b["lat"])[1] / (b["t_s"] - a["t_s"])
        for a, b in zip(pts[::120], pts[120::120])
    ]
    assert len(speeds) >= 12 and all(abs(v - CURRENT_MPS) <= 0.1 for v in speeds), speeds
    downstream = (pts[-1]["river_km"] - pts[0]["river_km"]) * 1000 / (pts[-1]["t_s"] - pts[0]["t_s"])
    assert downstream == pytest.approx(CURRENT_MPS, abs=0.01)
    assert 106.0 < pts[0]["river_km"] < 106.9  # starts just above the Soroca ferry


def test_rendezvous_boats_stay_within_50_m_for_minutes(cycle: CycleRun) -> None:
    ua = {r["t_s"]: r for r in track(cycle.truth, "boat-meet-ua")}
    md = {r["t_s"]: r for r in track(cycle.truth, "boat-meet-md")}
    close = [t for t in ua if t in md and bearing_range(ua[t]["lon"], ua[t]["lat"], md[t]["lon"], md[t]["lat"])[1] < 50]
    assert len(close) >= 240 and max(close) - min(close) == len(close) - 1  # one meeting, >= 4 minutes


def test_truth_lines_carry_what_scoring_needs(cycle: CycleRun) -> None:
    line = track(cycle.truth, "boat-cross-north")[0]
    keys = {"time", "entity", "class", "cooperative", "lon", "lat", "section", "river_km", "side"}
    assert keys <= line.keys() and line["side"] == "UA" and line["section"] == "north"
    assert datetime.fromisoformat(line["time"]) == START + timedelta(seconds=line["t_s"])
    drones = [r for r in cycle.truth if r["class"] == "aircraft"]
    assert {r["agency"] for r in drones} == {"MD", "UA"}


# --- decoding -----------------------------------------------------------------------------------


def test_every_frame_decodes_without_a_reject(cycle: CycleRun) -> None:
    for sid, adapter in cycle.adapters.items():
        h = adapter.health()
        assert h.rejected == {} and h.accepted > 100, (sid, h)
    kinds = {sid: Counter(type(m).__name__ for m in ms) for sid, ms in cycle.messages.items()}
    assert kinds["md-ais"]["VesselStatic"] >= len(AIS_IDENTITY) and kinds["md-drones"]["VehicleState"] >= 1800


EXPECTED_SEEN = {
    "md-radar-otaci": {"boat-loiter", "tourist-nistru", "patrol-md-1", "patrol-ua-1"},
    "ua-radar-yampil": {"dark-volna", "boat-meet-ua", "boat-meet-md"},
    "md-radar-palanca": {"barge-dnister-7", "boat-cross-south"},
    "md-cam-soroca": {"ferry-soroca", "person-soroca"},
    "ua-cam-mohyliv": {"patrol-ua-1", "patrol-md-1"},
    "md-drones": {"boat-cross-north"},
    "ua-drones": {"boat-cross-south"},
    "md-ais": set(AIS_IDENTITY),
}


def errors_against_truth(cycle: CycleRun, sensor_id: str) -> tuple[set[str], dict[str, list[float]]]:
    """Entities a sensor reported, and its normalised errors: bearing and range z-scores, and
    2-D distance over the stated accuracy for positions."""
    labels, world = cycle.sim.sensors[sensor_id].labels, cycle.sim.world
    seen, z = set(), defaultdict(list)
    for m in cycle.messages[sensor_id]:
        entity = labels.get(m.target_id or "") if isinstance(m, Observation) else None
        if entity is None or entity == CLUTTER:
            continue
        assert isinstance(m, Observation)
        seen.add(entity)
        truth = world.state(world.entity(entity), (m.time - START).total_seconds())
        assert truth is not None
        if m.bearing is not None:
            b = m.bearing
            brg, dist = bearing_range(b.origin_lon, b.origin_lat, truth.lon, truth.lat)
            z["bearing"].append(((b.bearing_deg - brg + 180) % 360 - 180) / b.bearing_sd_deg)
            if b.range_m is not None and b.range_sd_m is not None:
                z["range"].append((b.range_m - dist) / b.range_sd_m)
        else:
            assert m.position is not None
            dist = bearing_range(m.position.lon, m.position.lat, truth.lon, truth.lat)[1]
            z["position"].append(dist / m.position.accuracy_m)
    return seen, z


@pytest.mark.parametrize("sensor_id", sorted(EXPECTED_SEEN))
def test_decoded_targets_are_within_3_sigma_of_the_truth(cycle: CycleRun, sensor_id: str) -> None:
    seen, z = errors_against_truth(cycle, sensor_id)
    assert EXPECTED_SEEN[sensor_id] <= seen
    assert z
    for what, values in z.items():
        v = np.array(values)
        assert len(v) >= 50, what
        if what == "position":  # radial error over the radial 1-sigma: mean sqrt(pi)/2 = 0.886 if honest
            floor = 0.0 if sensor_id == "md-ais" else 0.6  # AIS: 10 m is the flag's bound; GNSS does better
            assert np.mean(v <= 3.0) >= 0.99 and floor <= v.mean() <= 1.0, (what, v.mean())
        else:
            assert np.mean(np.abs(v) <= 3.0) >= 0.98 and abs(v.mean()) < 0.25 and 0.7 <= v.std() <= 1.2, what


def test_cameras_classify_the_person_and_the_boats(cycle: CycleRun) -> None:
    labels = cycle.sim.sensors["md-cam-soroca"].labels
    classes = Counter(
        (labels[m.target_id], m.target_class)
        for m in cycle.messages["md-cam-soroca"]
        if isinstance(m, Observation) and m.target_id in labels and labels[m.target_id] != CLUTTER
    )
    assert classes[("person-soroca", TargetClass.PERSON)] > 100 and classes[("ferry-soroca", TargetClass.VESSEL)] > 100
    assert {c for (_, c) in classes} == {TargetClass.PERSON, TargetClass.VESSEL}


def test_dark_target_goes_silent_near_the_border_and_keeps_moving(cycle: CycleRun) -> None:
    mmsi = str(AIS_IDENTITY["dark-volna"][0])
    ais_s = [
        (m.time - START).total_seconds()
        for m in cycle.messages["md-ais"]
        if isinstance(m, Observation) and m.target_id == mmsi
    ]
    assert 600 <= max(ais_s) < DARK_AIS_OFF_S
    labels = cycle.sim.sensors["ua-radar-yampil"].labels
    radar_s = [(m.time - START).total_seconds() for m in cycle.messages["ua-radar-yampil"]
               if isinstance(m, Observation) and labels.get(m.target_id or "") == "dark-volna"]  # fmt: skip
    assert sum(t > DARK_AIS_OFF_S + 300 for t in radar_s) > 100  # the radar still sees her, on the UA side
    last = track(cycle.truth, "dark-volna")[-1]
    assert last["side"] == "UA" and last["speed_mps"] > 2.0


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_simulator_frames_never_escape_the_adapters(cycle: CycleRun, data: st.DataObject) -> None:
    frame = cycle.frames[data.draw(st.integers(0, len(cycle.frames) - 1))]
    payload = bytearray(frame.payload)
    for _ in range(data.draw(st.integers(1, 4))):
        payload[data.draw(st.integers(0, len(payload) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(payload)))
    configs = [c for c in demo_sensor_configs(DemoPorts(), mqtt=False) if c.id == frame.sensor_id]
    adapter = adapters_for(configs, defaultdict(list))[frame.sensor_id]
    ingest(adapter, Frame(frame.time, frame.sensor_id, bytes(payload[:cut])))
    assert all(n > 0 for n in adapter.health().rejected.values())


# --- over real sockets --------------------------------------------------------------------------


SIM_TOKEN = "simulator-token-0123456789"  # the sensors' own token for their HTTP POSTs


@dataclass
class Live:
    url: str
    configs: list[SensorConfig]
    token: str  # an operator's


def get_sensors(live: Live) -> dict[str, dict[str, Any]]:
    req = urllib.request.Request(live.url + "/api/sensors", headers=bearer(live.token))
    with urllib.request.urlopen(req, timeout=5) as r:
        return {s["sensor_id"]: s for s in json.loads(r.read())}


@pytest.fixture(scope="module")
def live(river: RiverModel, graph: RouteGraph) -> Iterator[Live]:
    """The real app (its SensorHub listening on free ports) served by uvicorn in a thread. The
    MQTT topic gets a unique prefix so a demo running on this machine cannot cross-talk."""
    configs = demo_sensor_configs(DemoPorts.free(), mqtt=True)
    topic = f"dwatch-test-{free_port()}/MD/camera/md-cam-soroca/events"
    configs = [
        c.model_copy(update={"transport": MqttTransport(topic=topic)}) if c.id == "md-cam-soroca" else c
        for c in configs
    ]
    configs = [c.model_copy(update={"token_sha256": token_sha256(SIM_TOKEN)}) for c in configs]
    app = create_app(Settings(sensors=configs), river=river, route_graph=graph)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not (server.started and app.state.hub.sources["md-cam-soroca"].connected.is_set()):
        assert time.monotonic() < deadline, "server or its MQTT subscription did not come up"
        time.sleep(0.05)
    yield Live(f"http://127.0.0.1:{port}", configs, sign_in(app))
    server.should_exit = True
    thread.join(10)


def test_end_to_end_every_sensor_is_received_without_rejects(live: Live, world: World) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    sim = Simulator(world, live.configs, seed=SEED, speed=40.0, start=start, http_base_url=live.url,
                    http_token=SIM_TOKEN, specs=demo_specs())  # fmt: skip
    stats = sim.run(duration_s=60.0)
    assert stats.steps == 60 and stats.failed == {} and set(stats.sent) == {c.id for c in live.configs}
    deadline = time.monotonic() + 10
    health = get_sensors(live)
    while any(s["accepted"] == 0 for s in health.values()):
        assert time.monotonic() < deadline, health
        time.sleep(0.1)
        health = get_sensors(live)
    for sid, h in health.items():
        assert h["accepted"] > 0 and h["rejected"] == {}, (sid, h)
    assert health["md-cam-soroca"]["transport"] == "mqtt" and health["md-radar-otaci"]["transport"] == "tcp_server"


def test_without_a_broker_camera_events_go_over_http(
    live: Live, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    dead = free_port()
    before = get_sensors(live)["md-cam-soroca"]["accepted"]
    sim = Simulator(world, live.configs, seed=SEED + 1, speed=0, start=datetime.now(UTC), http_base_url=live.url,
                    http_token=SIM_TOKEN, mqtt_port=dead, specs=demo_specs())  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="sensors.sim"):
        stats = sim.run(duration_s=30.0)
    warning = f"no MQTT broker at 127.0.0.1:{dead}: camera events go over HTTP"
    assert [r.getMessage() for r in caplog.records].count(warning) == 1
    after = get_sensors(live)["md-cam-soroca"]
    assert stats.sent["md-cam-soroca"] > 5 and after["accepted"] - before == stats.sent["md-cam-soroca"]
    assert after["rejected"] == {}


def test_tcp_emitter_reconnects_and_drops_what_is_stale() -> None:
    port = free_port()
    em = TcpClientEmitter("127.0.0.1", port, "t")
    assert em.send(b"a\n", 0.0) is False and em.send(b"b\n", 1.0) is False  # nobody listens yet
    with socket.create_server(("127.0.0.1", port)) as server:
        time.sleep(TCP_RETRY_S + 0.1)
        assert em.send(b"c\n", 5.5) is True  # "a" is 5.5 s old: dropped; "b" (4.5 s) goes first
        conn, _ = server.accept()
        em.close()
        with conn:
            conn.settimeout(5)
            got = b""
            while chunk := conn.recv(100):
                got += chunk
    assert got == b"b\nc\n"


def test_truth_file_is_written_while_running(tmp_path: Path, world: World) -> None:
    path = tmp_path / "truth.jsonl"
    Simulator(world, [], start=START, speed=0, truth_path=path).run(duration_s=5.0)
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert Counter(r["t_s"] for r in lines) == {float(t): len(world.states(t)) for t in range(5)}


def test_demo_simulator_matches_the_demo_configs(river: RiverModel) -> None:
    sim = demo_simulator(river, DemoPorts(), "http://127.0.0.1:1", seed=3, start=START)
    direct = Simulator(build_world(river, 3), demo_sensor_configs(DemoPorts()), 3, start=START, specs=demo_specs())
    assert list(sim.configs.values()) == demo_sensor_configs(DemoPorts())
    assert list(sim.frames(30)) == list(direct.frames(30))


def test_run_forever_stops_when_told(world: World) -> None:
    stop = threading.Event()
    sim = Simulator(world, [], start=START, speed=1.0)
    runner = threading.Thread(target=sim.run, kwargs={"duration_s": None, "stop": stop})
    runner.start()
    time.sleep(1.5)
    stop.set()
    runner.join(2.0)
    assert not runner.is_alive() and 1 <= sim.stats.steps <= 3
