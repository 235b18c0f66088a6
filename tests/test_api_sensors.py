"""Sensors through the real server: health in /api/sensors, camera events over HTTP POST,
NMEA over UDP, 4xx for bad bodies; the server keeps running on garbage."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sar.auth.sessions import token_sha256
from sensors.camera import make_event
from sensors.radar_nmea import encode_ttm
from tests.conftest import Server, free_port, start_server, stop_server

CAMERA = "md-cam-soroca"
RADAR = "md-radar-otaci"
CAMERA_TOKEN = "camera-token-soroca-0123456789"  # the camera's own token for its POSTs
RADAR_TOKEN = "radar-token-otaci-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, int]]:
    udp_port = free_port()
    cfg: Path = tmp_path_factory.mktemp("cfg") / "sensors.toml"
    cfg.write_text(
        f"""
[[sensors]]
type = "camera"
id = "{CAMERA}"
agency = "MD"
site = {{lon = 28.2849, lat = 48.1566, height_m = 25}}
heading_deg = 90
hfov_deg = 30
vfov_deg = 17
image_width_px = 1920
image_height_px = 1080
expected_period_s = 60
transport = {{kind = "http"}}
token_sha256 = "{token_sha256(CAMERA_TOKEN)}"

[[sensors]]
type = "radar_nmea"
id = "{RADAR}"
agency = "MD"
site = {{lon = 27.80, lat = 48.43}}
expected_period_s = 3
transport = {{kind = "udp", port = {udp_port}}}
token_sha256 = "{token_sha256(RADAR_TOKEN)}"
"""
    )
    srv = start_server(["serve", "--config", str(cfg)])
    yield srv, udp_port
    stop_server(srv)


def call(srv: Server, path: str, body: bytes | None = None, token: str | None = None) -> tuple[int, Any]:
    """A request with the operator's token unless another ``token`` is given ('' for none)."""
    token = srv.token if token is None else token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(
        srv.url + path, data=body, method="POST" if body is not None else "GET", headers=headers
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def health(srv: Server, sensor_id: str) -> dict[str, Any]:
    status, body = call(srv, "/api/sensors")
    assert status == 200
    return next(h for h in body if h["sensor_id"] == sensor_id)


def test_sensors_listed_with_no_data_yet(server: tuple[Server, int]) -> None:
    srv, _ = server
    status, body = call(srv, "/api/sensors")
    assert status == 200
    assert {(h["sensor_id"], h["kind"], h["agency"], h["transport"]) for h in body} == {
        (CAMERA, "camera", "MD", "http"),
        (RADAR, "radar", "MD", "udp"),
    }


def test_camera_event_over_http(server: tuple[Server, int]) -> None:
    srv, _ = server
    event = make_event(CAMERA, datetime.now(UTC), "person", 0.9, bearing_deg=120.0, range_m=400.0)
    status, body = call(srv, f"/api/sensors/{CAMERA}/ingest", event)
    assert (status, body) == (202, {"messages": 1, "rejected": {}})
    status, body = call(srv, f"/api/sensors/{CAMERA}/ingest", event)  # resent: harmless
    assert status == 202 and body == {"messages": 0, "rejected": {"duplicate": 1}}
    h = health(srv, CAMERA)
    assert h["accepted"] == 1 and h["status"] == "ok" and h["rejected"] == {"duplicate": 1}


@pytest.mark.parametrize(
    ("sensor", "body", "status", "fragment"),
    [
        (CAMERA, b"{not json", 422, "bad_json"),
        (CAMERA, b'{"schema": "dwatch.camera.v1"}', 422, "schema_error"),
        ("nope", b"{}", 404, "no sensor 'nope'"),
        (CAMERA, b"x" * (2 << 20), 413, "exceeds"),
    ],
)
def test_bad_bodies_are_4xx(server: tuple[Server, int], sensor: str, body: bytes, status: int, fragment: str) -> None:
    srv, _ = server
    got, detail = call(srv, f"/api/sensors/{sensor}/ingest", body)
    assert got == status and fragment in detail["detail"]


def test_radar_over_udp_and_garbage_is_counted(server: tuple[Server, int]) -> None:
    srv, port = server
    now = datetime.now(UTC)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for n in range(5):
            s.sendto((encode_ttm(n + 1, 1500.0, 45.0, 3.0, 90.0, "T", now) + "\r\n").encode(), ("127.0.0.1", port))
        s.sendto(b"$RATTM,garbage*00\r\n\x00\xff\x10", ("127.0.0.1", port))
    deadline = time.monotonic() + 5
    while (h := health(srv, RADAR))["accepted"] < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert h["accepted"] == 5
    assert sum(h["rejected"].values()) == 2
    assert call(srv, "/api/health", token="")[0] == 200


def test_a_sensor_posts_with_its_own_token_and_only_to_itself(server: tuple[Server, int]) -> None:
    srv, _ = server
    event = make_event(CAMERA, datetime.now(UTC), "vessel", 0.8, bearing_deg=100.0, range_m=300.0)
    assert call(srv, f"/api/sensors/{CAMERA}/ingest", event, token=CAMERA_TOKEN) == (
        202,
        {"messages": 1, "rejected": {}},
    )
    refused = "invalid or expired token (neither this sensor's nor a user's)"
    assert call(srv, f"/api/sensors/{CAMERA}/ingest", event, token=RADAR_TOKEN) == (401, {"detail": refused})
    status, body = call(srv, f"/api/sensors/{CAMERA}/ingest", event, token="")
    assert status == 401 and body["detail"].startswith("missing token")
    assert call(srv, "/api/sensors", token=CAMERA_TOKEN)[0] == 401  # a sensor's token reads nothing
