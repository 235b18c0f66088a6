"""Benchmark of the live latency target: from a sensor message arriving to the incident on
``/ws/live``, p99 <= 250 ms while 5,000 observations/s flow.

Measured from outside, on 127.0.0.1 only:

- The real server runs as a subprocess (``python -m sar serve --config <tmp toml>``, port from
  ``DWATCH_SERVER__PORT``, wall clock) with R background radars and one probe radar
  (``radar_nmea`` over UDP), a few cameras (UDP) and the tracker ``lag_s`` under test (the
  observations are held that long to be put in time order, so it is part of the latency).
- Load: a separate process streams NMEA TLL sentences, one per datagram, for N boats moving along
  the north section (km 5-95), round-robin so the total is the asked rate (default 500 boats at
  10 Hz = 5,000/s: a stress rate per target, ten radars that each report 50 boats ten times a
  second), stamped with the wall clock when sent.
- Probes, in the empty stretch from km 100, 500 m apart: every ``--probe-every`` seconds a new
  target appears; the probe radar reports it every 0.5 s (three fixes confirm its track, class
  unknown), then the nearest camera reports a "person" there (confidence 0.9, bearing and laser
  range). That camera event is the DECISIVE message: with it the confirmed track becomes a person
  on the water and PersonInWaterRule fires. Before the run each probe is replayed offline through a
  Tracker (lag 0) and the rule to check that nothing fires before the camera event and that it
  fires right after. The probe radar keeps reporting every probe target (a person staying in the
  water), so old person tracks stay small and never capture a new probe.
- A websocket client on ``/ws/live`` takes the wall time when each ``incident`` message arrives and
  matches it to its probe by position (within 100 m). Latency = arrival - camera send time; split
  into server (the message's ``ts`` - send) and delivery (arrival - ``ts``).
- Per lag: latency p50/p90/p99/max (with 40 probes p99 is close to the max), missing and premature
  probes, sent and accepted observation rates (``GET /api/sensors``), tracker counters such as
  ``too_late`` (``GET /api/health``), kernel UDP receive-buffer drops (``/proc/net/snmp``), server
  CPU and memory, and the map's cadence seen from outside: gaps between ``tracks`` messages
  (``pipeline.tracks_every_s`` = 0.5 s, stretched by whatever the event loop did meanwhile).
- ``--profile``: the pipeline of ``create_app`` driven in-process by a simulated clock with the same
  load, timing every part of a tick (tracker.advance, tracker.tracks, track_features, each incident
  rule, the live feed's JSON encoding) and the ingest of the datagrams (decode + bus + tracker.add),
  plus the garbage collector's pauses (``gc_pause_gen*``: inside the other parts, not added to them).

Run: ``.venv/bin/python bench/bench_live_latency.py [--lags 0.05 2.0] [--rate 5000] [--boats 500]
[--profile]``. Prints JSON, then one verdict line per lag against the 250 ms target.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import itertools
import json
import math
import multiprocessing as mp
import os
import pstats
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pyproj import Geod
from websockets.asyncio.client import connect

import sar.pipeline
from geo.river import RiverModel
from sar.incidents.rules import PersonInWaterRule
from sar.tracking.config import TrackerSettings
from sar.tracking.tracker import Tracker
from sensors.camera import CameraConfig, CameraDecoder, make_event
from sensors.config import Site
from sensors.radar_nmea import RadarNmeaConfig, RadarNmeaDecoder, encode_tll
from sensors.registry import SensorConfig

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
TARGET_MS = 250.0
SECTION = "north"
BG_KM = (5.0, 95.0)
PROBE_KM0, PROBE_STEP_KM, CAMERA_STEP_KM = 100.0, 0.5, 5.0
PROBE_SCAN_S, PROBE_FIXES = 0.5, 3
PERSON_CONFIDENCE = 0.9
MATCH_M = 100.0
GEOD = Geod(ellps="WGS84")
HEAD = re.compile(r'^\{"type":"(\w+)","seq":(\d+),"ts":"([^"]+)"')
Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Post:
    """A sensor of the run: its id, UDP port and site."""

    id: str
    port: int
    lon: float
    lat: float


@dataclass(frozen=True)
class Probe:
    lon: float
    lat: float
    camera: int
    bearing_deg: float
    range_m: float


@dataclass(frozen=True)
class Layout:
    radars: tuple[Post, ...]
    probe_radar: Post
    cameras: tuple[Post, ...]
    boat_radar: tuple[int, ...]
    boat_km: tuple[float, ...]
    boat_offset_m: tuple[float, ...]
    boat_speed_mps: tuple[float, ...]
    probes: tuple[Probe, ...]


def free_ports(n: int, kind: int) -> list[int]:
    socks = [socket.socket(socket.AF_INET, kind) for _ in range(n)]
    for s in socks:
        s.bind((HOST, 0))
    ports = [int(s.getsockname()[1]) for s in socks]
    for s in socks:
        s.close()
    return ports


def make_layout(river: RiverModel, n_boats: int, n_radars: int, n_probes: int, seed: int) -> Layout:
    """Background boats and radars on km 5-95; probes from km 100 with a camera per 5 km."""
    rng = np.random.default_rng(seed)
    n_cam = math.ceil(n_probes * PROBE_STEP_KM / CAMERA_STEP_KM)
    ports = free_ports(n_radars + 1 + n_cam, socket.SOCK_DGRAM)
    span = (BG_KM[1] - BG_KM[0]) / n_radars

    def post(name: str, port: int, km: float, offset_m: float) -> Post:
        return Post(name, port, *river.axis_point(SECTION, km, offset_m))

    radars = tuple(post(f"bg-radar-{i}", ports[i], BG_KM[0] + (i + 0.5) * span, 300.0) for i in range(n_radars))
    km = BG_KM[0] + (np.arange(n_boats) + 0.5) * (BG_KM[1] - BG_KM[0]) / n_boats
    side = np.where(np.arange(n_boats) % 2 == 0, 1.0, -1.0)
    cameras = tuple(
        post(f"camera-{j}", ports[n_radars + 1 + j], PROBE_KM0 + (j + 0.5) * CAMERA_STEP_KM, -250.0)
        for j in range(n_cam)
    )
    probes = []
    for k in range(n_probes):
        lon, lat = river.axis_point(SECTION, PROBE_KM0 + (k + 0.5) * PROBE_STEP_KM, 20.0 if k % 2 else -20.0)
        cam = int(k * PROBE_STEP_KM // CAMERA_STEP_KM)
        az, _, dist = GEOD.inv(cameras[cam].lon, cameras[cam].lat, lon, lat)
        probes.append(Probe(lon, lat, cam, float(az) % 360.0, float(dist)))
    return Layout(
        radars=radars,
        probe_radar=post("probe-radar", ports[n_radars], PROBE_KM0 + n_probes * PROBE_STEP_KM / 2, 300.0),
        cameras=cameras,
        boat_radar=tuple(int(r) for r in np.minimum((km - BG_KM[0]) // span, n_radars - 1)),
        boat_km=tuple(km.tolist()),
        boat_offset_m=tuple((side * rng.uniform(30.0, 80.0, n_boats)).tolist()),
        boat_speed_mps=tuple((rng.choice([-1.0, 1.0], n_boats) * rng.uniform(0.5, 4.0, n_boats)).tolist()),
        probes=tuple(probes),
    )


def boat_positions(river: RiverModel, layout: Layout, seconds: int) -> tuple[Floats, Floats]:
    """Lon and lat of every boat at each whole second (rows), to interpolate between."""
    lon = np.zeros((seconds + 2, len(layout.boat_km)))
    lat = np.zeros_like(lon)
    for s in range(seconds + 2):
        for i, (km, off, v) in enumerate(zip(layout.boat_km, layout.boat_offset_m, layout.boat_speed_mps, strict=True)):
            lon[s, i], lat[s, i] = river.axis_point(SECTION, km + v * s / 1000.0, off)
    return lon, lat


def config_toml(layout: Layout, lag_s: float) -> str:
    """The server's settings: tracker lag, the radars and cameras over UDP; everything else default."""
    lines = ["[tracker]", f"lag_s = {lag_s!r}", ""]
    for r in (*layout.radars, layout.probe_radar):
        lines += ["[[sensors]]", 'type = "radar_nmea"', f'id = "{r.id}"', 'agency = "MD"', "expected_period_s = 1.0"]
        lines += [f"site = {{ lon = {r.lon!r}, lat = {r.lat!r}, height_m = 20.0 }}", _udp(r.port), ""]
    for c in layout.cameras:
        lines += ["[[sensors]]", 'type = "camera"', f'id = "{c.id}"', 'agency = "UA"', "heading_deg = 0.0"]
        lines += [f"site = {{ lon = {c.lon!r}, lat = {c.lat!r}, height_m = 15.0 }}", _udp(c.port), ""]
    return "\n".join(lines)


def _udp(port: int) -> str:
    return f'transport = {{ kind = "udp", host = "{HOST}", port = {port} }}'


# --- the load process ---------------------------------------------------------------------------


def run_load(layout: Layout, rate: float, max_s: float, ready: MpEvent, go: MpEvent, stop: MpEvent, sent: Any) -> None:
    """Stream TLL sentences round-robin over the boats at ``rate`` per second until ``stop``."""
    lon, lat = boat_positions(RiverModel(), layout, int(max_s) + 1)
    addrs = [(HOST, layout.radars[r].port) for r in layout.boat_radar]
    n = len(addrs)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ready.set()
    go.wait()
    t0, done = time.time(), 0
    while not stop.is_set() and (now := time.time()) - t0 < max_s:
        el = now - t0
        s, frac = int(el), el - int(el)
        stamp = datetime.fromtimestamp(now, UTC)
        while done < int(el * rate):
            i = done % n
            x = lon[s, i] + frac * (lon[s + 1, i] - lon[s, i])
            y = lat[s, i] + frac * (lat[s + 1, i] - lat[s, i])
            sock.sendto((encode_tll(i, float(x), float(y), "tracking", stamp) + "\r\n").encode(), addrs[i])
            done += 1
        sent.value = done
        time.sleep(0.002)
    sock.close()


# --- the probes ---------------------------------------------------------------------------------


def probe_messages(layout: Layout, k: int, t0: datetime) -> list[tuple[datetime, str, bytes]]:
    """One probe alone: three radar fixes 0.5 s apart, the camera's person half a scan later, two
    more fixes. (time, sensor kind, bytes)."""
    p = layout.probes[k]
    out = [
        (t0 + timedelta(seconds=j * PROBE_SCAN_S), "radar", _tll(k, p, t0 + timedelta(seconds=j * PROBE_SCAN_S)))
        for j in (0, 1, 2, 3, 4)
    ]
    t_cam = t0 + timedelta(seconds=(PROBE_FIXES - 0.5) * PROBE_SCAN_S)
    out.append((t_cam, "camera", _camera_event(layout, k, t_cam)))
    return sorted(out, key=lambda m: m[0])


def _tll(k: int, p: Probe, when: datetime) -> bytes:
    return (encode_tll(k + 1, p.lon, p.lat, "tracking", when) + "\r\n").encode()


def _camera_event(layout: Layout, k: int, when: datetime) -> bytes:
    p = layout.probes[k]
    cam = layout.cameras[p.camera].id
    return make_event(cam, when, "person", PERSON_CONFIDENCE, bearing_deg=p.bearing_deg, range_m=p.range_m, track_id=k)


def decisive_check(river: RiverModel, layout: Layout) -> list[str]:
    """Replay each probe offline (Tracker with lag 0, PersonInWaterRule); the first finding must
    come right after the camera event. Returns the problems found."""
    t0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    radar = RadarNmeaDecoder(_radar_config(layout.probe_radar))
    problems = []
    for k, p in enumerate(layout.probes):
        camera = CameraDecoder(_camera_config(layout.cameras[p.camera]))
        tracker = Tracker(TrackerSettings(lag_s=0.0), river.projector)
        rule = PersonInWaterRule(river)
        fired = None
        for i, (t, kind, raw) in enumerate(probe_messages(layout, k, t0)):
            for obs in (radar if kind == "radar" else camera).decode(raw, t).messages:
                tracker.add(obs)
            tracker.advance(t + timedelta(milliseconds=1))
            if rule.evaluate(t, tracker.tracks()):
                fired = (i, kind)
                break
        if fired != (PROBE_FIXES, "camera"):
            problems.append(f"probe {k}: first finding after {fired}, expected the camera event")
    return problems


def _radar_config(p: Post) -> RadarNmeaConfig:
    return RadarNmeaConfig(id=p.id, agency="MD", site=Site(lon=p.lon, lat=p.lat, height_m=20.0))


def _camera_config(p: Post) -> CameraConfig:
    return CameraConfig(id=p.id, agency="UA", site=Site(lon=p.lon, lat=p.lat, height_m=15.0), heading_deg=0.0)


@dataclass
class ProbeLog:
    """What the probe driver and the websocket client saw (wall-clock seconds)."""

    sent: dict[int, float]
    arrived: dict[int, tuple[float, float]]  # probe -> (arrival, message ts)
    premature: set[int]
    ticks: list[tuple[float, float, int]]  # tracks messages: (ts, arrival, bytes)
    other: Counter[str]


async def drive_probes(
    layout: Layout, every_s: float, log: ProbeLog, all_sent: asyncio.Event, stop: asyncio.Event
) -> None:
    """The probe radar reports every started probe each scan; each probe's camera event goes half
    a scan after its third fix. Runs until ``stop``."""
    per = max(1, round(every_s / PROBE_SCAN_S))
    t0 = time.time() + 0.2
    cams = [(t0 + (k * per + PROBE_FIXES - 0.5) * PROBE_SCAN_S, k) for k in range(len(layout.probes))]
    radar = (HOST, layout.probe_radar.port)
    j = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        while not stop.is_set():
            t_scan = t0 + j * PROBE_SCAN_S
            while cams and cams[0][0] < t_scan:
                t_cam, k = cams.pop(0)
                await _sleep_until(t_cam)
                raw = _camera_event(layout, k, datetime.fromtimestamp(time.time(), UTC))
                sock.sendto(raw, (HOST, layout.cameras[layout.probes[k].camera].port))
                log.sent[k] = time.time()
            if not cams:
                all_sent.set()
            await _sleep_until(t_scan)
            stamp = datetime.fromtimestamp(time.time(), UTC)
            for k in range(min(len(layout.probes), j // per + 1)):
                sock.sendto(_tll(k, layout.probes[k], stamp), radar)
            j += 1


async def _sleep_until(t: float) -> None:
    await asyncio.sleep(max(0.0, t - time.time()))


async def listen(url: str, layout: Layout, log: ProbeLog, connected: asyncio.Event) -> None:
    """Timestamp every live message on arrival; match person-in-water incidents to probes."""
    async with connect(url, max_size=None, ping_interval=None, close_timeout=1) as ws:
        connected.set()
        async for raw in ws:
            t = time.time()
            m = HEAD.match(raw) if isinstance(raw, str) else None
            if m is None:
                continue
            ts = datetime.fromisoformat(m[3]).timestamp()
            if m[1] == "tracks":
                log.ticks.append((ts, t, len(raw)))
            elif m[1] == "incident":
                _on_incident(json.loads(raw)["data"], ts, t, layout, log)


def _on_incident(data: dict[str, Any], ts: float, t: float, layout: Layout, log: ProbeLog) -> None:
    if data["type"] != "person_in_water":
        log.other[data["type"]] += 1
        return
    lat0 = math.radians(data["lat"])
    dist = [math.hypot((p.lon - data["lon"]) * math.cos(lat0), p.lat - data["lat"]) * 111_195.0 for p in layout.probes]
    k = int(np.argmin(dist))
    if dist[k] > MATCH_M:
        log.other["person_in_water_unmatched"] += 1
    elif k not in log.arrived:
        log.arrived[k] = (t, ts)
        if k not in log.sent:
            log.premature.add(k)


# --- one run against the real server ------------------------------------------------------------


ADMIN = ("bench-admin", secrets.token_urlsafe(16))  # the server's admin, from the environment
TOKENS: dict[int, str] = {}  # port -> login token


def get_json(port: int, path: str) -> Any:
    headers = {"Authorization": f"Bearer {TOKENS[port]}"} if port in TOKENS else {}
    req = urllib.request.Request(f"http://{HOST}:{port}{path}", headers=headers)
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def log_in(port: int) -> None:
    body = json.dumps({"username": ADMIN[0], "password": ADMIN[1]}).encode()
    req = urllib.request.Request(
        f"http://{HOST}:{port}/api/auth/login", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        TOKENS[port] = json.loads(r.read())["token"]


def snapshot(port: int, pid: int, sent: Any) -> dict[str, Any]:
    """Server counters, kernel UDP drops, server CPU seconds and the load sender's count, now."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    snmp = [ln.split() for ln in Path("/proc/net/snmp").read_text().splitlines() if ln.startswith("Udp:")]
    return {
        "t": time.time(),
        "sensors": {s["sensor_id"]: s for s in get_json(port, "/api/sensors")},
        "tracker": get_json(port, "/api/health")["tracker"],
        "cpu_s": (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK"),
        "udp": dict(zip(snmp[0][1:], map(int, snmp[1][1:]), strict=True)),
        "sent": int(sent.value),
        "rss_mb": _rss_mb(pid),
    }


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return math.nan


def start_server(config: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DWATCH_SERVER__PORT": str(port),
        "DWATCH_ADMIN_USERNAME": ADMIN[0],
        "DWATCH_ADMIN_PASSWORD": ADMIN[1],
        "DWATCH_STORAGE__DATA_DIR": str(log_path.parent / "data"),  # the default SQLite store, in the run's temp dir
    }
    with log_path.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "sar", "serve", "--config", str(config)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def wait_up(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            await asyncio.to_thread(get_json, port, "/api/health")
            await asyncio.to_thread(log_in, port)
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise RuntimeError("server did not come up")


async def measure(layout: Layout, args: argparse.Namespace, port: int, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    """Load on, websocket on, warm-up, probes, wait for their incidents; the figures."""
    ctx = mp.get_context("spawn")
    ready, go, stop = ctx.Event(), ctx.Event(), ctx.Event()
    sent: Synchronized[int] = ctx.Value("q", 0)
    budget_s = args.warmup + len(layout.probes) * args.probe_every + 60.0
    loader = ctx.Process(target=run_load, args=(layout, args.rate, budget_s, ready, go, stop, sent), daemon=True)
    loader.start()
    log = ProbeLog({}, {}, set(), [], Counter())
    tasks: list[asyncio.Task[None]] = []
    try:
        await asyncio.to_thread(ready.wait, 120)
        connected, all_sent, done = asyncio.Event(), asyncio.Event(), asyncio.Event()
        tasks.append(
            asyncio.create_task(listen(f"ws://{HOST}:{port}/ws/live?token={TOKENS[port]}", layout, log, connected))
        )
        await asyncio.wait_for(connected.wait(), 10)
        go.set()
        await asyncio.sleep(args.warmup)
        a = await asyncio.to_thread(snapshot, port, proc.pid, sent)
        tasks.append(asyncio.create_task(drive_probes(layout, args.probe_every, log, all_sent, done)))
        await all_sent.wait()
        deadline = time.time() + args.lag + 5.0
        while len(log.arrived) < len(layout.probes) and time.time() < deadline:
            await asyncio.sleep(0.05)
        b = await asyncio.to_thread(snapshot, port, proc.pid, sent)
        done.set()
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        loader.join(10)
    return figures(layout, args, log, a, b)


def pct(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None}
    v = np.array(values)
    q = np.percentile(v, [50, 90, 99])
    return {"n": len(v), "p50": round(q[0], 1), "p90": round(q[1], 1), "p99": round(q[2], 1), "max": round(v.max(), 1)}


def figures(
    layout: Layout, args: argparse.Namespace, log: ProbeLog, a: dict[str, Any], b: dict[str, Any]
) -> dict[str, Any]:
    span = b["t"] - a["t"]
    bg = {r.id for r in layout.radars}
    accepted = sum(b["sensors"][s]["accepted"] - a["sensors"][s]["accepted"] for s in bg)
    rejected: Counter[str] = Counter()
    for sid in b["sensors"]:
        rejected.update(
            {k: n - a["sensors"][sid]["rejected"].get(k, 0) for k, n in b["sensors"][sid]["rejected"].items()}
        )
    ok = [k for k in log.arrived if k in log.sent and k not in log.premature]
    lat_ms = [(log.arrived[k][0] - log.sent[k]) * 1e3 for k in ok]
    ticks = [t for t in log.ticks if a["t"] <= t[1] <= b["t"]]
    gaps = [(y[0] - x[0]) * 1e3 for x, y in zip(ticks, ticks[1:], strict=False)]
    counters = {k: b["tracker"][k] - a["tracker"].get(k, 0) for k in b["tracker"] if k not in ("buffered", "tracks")}
    return {
        "lag_s": args.lag,
        "probes": len(layout.probes),
        "matched": len(ok),
        "missing": sorted(set(range(len(layout.probes))) - set(log.arrived)),
        "premature": sorted(log.premature),
        "latency_ms": pct(lat_ms),
        "server_part_ms": pct([(log.arrived[k][1] - log.sent[k]) * 1e3 for k in ok]),
        "delivery_ms": pct([(log.arrived[k][0] - log.arrived[k][1]) * 1e3 for k in ok]),
        "window_s": round(span, 1),
        "observations_per_s": {
            "asked": args.rate,
            "sent": round((b["sent"] - a["sent"]) / span),
            "accepted": round(accepted / span),
        },
        "rejected": {k: n for k, n in rejected.items() if n},
        "udp_rcvbuf_errors": b["udp"]["RcvbufErrors"] - a["udp"]["RcvbufErrors"],
        "tracker": {**counters, "tracks_now": b["tracker"]["tracks"], "buffered_now": b["tracker"]["buffered"]},
        "server_cpu_core_fraction": round((b["cpu_s"] - a["cpu_s"]) / span, 2),
        "server_rss_mb": [a["rss_mb"], b["rss_mb"]],
        "tracks_msg_gap_ms": pct(gaps),
        "tracks_msg_kb_mean": round(float(np.mean([t[2] for t in ticks])) / 1024, 1) if ticks else None,
        "tracks_delivery_ms": pct([(t[1] - t[0]) * 1e3 for t in ticks]),
        "other_incidents": dict(log.other),
    }


async def run_lag(layout: Layout, args: argparse.Namespace) -> dict[str, Any]:
    port = free_ports(1, socket.SOCK_STREAM)[0]
    with tempfile.TemporaryDirectory(prefix="dw-bench-") as tmp:
        cfg = Path(tmp) / "bench.toml"
        cfg.write_text(config_toml(layout, args.lag), encoding="utf-8")
        proc = start_server(cfg, port, Path(tmp) / "server.log")
        try:
            await wait_up(port, proc)
            out = await measure(layout, args, port, proc)
        finally:
            stop_server(proc)
            text = (Path(tmp) / "server.log").read_text(errors="replace")
        out["server_log_errors"] = text.count("Traceback") + text.count(" ERROR")
        return out


# --- in-process profile of the pipeline tick ----------------------------------------------------


class SimClock:
    def __init__(self, t: datetime) -> None:
        self.t = t

    def now(self) -> datetime:
        return self.t


class Timings:
    """Accumulates milliseconds per named part; ``wrap`` times a callable."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = defaultdict(float)
        self._gc_start = 0.0

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        """A ``gc.callbacks`` hook: pauses per generation (inside whatever part was running)."""
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.ms[f"gc_pause_gen{info['generation']}"] += (time.perf_counter() - self._gc_start) * 1e3

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.ms[name] += (time.perf_counter() - t) * 1e3

        return timed


def instrument(app: Any, timings: Timings) -> None:
    """Wrap the parts of Pipeline.tick (instance attributes and sar.pipeline's track_features); the
    feed's publish is timed with its one JSON encoding per message."""
    pipeline = app.state.pipeline
    pipeline.tracker.advance = timings.wrap("tracker.advance", pipeline.tracker.advance)
    pipeline.tracker.tracks = timings.wrap("tracker.tracks", pipeline.tracker.tracks)
    sar.pipeline.track_features = timings.wrap("track_features", sar.pipeline.track_features)  # type: ignore[attr-defined]
    pipeline.book.evaluate = timings.wrap("book.evaluate", pipeline.book.evaluate)
    for rule in pipeline.book.rules:
        rule.evaluate = timings.wrap(f"rule.{rule.name}", rule.evaluate)
    publish = pipeline.feed.publish

    def publish_and_encode(type_: str, data: Any) -> Any:
        t = time.perf_counter()
        msg = publish(type_, data)  # encodes the JSON text once, for every client
        timings.ms[f"json.{type_}"] += (time.perf_counter() - t) * 1e3
        return msg

    pipeline.feed.publish = publish_and_encode


def profile(layout: Layout, args: argparse.Namespace, river: RiverModel) -> dict[str, Any]:
    """Drive create_app's pipeline with the same load on a simulated clock: per-tick timings after
    the warm-up, then a few more ticks under cProfile for the hot functions (not timed)."""
    from sar.api.app import create_app
    from sar.settings import Settings

    keep = sar.pipeline.track_features  # type: ignore[attr-defined]
    clock = SimClock(datetime.now(UTC).replace(microsecond=0))
    configs: list[SensorConfig] = [_radar_config(r) for r in layout.radars]
    app = create_app(Settings(sensors=configs, tracker=TrackerSettings(lag_s=args.lag)), river=river, clock=clock)
    timings = Timings()
    instrument(app, timings)
    warm, timed, profiled = int(args.warmup / 0.1), int(args.profile_seconds / 0.1), 30
    feed = load_batches(layout, river, args.rate, clock.t, (warm + timed + profiled) * 0.1)
    pr = cProfile.Profile()
    gc.callbacks.append(timings.on_gc)
    try:
        rows = [one_tick(app, next(feed), clock, timings, None) for _ in range(warm + timed)][warm:]
        for _ in range(profiled):
            one_tick(app, next(feed), clock, timings, pr)
    finally:
        gc.callbacks.remove(timings.on_gc)
        sar.pipeline.track_features = keep  # type: ignore[attr-defined]
    stats = {n: _ms_stats([r.get(n, 0.0) for r in rows]) for n in sorted({k for r in rows for k in r})}
    loop_ms = sum(v["mean"] for k, v in stats.items() if k in ("tick", "ingest") or k.startswith("json."))
    top = pstats.Stats(pr).stats  # type: ignore[attr-defined]
    hot = sorted(top.items(), key=lambda kv: -kv[1][2])[:15]
    return {
        "lag_s": args.lag,
        "ticks": len(rows),
        "tracks": app.state.pipeline.tracker.counters["tracks"],
        "gc_tracked_objects": len(gc.get_objects()),
        "ms_per_tick": stats,
        "event_loop_ms_per_s": round(loop_ms * 10, 1),
        "hot_functions_ms_per_tick_self_cumulative": [
            [f"{Path(f).name}:{ln}({fn})", round(v[2] * 1e3 / profiled, 2), round(v[3] * 1e3 / profiled, 2)]
            for (f, ln, fn), v in hot
        ],
    }


def load_batches(
    layout: Layout, river: RiverModel, rate: float, t0: datetime, seconds: float
) -> Iterator[list[tuple[str, bytes]]]:
    """The background datagrams of each successive 0.1 s, round-robin as the load process sends them."""
    lon, lat = boat_positions(river, layout, int(seconds) + 1)
    n, per_tick, done = len(layout.boat_km), int(rate * 0.1), 0
    for tick in itertools.count():
        batch = []
        for j in range(per_tick):
            el = (tick + j / per_tick) * 0.1
            s, frac, i = int(el), el - int(el), done % n
            x = lon[s, i] + frac * (lon[s + 1, i] - lon[s, i])
            y = lat[s, i] + frac * (lat[s + 1, i] - lat[s, i])
            line = encode_tll(i, float(x), float(y), "tracking", t0 + timedelta(seconds=el))
            batch.append((layout.radars[layout.boat_radar[i]].id, (line + "\r\n").encode()))
            done += 1
        yield batch


def one_tick(
    app: Any, batch: list[tuple[str, bytes]], clock: SimClock, timings: Timings, pr: cProfile.Profile | None
) -> dict[str, float]:
    """Ingest one 0.1 s of datagrams, move the clock, run Pipeline.tick; the timings of this tick."""
    timings.ms.clear()
    t = time.perf_counter()
    for sid, raw in batch:
        app.state.hub.post(sid, raw)
    timings.ms["ingest"] = (time.perf_counter() - t) * 1e3
    clock.t += timedelta(seconds=0.1)
    if pr is not None:
        pr.enable()
    t = time.perf_counter()
    app.state.pipeline.tick()
    timings.ms["tick"] = (time.perf_counter() - t) * 1e3
    if pr is not None:
        pr.disable()
    return dict(timings.ms)


def _ms_stats(values: list[float]) -> dict[str, float]:
    v = np.array(values)
    return {
        "mean": round(float(v.mean()), 2),
        "p50": round(float(np.percentile(v, 50)), 2),
        "p99": round(float(np.percentile(v, 99)), 2),
        "max": round(float(v.max()), 2),
    }


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--lags", type=float, nargs="+", default=[0.05], help="tracker lag_s values to run")
    p.add_argument("--rate", type=float, default=5000.0, help="background observations per second")
    p.add_argument("--boats", type=int, default=500)
    p.add_argument("--radars", type=int, default=10)
    p.add_argument("--probes", type=int, default=40)
    p.add_argument("--probe-every", type=float, default=1.0, help="seconds between new probes")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--profile", action="store_true", help="also profile the pipeline tick in-process")
    p.add_argument("--profile-seconds", type=float, default=20.0)
    p.add_argument("--no-server", action="store_true", help="only the in-process profile")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    river = RiverModel()
    layout = make_layout(river, args.boats, args.radars, args.probes, args.seed)
    problems = decisive_check(river, layout)
    if problems:
        print(json.dumps({"decisive_check": problems}, indent=1))
        return 1
    result: dict[str, Any] = {
        "target_p99_ms": TARGET_MS,
        "boats": args.boats,
        "radars": args.radars,
        "runs": [],
        "profiles": [],
    }
    for lag in args.lags:
        run_args = argparse.Namespace(**{**vars(args), "lag": lag})
        if not args.no_server:
            result["runs"].append(asyncio.run(run_lag(layout, run_args)))
        if args.profile or args.no_server:
            result["profiles"].append(profile(layout, run_args, river))
    print(json.dumps(result, indent=1))
    for r in result["runs"]:
        p99, lost = r["latency_ms"]["p99"], len(r["missing"]) + len(r["premature"])
        good = p99 is not None and p99 <= TARGET_MS and not lost
        print(
            f"lag_s={r['lag_s']}: p99 {p99} ms ({r['matched']}/{r['probes']} probes, "
            f"{r['observations_per_s']['accepted']} obs/s accepted) -> "
            f"{'MEETS' if good else 'MISSES'} the {TARGET_MS:.0f} ms target"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
