"""SAR plans over HTTP: drift from the incident, patterns on the water, waypoints to the crew."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.api.app import create_app
from sar.dispatch.config import DispatchSettings
from sar.dispatch.fleet import FleetSettings, example_fleet_path, load_fleet_file
from sar.settings import Settings
from tests.conftest import api_client, bearer, sign_in
from tests.mavlink_vehicle import SimVehicle

SOROCA_WATER = (28.3047, 48.1580)  # on the Dniester at Soroca, north section


@pytest.fixture()
def client(river: RiverModel, graph: RouteGraph) -> Iterator[TestClient]:
    settings = Settings(dispatch=DispatchSettings(fleet=FleetSettings(file=example_fleet_path())))
    with api_client(create_app(settings, river, graph)) as c:
        yield c


def person_in_water(client: TestClient) -> Any:
    body = {"type": "person_in_water", "lon": SOROCA_WATER[0], "lat": SOROCA_WATER[1], "reporter": "fisherman",
            "sar_phase": "distress", "time": "2026-06-01T12:00:00+00:00"}  # fmt: skip
    r = client.post("/api/incidents", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_plan_drifts_downstream_and_every_waypoint_is_on_the_water(client: TestClient, river: RiverModel) -> None:
    inc = person_in_water(client)
    r = client.post(f"/api/incidents/{inc['id']}/sar-plan", json={"horizon_min": 30, "seed": 3})
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["last_known"]["time"] == "2026-06-01T12:00:00+00:00"
    datum = plan["drift"]["frames"][-1]["datum"]
    moved_m = (datum["river_km"] - inc["river_km"]) * 1000
    assert moved_m == pytest.approx(0.8 * 1800, rel=0.25)  # about the current (slower off mid-channel)
    kinds = {s["kind"] for s in plan["searchers"]}
    assert kinds == {"boat", "drone"} and len(plan["assignments"]) == len(plan["searchers"])
    points = [w for a in plan["assignments"] for w in a["pattern"]["waypoints"]]
    loc = river.locate_many([w["lon"] for w in points], [w["lat"] for w in points])
    assert len(points) > 10 and bool(loc.on_water.all())
    assert client.get(f"/api/incidents/{inc['id']}/sar-plan").json() == plan


def test_a_dispatched_crew_gets_its_pattern(client: TestClient) -> None:
    inc = person_in_water(client)
    r = client.post(f"/api/incidents/{inc['id']}/dispatch", json={"asset_id": "MD-B3", "by": "operator md-1"})
    assert r.status_code == 201, r.text
    plan = client.post(f"/api/incidents/{inc['id']}/sar-plan", json={"seed": 1}).json()
    assert [s["id"] for s in plan["searchers"]] == ["MD-B3"]  # the dispatched boat searches
    crew = client.app.state.crew  # type: ignore[attr-defined]
    updates = [m for m in crew.messages("MD-B3") if m.type == "order_update" and "sar_pattern" in m.data]
    assert len(updates) == 1
    assert updates[0].data["sar_pattern"] == plan["assignments"][0]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"asset_ids": ["XX-1"]}, 404, "XX-1"),
        ({"colour": "red"}, 422, "colour"),
        ({"horizon_min": -5}, 422, "horizon_min"),
    ],
)
def test_bad_requests(client: TestClient, body: dict[str, Any], status: int, fragment: str) -> None:
    inc = person_in_water(client)
    r = client.post(f"/api/incidents/{inc['id']}/sar-plan", json=body)
    assert r.status_code == status and fragment in r.text, r.text


def test_unknown_or_closed_incident(client: TestClient) -> None:
    assert client.post("/api/incidents/I404/sar-plan", json={}).status_code == 404
    assert client.get("/api/incidents/I404/sar-plan").status_code == 404
    inc = person_in_water(client)
    client.post(f"/api/incidents/{inc['id']}/close", json={"by": "operator md-1"})
    assert client.post(f"/api/incidents/{inc['id']}/sar-plan", json={}).status_code == 409


def drone_client(river: RiverModel, graph: RouteGraph, address: tuple[str, int]) -> TestClient:
    """The example fleet, with the Soroca drone's MAVLink link pointing at the simulated vehicle."""
    assets = [
        a.model_copy(update={"mavlink": f"{address[0]}:{address[1]}"}) if a.id == "MD-D1" else a
        for a in load_fleet_file(example_fleet_path()).assets
    ]
    settings = Settings(dispatch=DispatchSettings(fleet=FleetSettings(assets=assets)))
    app = create_app(settings, river, graph)
    return TestClient(app, headers=bearer(sign_in(app)))


def mission_messages(c: TestClient, since: int) -> list[dict[str, Any]]:
    async def backlog() -> list[dict[str, Any]]:
        feed = c.app.state.feed  # type: ignore[attr-defined]
        sub, msgs = feed.subscribe(since)
        feed.unsubscribe(sub)
        return [json.loads(m.text)["data"] for m in msgs if m.type == "mission"]

    return asyncio.run(backlog())


def plan_with_drone(c: TestClient) -> Any:
    inc = person_in_water(c)
    r = c.post(f"/api/incidents/{inc['id']}/sar-plan", json={"asset_ids": ["MD-D1", "MD-B3"], "seed": 2})
    assert r.status_code == 201, r.text
    return inc


def test_the_drone_flies_its_pattern_as_a_mavlink_mission(river: RiverModel, graph: RouteGraph) -> None:
    with SimVehicle(item_period_s=0.005) as v, drone_client(river, graph, v.address) as c:
        inc = plan_with_drone(c)
        seq = c.app.state.feed.seq  # type: ignore[attr-defined]
        r = c.post(f"/api/incidents/{inc['id']}/sar-plan/missions/MD-D1", json={"altitude_m": 40})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["ok"] and out["state"] == "started" and out["refused"] is None
        assert out["steps"] == {"upload": "MAV_MISSION_ACCEPTED", "arm": "MAV_RESULT_ACCEPTED",
                                "mode": "MAV_RESULT_ACCEPTED", "start": "MAV_RESULT_ACCEPTED"}  # fmt: skip
        assert len(v.mission) == out["items"] and v.armed and v.mode == "AUTO"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "completed" not in {m["state"] for m in mission_messages(c, seq)}:
            time.sleep(0.05)
        states = [m["state"] for m in mission_messages(c, seq)]
        assert states[0] == "started" and states[-1] == "completed"
        reached = [m["seq"] for m in mission_messages(c, seq) if m["state"] == "progress" and m["event"] == "reached"]
        assert reached == list(range(1, out["items"]))
        rtl = c.post(f"/api/incidents/{inc['id']}/sar-plan/missions/MD-D1/rtl")
        assert rtl.status_code == 200 and rtl.json()["result"] == "MAV_RESULT_ACCEPTED", rtl.text
        assert v.mode == "RTL" and mission_messages(c, seq)[-1]["state"] == "rtl"


def test_a_rejected_mission_is_reported_to_the_operator(river: RiverModel, graph: RouteGraph) -> None:
    with SimVehicle(max_items=3) as v, drone_client(river, graph, v.address) as c:
        inc = plan_with_drone(c)
        seq = c.app.state.feed.seq  # type: ignore[attr-defined]
        r = c.post(f"/api/incidents/{inc['id']}/sar-plan/missions/MD-D1")
        assert r.status_code == 409 and "MAV_MISSION_NO_SPACE" in r.text, r.text
        (msg,) = mission_messages(c, seq)
        assert msg["state"] == "rejected" and msg["alert"] is True and msg["refused"] == "MAV_MISSION_NO_SPACE"
        assert not v.armed
        assert c.post(f"/api/incidents/{inc['id']}/sar-plan/missions/MD-B3").status_code == 409  # a boat
        assert c.post("/api/incidents/I404/sar-plan/missions/MD-D1").status_code == 409  # no plan there
