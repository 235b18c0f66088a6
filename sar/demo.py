"""``dwatch demo``: the whole system on the built-in scenario. The server is configured with the
scenario's sensors and the seeded simulator sends their real wire formats to it over sockets."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI

from geo.river import RiverModel
from sar.auth.users import Role, User, UserStore
from sar.dispatch.fleet import (
    Agency,
    AssetConfig,
    AssetKind,
    FleetSettings,
    example_fleet_path,
    hash_token,
    load_fleet_file,
)
from sar.settings import Settings
from sensors.sim.scenario import DemoPorts, demo_sensor_configs, demo_simulator

log = logging.getLogger("sar.demo")

MQTT_HOST = "127.0.0.1"
TOPIC_ROOT = f"dwatch-demo-{os.getpid()}"  # demos sharing a broker do not hear each other


class ScenarioClock:
    """The demo's clock: scenario time, running ``speed`` times faster than the wall from the
    moment the simulator starts, so the server and the simulator agree on "now"."""

    def __init__(self, speed: float) -> None:
        self.speed = speed if speed > 0 else 1.0
        self.origin = datetime.now(UTC).replace(microsecond=0)
        self._wall0 = time.monotonic()

    def restart(self) -> datetime:
        """Start scenario time now; returns the scenario's start time."""
        self.origin = datetime.now(UTC).replace(microsecond=0)
        self._wall0 = time.monotonic()
        return self.origin

    def now(self) -> datetime:
        return self.origin + timedelta(seconds=(time.monotonic() - self._wall0) * self.speed)


def broker_reachable(host: str, port: int, timeout_s: float = 1.0) -> bool:
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
        return True
    except OSError:
        return False


def demo_settings(
    settings: Settings, ports: DemoPorts, mqtt: bool, speed: float, sensor_token: str | None = None
) -> Settings:
    """The given settings with the scenario's sensors (any configured sensors are kept too). At
    ``speed`` x, a wall-clock delay of half a second is ``speed / 2`` scenario seconds: the
    tracker's reordering lag grows with it so that nothing arrives too late to be used. The
    simulator POSTs to ingest with ``sensor_token``; the scenario's sensors accept it."""
    digest = hash_token(sensor_token) if sensor_token else None
    scenario = [c.model_copy(update={"token_sha256": digest}) for c in demo_sensor_configs(ports, mqtt, TOPIC_ROOT)]
    sensors = [*settings.sensors, *scenario]
    lag_s = max(settings.tracker.lag_s, 0.5 * speed)
    tracker = settings.tracker.model_copy(update={"lag_s": lag_s})
    return settings.model_copy(update={"sensors": sensors, "tracker": tracker})


def demo_fleet(settings: Settings) -> tuple[Settings, dict[str, str]]:
    """The example fleet (unless a fleet is configured) with a fresh crew token per asset; the
    tokens (asset id -> token) are for the operator to hand out and are printed once."""
    if settings.dispatch.fleet.file is not None or settings.dispatch.fleet.assets:
        return settings, {}
    tokens: dict[str, str] = {}
    assets = []
    for a in load_fleet_file(example_fleet_path()).assets:
        tokens[a.id] = f"{a.id.lower()}-{secrets.token_urlsafe(9)}"
        assets.append(a.model_copy(update={"token_sha256": hash_token(tokens[a.id])}))
    dispatch = settings.dispatch.model_copy(update={"fleet": FleetSettings(assets=assets)})
    return settings.model_copy(update={"dispatch": dispatch}), tokens


DEMO_STAFF = (
    ("demo-operator-md", Role.OPERATOR, Agency.MD),
    ("demo-operator-ua", Role.OPERATOR, Agency.UA),
    ("demo-analyst", Role.ANALYST, Agency.MD),
)


def demo_users(users: UserStore, assets: Sequence[AssetConfig]) -> list[tuple[User, str]]:
    """Clearly named demo users with fresh random passwords, kept in memory only (never written
    to a users file): an operator of each agency, an analyst, and a crew user per boat
    (``demo-crew-<asset id>``). Returns each user with its password, to be printed once."""
    planned = [User(name, role, agency) for name, role, agency in DEMO_STAFF]
    planned += [
        User(f"demo-crew-{a.id.lower()}", Role.CREW, a.agency, a.id) for a in assets if a.kind is AssetKind.BOAT
    ]
    planned = [u for u in planned if users.get(u.username) is None]  # a configured user of that name wins
    passwords = [secrets.token_urlsafe(12) for _ in planned]
    with ThreadPoolExecutor() as pool:  # argon2 is slow on purpose; hash them side by side
        hashes = list(pool.map(users.hasher.hash, passwords))
    return [(users.add_hashed(u, h, persist=False), p) for u, h, p in zip(planned, hashes, passwords)]


def simulator_lifespan(
    river: RiverModel,
    ports: DemoPorts,
    base_url: str,
    seed: int,
    clock: ScenarioClock,
    mqtt: bool,
    truth: Path | None,
    sensor_token: str | None = None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Runs the simulator in a thread while the app is up (started after the sensors listen)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        start = clock.restart()
        sim = demo_simulator(
            river, ports, base_url, seed=seed, speed=clock.speed, mqtt=mqtt, start=start, truth_path=truth,
            topic_root=TOPIC_ROOT, http_token=sensor_token,
        )  # fmt: skip
        thread = threading.Thread(target=sim.run, kwargs={"stop": stop}, name="simulator", daemon=True)
        thread.start()
        log.info("demo: scenario simulator running (seed %d, speed x%g)", seed, clock.speed)
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)

    return lifespan
