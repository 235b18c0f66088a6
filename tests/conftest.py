"""Shared fixtures: the real river model and route graph, the app, and a real server process;
users and tokens for both (every API route but login and health needs a token)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings as hypothesis_settings

from geo.river import RiverModel
from geo.routing import RouteGraph

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

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


# -- users and tokens ------------------------------------------------------------------------------

TEST_PASSWORD = "test-password-" + secrets.token_urlsafe(8)  # a fresh one per test run


@functools.cache
def hashed_test_password() -> str:
    """The argon2 hash of TEST_PASSWORD, computed once per session (argon2 is slow on purpose)."""
    from argon2 import PasswordHasher

    return PasswordHasher().hash(TEST_PASSWORD)


def sign_in(app: FastAPI, role: str = "operator", agency: str = "MD", asset_id: str | None = None) -> str:
    """A fresh token of a user with ``role`` in the app's user store (the user is added, with
    TEST_PASSWORD, the first time it is asked for)."""
    from sar.auth.service import Auth
    from sar.auth.users import Role, User
    from sar.dispatch.fleet import Agency

    auth: Auth = app.state.auth
    username = f"test-{role}-{agency.lower()}" + (f"-{asset_id.lower()}" if asset_id else "")
    if auth.users.get(username) is None:
        user = User(username, Role(role), Agency(agency), asset_id)
        auth.users.add_hashed(user, hashed_test_password(), persist=False)
    return auth.sessions.issue(username).token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def api_client(
    app: FastAPI, role: str = "operator", agency: str = "MD", asset_id: str | None = None
) -> Iterator[TestClient]:
    """A started TestClient whose requests and websockets carry the token of a user with ``role``."""
    from fastapi.testclient import TestClient

    with TestClient(app, headers=bearer(sign_in(app, role, agency, asset_id))) as client:
        yield client


# -- real servers -----------------------------------------------------------------------------------

ADMIN = "test-admin"
OPERATOR = "test-operator"


@dataclass
class Server:
    """A server process. ``token`` is an operator's (``test-operator``, agency MD), ``admin_token``
    the admin's made from DWATCH_ADMIN_USERNAME/PASSWORD; ``lines`` is its output so far."""

    url: str
    process: subprocess.Popen[str]
    token: str = ""
    admin_token: str = ""
    admin_password: str = ""
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


def http_json(
    url: str, body: Any = None, token: str | None = None, method: str | None = None, timeout_s: float = 10.0
) -> tuple[int, Any]:
    """(status, JSON body) of a request; POST when there is a body unless ``method`` says."""
    headers = {"Content-Type": "application/json", **(bearer(token) if token else {})}
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"), headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def login(url: str, username: str, password: str) -> str:
    status, body = http_json(url + "/api/auth/login", {"username": username, "password": password})
    assert status == 200, body
    return str(body["token"])


def start_server(args: list[str], timeout_s: float = 30.0, env: dict[str, str] | None = None) -> Server:
    """Start ``python -m sar <args>`` on a free port (DWATCH_SERVER__PORT, or ``--port`` for
    ``demo``) with an admin from the environment and its own fresh storage folder (unless ``env``
    names one), wait until /api/health answers, then log the admin in and have it add an
    operator (``Server.token``; a server restarted on its database has it already)."""
    port = free_port()
    admin_password = secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "DWATCH_STORAGE__DATA_DIR": tempfile.mkdtemp(prefix="dwatch-test-"),
        "PYTHONUNBUFFERED": "1",
        "DWATCH_SERVER__PORT": str(port),
        "DWATCH_ADMIN_USERNAME": ADMIN,
        "DWATCH_ADMIN_PASSWORD": admin_password,
        **(env or {}),
    }
    port_args = ["--port", str(port)] if args[0] == "demo" else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "sar", *args, *port_args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Server(f"http://127.0.0.1:{port}", proc, admin_password=admin_password)
    server.reader = threading.Thread(target=_collect, args=(proc, server.lines), daemon=True)
    server.reader.start()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            server.reader.join(5)
            raise RuntimeError(f"server exited early: {''.join(server.lines)}")
        try:
            with urllib.request.urlopen(server.url + "/api/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("server did not answer /api/health in time")
    server.admin_token = login(server.url, ADMIN, admin_password)
    operator = {"username": OPERATOR, "password": TEST_PASSWORD, "role": "operator", "agency": "MD"}
    status, body = http_json(server.url + "/api/users", operator, server.admin_token)
    assert status == 201 or (status == 409 and "exists" in body["detail"]), body
    server.token = login(server.url, OPERATOR, TEST_PASSWORD)
    return server


def _collect(proc: subprocess.Popen[str], lines: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)


def stop_server(server: Server) -> str:
    """Stop the process; returns all it printed."""
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    if server.reader is not None:
        server.reader.join(10)
    return "".join(server.lines)


def demo_credentials(server: Server) -> dict[str, str]:
    """The demo users' passwords as ``dwatch demo`` printed them (username -> password)."""
    out: dict[str, str] = {}
    for line in server.lines:
        parts = line.split()
        if parts and parts[0].startswith("demo-") and len(parts) >= 4:
            out[parts[0]] = parts[-1]
    return out


# Put in a browser context (``context.add_init_script``) before the page loads: the page finds
# the token where its own login form keeps it.
def token_init_script(token: str) -> str:
    return f"localStorage.setItem('dw.token', {json.dumps(token)});"


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
