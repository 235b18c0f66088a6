"""A real ``dwatch demo`` process answers over HTTP and serves the map page."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import Server, demo_credentials, http_json, login, start_server, stop_server


def get(url: str, token: str = "") -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_demo_serves_api_and_map(demo_server: Server) -> None:
    status, body = get(demo_server.url + "/api/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, page = get(demo_server.url + "/")
    assert status == 200 and b"Dniester Watch" in page
    status, js = get(demo_server.url + "/static/vendor/leaflet/leaflet.js")
    assert status == 200 and len(js) > 100_000


def test_demo_answers_bad_input_with_4xx_and_keeps_running(demo_server: Server) -> None:
    status, body = get(demo_server.url + "/api/geo/locate?lon=27.8&lat=nan", demo_server.token)
    assert status == 422 and "finite" in json.loads(body)["detail"]
    status, body = get(
        demo_server.url + "/api/routes/eta?from_lon=28.83&from_lat=47.02&to_lon=27.8&to_lat=48.437", demo_server.token
    )
    assert status == 422
    status, _ = get(demo_server.url + "/api/health")
    assert status == 200
    assert demo_server.process.poll() is None


@pytest.mark.parametrize("path", ["/api/nope", "/static/nope.js"])
def test_unknown_paths_are_404(demo_server: Server, path: str) -> None:
    assert get(demo_server.url + path, demo_server.token)[0] == 404


def test_the_demo_prints_users_who_can_log_in(demo_server: Server) -> None:
    printed = demo_credentials(demo_server)
    boats = ["md-b1", "md-b2", "md-b3", "md-b4", "md-b5", "md-b6", "ua-b1", "ua-b2", "ua-b3", "ua-b4", "ua-b5"]
    assert set(printed) == {"demo-operator-md", "demo-operator-ua", "demo-analyst"} | {f"demo-crew-{b}" for b in boats}
    crew = {"username": "demo-crew-md-b2", "password": printed["demo-crew-md-b2"]}
    status, body = http_json(demo_server.url + "/api/auth/login", crew)
    assert status == 200 and body["user"] == {"username": "demo-crew-md-b2", "role": "crew", "agency": "MD",
                                              "asset_id": "MD-B2", "language": "en"}  # fmt: skip
    ua = login(demo_server.url, "demo-operator-ua", printed["demo-operator-ua"])
    assert http_json(demo_server.url + "/api/auth/me", token=ua)[1]["agency"] == "UA"
    assert len(http_json(demo_server.url + "/api/assets", token=ua)[1]) == 13  # both agencies' boats
    analyst = login(demo_server.url, "demo-analyst", printed["demo-analyst"])
    status, body = http_json(demo_server.url + "/api/incidents", {"lon": 28.3, "lat": 48.2, "reporter": "x"}, analyst)
    assert (status, body) == (403, {"detail": "POST /api/incidents needs role operator or admin (you are analyst)"})
    wrong = http_json(demo_server.url + "/api/auth/login", {"username": "demo-analyst", "password": "guess-guess"})
    assert wrong == (401, {"detail": "wrong username or password"})


def test_serve_uses_its_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "prod.toml"
    cfg.write_text("[geo]\nwater_half_width_m = 150\n[routing]\ncurrent_mps = {north = 0.5, south = 0.5}\n")
    server = start_server(["serve", "--config", str(cfg)])
    try:
        status, body = get(server.url + "/api/geo/layers", server.token)
        assert status == 200
        assert json.loads(body)["water_area"]["features"][0]["properties"]["half_width_m"] == 150.0
        status, body = get(
            server.url + "/api/routes/eta?from_lon=27.8&from_lat=48.437&to_lon=27.81565&to_lat=48.42668&speed_kn=10",
            server.token,
        )
        route = json.loads(body)
        assert route["eta_s"] == pytest.approx(route["distance_m"] / (10 * 1852 / 3600 + 0.5), rel=0.01)
    finally:
        stop_server(server)


def test_demo_runs_the_scenario_into_every_sensor(tmp_path: Path) -> None:
    truth = tmp_path / "truth.jsonl"
    server = start_server(["demo", "--speed", "20", "--seed", "3", "--truth", str(truth)])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, body = get(server.url + "/api/sensors", server.token)
            sensors = json.loads(body)
            if all(s["accepted"] > 0 for s in sensors):
                break
            time.sleep(0.5)
        assert {s["sensor_id"] for s in sensors} == {
            "md-radar-otaci", "ua-radar-yampil", "md-radar-palanca", "md-ais",
            "md-cam-soroca", "ua-cam-mohyliv", "md-drones", "ua-drones",
        }  # fmt: skip
        assert all(s["accepted"] > 0 and s["rejected"] == {} for s in sensors), sensors
        assert {s["agency"] for s in sensors} == {"MD", "UA"}
        assert truth.stat().st_size > 0
    finally:
        stop_server(server)
