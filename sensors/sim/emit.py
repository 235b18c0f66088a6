"""The simulator: steps sim time, asks each simulated sensor for its bytes and sends them over
real sockets to where the server listens (UDP, TCP as a client, MQTT, HTTP POST), or yields them
(:meth:`Simulator.frames`) for tests and recordings. Ground truth goes to a JSON-lines file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import threading
import time
import zlib
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from geo.river import Crossing, RiverModel
from sensors.ais import AisConfig
from sensors.asterix import AsterixConfig
from sensors.camera import CameraConfig
from sensors.config import HttpTransport, MqttTransport, SensorConfigBase, TcpClientTransport, TcpServerTransport
from sensors.drone import DroneConfig
from sensors.radar_nmea import RadarNmeaConfig
from sensors.sim.optics import CameraSim, DroneSim
from sensors.sim.sensing import AisSim, AsterixRadarSim, NmeaRadarSim, SensorSpec, SimSensor, WaterGrid, default_spec
from sensors.sim.transmit import (
    Emitter,
    HttpEmitter,
    MqttEmitter,
    NullEmitter,
    TcpClientEmitter,
    TcpListenEmitter,
    UdpEmitter,
)
from sensors.sim.world import EntityState, World, bearing_range

log = logging.getLogger("sensors.sim")


class Frame(NamedTuple):
    """One transport unit a sensor sends at a sim time."""

    time: datetime
    sensor_id: str
    payload: bytes


@dataclass
class RunStats:
    """What a run sent: payloads and failures per sensor, sim seconds covered."""

    steps: int = 0
    sim_s: float = 0.0
    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)


def make_sim_sensor(cfg: SensorConfigBase, spec: SensorSpec, rng: np.random.Generator, water: WaterGrid) -> SimSensor:
    """The simulated counterpart of a configured sensor."""
    if isinstance(cfg, RadarNmeaConfig):
        return NmeaRadarSim(cfg, spec, rng, water)
    if isinstance(cfg, AsterixConfig):
        return AsterixRadarSim(cfg, spec, rng, water)
    if isinstance(cfg, AisConfig):
        return AisSim(cfg, spec, rng, water)
    if isinstance(cfg, CameraConfig):
        return CameraSim(cfg, spec, rng, water)
    if isinstance(cfg, DroneConfig):
        return DroneSim(cfg, spec, rng, water)
    raise TypeError(f"no simulated sensor for {type(cfg).__name__}")


def sensor_rng(seed: int, sensor_id: str) -> np.random.Generator:
    """One generator per sensor, so adding a sensor does not change what the others send."""
    return np.random.default_rng([seed, zlib.crc32(sensor_id.encode())])


class TruthLog:
    """Ground truth as JSON-ready records: one per entity per step, one per true border crossing
    (consecutive positions of an entity on the water, within one cycle, across the border)."""

    def __init__(self, river: RiverModel) -> None:
        self.river = river
        self._last: dict[str, EntityState] = {}

    def records(self, when: datetime, states: Sequence[EntityState]) -> list[dict[str, Any]]:
        out = [_truth_record(when, s) for s in states]
        for s in states:
            a = self._last.get(s.id)
            if a is None or a.cycle != s.cycle or not s.entity.on_water:
                continue
            move_m = bearing_range(a.lon, a.lat, s.lon, s.lat)[1]
            if a.side == s.side and min(abs(a.offset_m), abs(s.offset_m)) > 2.0 * move_m + 5.0:
                continue  # a short move well inside one bank's half cannot reach the border
            c = self.river.crossed_border((a.lon, a.lat), (s.lon, s.lat))
            if c is not None:
                out.append(_crossing_record(when, s, c))
        self._last = {s.id: s for s in states}
        return out


def _crossing_record(when: datetime, s: EntityState, c: Crossing) -> dict[str, Any]:
    e = s.entity
    return {"type": "crossing", "time": when.isoformat(), "t_s": s.t_s, "entity": e.id, "class": e.cls.value,
            "role": e.role, "cooperative": e.cooperative, "ais_on": s.ais_on, "from_side": c.from_side,
            "to_side": c.to_side, "lon": c.lon, "lat": c.lat, "section": c.section, "river_km": c.river_km}  # fmt: skip


def _truth_record(when: datetime, s: EntityState) -> dict[str, Any]:
    e = s.entity
    return {
        "type": "truth",
        "time": when.isoformat(),
        "t_s": s.t_s,
        "cycle": s.cycle,
        "entity": e.id,
        "class": e.cls.value,
        "role": e.role,
        "cooperative": e.cooperative,
        "ais_on": s.ais_on,
        "agency": e.agency,
        "mmsi": e.mmsi,
        "lon": round(s.lon, 7),
        "lat": round(s.lat, 7),
        "section": s.section,
        "river_km": round(s.river_km, 4),
        "offset_m": round(s.offset_m, 1),
        "side": s.side,
        "speed_mps": round(s.speed_mps, 2),
        "course_deg": round(s.course_deg, 1),
    }


class Simulator:
    """Steps a world and its simulated sensors; ``speed`` is sim seconds per wall second (0 or
    inf: as fast as possible). Deterministic for a seed and a start time."""

    def __init__(
        self,
        world: World,
        sensor_configs: Sequence[SensorConfigBase],
        seed: int = 0,
        speed: float = 1.0,
        start: datetime | None = None,
        http_base_url: str | None = None,
        http_token: str | None = None,
        mqtt_host: str | None = None,
        mqtt_port: int | None = None,
        specs: Mapping[str, SensorSpec] | None = None,
        truth_path: Path | None = None,
        dt_s: float = 1.0,
    ) -> None:
        if not (dt_s > 0 and speed >= 0):
            raise ValueError(f"need dt_s > 0 and speed >= 0, got {dt_s}, {speed}")
        self.world = world
        self.configs = {c.id: c for c in sensor_configs}
        self.seed, self.speed, self.dt_s = seed, speed, dt_s
        self.start = (start or datetime.now(UTC).replace(microsecond=0)).astimezone(UTC)
        self.http_base_url = http_base_url.rstrip("/") if http_base_url else None
        self.http_token = http_token  # sent as Authorization: Bearer with every POST
        self.mqtt_host, self.mqtt_port = mqtt_host, mqtt_port
        self.truth_path = truth_path
        water = WaterGrid(world.river)
        specs = specs or {}
        self.sensors: dict[str, SimSensor] = {
            c.id: make_sim_sensor(c, specs.get(c.id) or default_spec(c), sensor_rng(seed, c.id), water)
            for c in sensor_configs
        }
        self.stats = RunStats()

    def _steps(self, duration_s: float | None) -> Generator[tuple[float, datetime, list[EntityState]], None, None]:
        """(sim seconds, UTC time, states) every ``dt_s``; truth written on the way."""
        with contextlib.ExitStack() as stack:
            out: IO[str] | None = None
            if self.truth_path is not None:
                out = stack.enter_context(self.truth_path.open("w", encoding="utf-8"))
            truth = TruthLog(self.world.river)
            k = 0
            while duration_s is None or k * self.dt_s < duration_s - 1e-9:
                t_s = k * self.dt_s
                when = self.start + timedelta(seconds=t_s)
                states = self.world.states(t_s)
                if out is not None:
                    out.writelines(json.dumps(r) + "\n" for r in truth.records(when, states))
                yield t_s, when, states
                k += 1

    def frames(self, duration_s: float) -> Iterator[Frame]:
        """Every payload of ``duration_s`` of sim time, in order, without sockets."""
        for t_s, when, states in self._steps(duration_s):
            for sid, sensor in self.sensors.items():
                for payload in sensor.step(t_s, when, states):
                    yield Frame(when, sid, payload)

    def run(self, duration_s: float | None = None, stop: threading.Event | None = None) -> RunStats:
        """Send over real sockets until ``duration_s`` of sim time (None: forever) or ``stop``."""
        stop = stop or threading.Event()
        emitters = self._emitters()
        wall0 = time.monotonic()
        try:
            with contextlib.closing(self._steps(duration_s)) as steps:
                for t_s, when, states in steps:
                    if not self._wait(wall0 + t_s / self.speed if self.speed > 0 else 0.0, stop):
                        break
                    self._send(emitters, t_s, when, states)
        finally:
            for em in emitters.values():
                em.close()
        return self.stats

    @staticmethod
    def _wait(until_monotonic: float, stop: threading.Event) -> bool:
        """Sleep until a wall time (0 or infinite speed: not at all); False when stopped."""
        delay = until_monotonic - time.monotonic()
        if delay > 0 and math.isfinite(delay):
            return not stop.wait(delay)
        return not stop.is_set()

    def _send(self, emitters: Mapping[str, Emitter], t_s: float, when: datetime, states: list[EntityState]) -> None:
        for sid, sensor in self.sensors.items():
            for payload in sensor.step(t_s, when, states):
                ok = emitters[sid].send(payload, t_s)
                counts = self.stats.sent if ok else self.stats.failed
                counts[sid] = counts.get(sid, 0) + 1
        self.stats.steps += 1
        self.stats.sim_s = t_s + self.dt_s

    def _emitters(self) -> dict[str, Emitter]:
        """One emitter per sensor, by its transport; MQTT without a broker falls back to HTTP."""
        out: dict[str, Emitter] = {}
        brokers: dict[tuple[str, int], bool] = {}
        for sid, cfg in self.configs.items():
            t = cfg.transport
            if isinstance(t, MqttTransport):
                host, port = self.mqtt_host or t.host, self.mqtt_port or t.port
                if brokers.get((host, port), True):
                    try:
                        out[sid] = MqttEmitter(host, port, t.topic, f"dwatch-sim-{sid}-{os.getpid()}")
                        brokers[(host, port)] = True
                        continue
                    except OSError:
                        brokers[(host, port)] = False
                        what = "camera events" if isinstance(cfg, CameraConfig) else f"messages of {sid}"
                        log.warning("no MQTT broker at %s:%d: %s go over HTTP", host, port, what)
                out[sid] = self._http(sid)
            elif isinstance(t, HttpTransport):
                out[sid] = self._http(sid)
            elif isinstance(t, TcpServerTransport):
                out[sid] = TcpClientEmitter(t.host, t.port, sid)
            elif isinstance(t, TcpClientTransport):
                out[sid] = TcpListenEmitter(t.host, t.port, sid)
            else:
                out[sid] = UdpEmitter(t.host, t.port, sid)
        return out

    def _http(self, sensor_id: str) -> Emitter:
        if self.http_base_url is None:
            log.warning("sensor %s: sent over HTTP but no server URL was given: its messages are dropped", sensor_id)
            return NullEmitter()
        return HttpEmitter(f"{self.http_base_url}/api/sensors/{sensor_id}/ingest", sensor_id, self.http_token)
