"""Incidents over HTTP and the live feed: manual reports, operator close, resume by seq."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.api.app import create_app
from sar.settings import Settings
from tests.conftest import api_client


@pytest.fixture()
def client(river: RiverModel, graph: RouteGraph) -> Iterator[TestClient]:
    with api_client(create_app(Settings(), river, graph)) as c:
        yield c


def report(client: TestClient, **extra: Any) -> Any:
    body = {"type": "person_in_water", "lon": 28.3057, "lat": 48.1566, "reporter": "fisherman +373 69 000000",
            "text": "man fell from a boat", **extra}  # fmt: skip
    return client.post("/api/incidents", json=body)


def test_manual_report_is_located_and_listed(client: TestClient, river: RiverModel) -> None:
    r = report(client)
    assert r.status_code == 201, r.text
    inc = r.json()
    where = river.locate(28.3057, 48.1566)
    assert inc["type"] == "person_in_water" and inc["sar_phase"] == "alert" and inc["status"] == "open"
    assert (inc["section"], inc["side"]) == (where.section, where.side)
    assert inc["river_km"] == pytest.approx(where.river_km, abs=0.001)
    assert client.get(f"/api/incidents/{inc['id']}").json()["id"] == inc["id"]
    assert [i["id"] for i in client.get("/api/incidents", params={"status": "open"}).json()] == [inc["id"]]
    assert client.get("/api/incidents", params={"status": "closed"}).json() == []


def test_operator_closes_once(client: TestClient) -> None:
    inc = report(client, sar_phase="distress").json()
    r = client.post(f"/api/incidents/{inc['id']}/close", json={"by": "operator md-1", "reason": "rescued"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert r.json()["closed_by"] == "operator:operator md-1"
    again = client.post(f"/api/incidents/{inc['id']}/close", json={"by": "operator md-1"})
    assert again.status_code == 409
    assert client.post("/api/incidents/I9999/close", json={"by": "x"}).status_code == 404
    assert client.get("/api/incidents/I9999").status_code == 404


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"lat": 95}, "lat: Input should be less than or equal to 90"),
        ({"lon": 2.35, "lat": 48.85}, "outside the covered area"),
        ({"type": "alien_landing"}, "type: Input should be"),
        ({"time": "2026-11-28T03:00:00"}, "UTC offset"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_bad_reports_are_422(client: TestClient, extra: dict[str, Any], fragment: str) -> None:
    r = report(client, **extra)
    assert r.status_code == 422 and fragment in r.json()["detail"]


def test_live_feed_resyncs_then_streams_and_resumes(client: TestClient) -> None:
    with client.websocket_connect("/ws/live") as ws:
        first = ws.receive_json()
        assert first["type"] == "resync"
        assert set(first["data"]) == {
            "tracks",
            "incidents",
            "sensors",
            "assets",
            "orders",
            "sar_plans",
            "coverage_gaps",
        }
        inc = report(client).json()
        msg = ws.receive_json()
        while msg["type"] != "incident":
            msg = ws.receive_json()
        assert msg["data"]["id"] == inc["id"]
        seen = msg["seq"]
    second = report(client, lon=28.30, lat=48.16).json()
    with client.websocket_connect(f"/ws/live?since={seen}") as ws:
        missed = ws.receive_json()
        while missed["type"] != "incident":
            missed = ws.receive_json()
        assert missed["data"]["id"] == second["id"] and missed["seq"] > seen
