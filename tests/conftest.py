"""Shared fixtures: the real river model and route graph, the app, and a real server process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from geo.river import RiverModel
from geo.routing import RouteGraph

REPO = Path(__file__).resolve().parent.parent

# CI explores the same examples on every run (a red CI is then reproducible); locally the
# examples vary, which keeps finding new cases.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def river() -> RiverModel:
    return RiverModel()


@pytest.fixture(scope="session")
def graph(river: RiverModel) -> RouteGraph:
    return RouteGraph(river)


@pytest.fixture(scope="session")
def places() -> dict[str, dict[str, Any]]:
    """Places of places.geojson by name (properties plus lon/lat)."""
    fc = json.loads(resources.files("dwatch_data").joinpath("places.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["name"]: f["properties"] for f in fc["features"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]


def start_server(args: list[str], timeout_s: float = 30.0) -> Server:
    """Start ``python -m sar <args>`` on a free port (DWATCH_SERVER__PORT, or ``--port`` for
    ``demo``) and wait until /api/health answers."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DWATCH_SERVER__PORT": str(port)}
    port_args = ["--port", str(port)] if args[0] == "demo" else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "sar", *args, *port_args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=1) as r:
                if r.status == 200:
                    return Server(url, proc)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not answer /api/health in time")


def stop_server(server: Server) -> str:
    server.process.terminate()
    try:
        out, _ = server.process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        out, _ = server.process.communicate()
    return out


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (``playwright install`` cannot run here)."""
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (the project's test script does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def demo_server() -> Iterator[Server]:
    """A real ``dwatch demo`` process on a free port."""
    server = start_server(["demo"])
    yield server
    stop_server(server)
