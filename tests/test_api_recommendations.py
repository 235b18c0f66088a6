"""Recommendations and coverage over HTTP with the example fleet on the real river."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo.river import RiverModel
from geo.routing import NoRoute, RouteGraph
from sar.api.app import create_app
from sar.api.recommendations import CoverageWatch
from sar.dispatch.config import DispatchSettings
from sar.dispatch.fleet import AssetStatus, FleetSettings, example_fleet_path, load_fleet_file
from sar.live import LiveFeed, LiveMessage
from sar.settings import Settings
from tests.conftest import api_client

SOROCA_WATER = (28.3047, 48.1580)  # on the Dniester at Soroca, north section


@pytest.fixture()
def client(river: RiverModel, graph: RouteGraph) -> Iterator[TestClient]:
    settings = Settings(dispatch=DispatchSettings(fleet=FleetSettings(file=example_fleet_path())))
    with api_client(create_app(settings, river, graph)) as c:
        yield c


def report(client: TestClient, lonlat: tuple[float, float], kind: str = "person_in_water") -> Any:
    body = {"type": kind, "lon": lonlat[0], "lat": lonlat[1], "reporter": "fisherman", "sar_phase": "distress"}
    r = client.post("/api/incidents", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_boats_of_both_agencies_ranked_by_readiness_plus_route_time(client: TestClient, graph: RouteGraph) -> None:
    inc = report(client, SOROCA_WATER)
    r = client.get(f"/api/incidents/{inc['id']}/recommendations", params={"motion": "none"})
    assert r.status_code == 200, r.text
    recs = r.json()["recommendations"]
    fleet = {a.id: a for a in load_fleet_file(example_fleet_path()).assets}
    boats = [x for x in recs if x["kind"] == "boat"]
    eligible = [x for x in boats if x["eligible"]]
    assert {x["agency"] for x in eligible} == {"MD", "UA"}
    for x in eligible:  # the oracle: readiness at base + RouteGraph.eta from the base
        a = fleet[x["asset_id"]]
        route = graph.eta((a.base.lon, a.base.lat), SOROCA_WATER, a.speed_mps)
        assert x["eta_s"] == pytest.approx(a.readiness_min * 60 + route.eta_s, abs=1.0)
    assert [x["eta_s"] for x in eligible] == sorted(x["eta_s"] for x in eligible)
    for x in boats:
        if fleet[x["asset_id"]].base.lat < 47:  # the south section's boats cannot come by water
            assert not x["eligible"] and x["eta_s"] is None and "section" in x["reason"]
            with pytest.raises(NoRoute):
                graph.eta((fleet[x["asset_id"]].base.lon, fleet[x["asset_id"]].base.lat), SOROCA_WATER, 10.0)
    proposed = [x for x in recs if x["proposed"]]
    assert [x["asset_id"] for x in proposed] == [eligible[0]["asset_id"]]  # SAR: the fastest boat
    assert len(eligible[0]["route"]) > 2


def test_a_person_in_the_water_is_met_downstream(client: TestClient, river: RiverModel) -> None:
    inc = report(client, SOROCA_WATER)
    body = client.get(f"/api/incidents/{inc['id']}/recommendations").json()
    assert body["target"]["along_river_mps"] is None  # drifting with the current
    best = next(x for x in body["recommendations"] if x["proposed"])
    meet = best["intercept"]
    assert meet is not None and meet["section"] == "north"
    assert meet["river_km"] > inc["river_km"]
    drift_s = (datetime.fromisoformat(meet["time"]) - datetime.fromisoformat(body["target"]["time"])).total_seconds()
    assert (meet["river_km"] - inc["river_km"]) * 1000 == pytest.approx(0.8 * drift_s, rel=0.05)
    static = client.get(f"/api/incidents/{inc['id']}/recommendations", params={"motion": "none"}).json()
    assert static["target"] is None and all(x["intercept"] is None for x in static["recommendations"])


def test_bad_requests(client: TestClient) -> None:
    assert client.get("/api/incidents/I404/recommendations").status_code == 404
    inc = report(client, SOROCA_WATER)
    r = client.get(f"/api/incidents/{inc['id']}/recommendations", params={"motion": "teleport"})
    assert r.status_code == 422 and "motion" in r.text


def test_coverage_is_every_km_of_both_sections_and_gaps_follow_the_threshold(client: TestClient) -> None:
    r = client.get("/api/coverage")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "FeatureCollection" and body["gap_threshold_s"] == 1800.0
    props = [f["properties"] for f in body["features"]]
    assert len([p for p in props if p["section"] == "north"]) == 144  # 143.9 km in 1 km stretches
    assert len([p for p in props if p["section"] == "south"]) == 64
    for p in props:
        assert p["gap"] == (p["eta_s"] is None or p["eta_s"] > 1800.0)
    gap_km = sum(g["to_km"] - g["from_km"] for g in body["gaps"])
    assert gap_km == pytest.approx(sum(p["to_km"] - p["from_km"] for p in props if p["gap"]), abs=1e-6)


async def backlog(feed: LiveFeed, since: int) -> list[LiveMessage]:
    sub, msgs = feed.subscribe(since)
    feed.unsubscribe(sub)
    return msgs


def test_coverage_watch_alerts_when_a_boat_goes_out_of_service(client: TestClient) -> None:
    state = client.app.state  # type: ignore[attr-defined]
    watch = CoverageWatch(state.coverage, state.fleet, state.feed, state.clock)
    now = datetime.now(UTC)
    watch.check(now)
    before, seq = list(watch.gaps), state.feed.seq
    assert watch.check(now) is False and state.feed.seq == seq  # nothing changed, nothing published
    for boat in ("MD-B5", "UA-B4"):  # the upper south section loses both its boats
        state.fleet.set_status(boat, AssetStatus.OUT_OF_SERVICE, now)
    assert watch.check(now) is True
    (msg,) = [m for m in asyncio.run(backlog(state.feed, seq)) if m.type == "coverage"]
    opened = [g for g in watch.gaps if g not in before]
    assert opened and all(g["section"] == "south" and g["from_km"] == 0.0 for g in opened)
    data = json.loads(msg.text)["data"]
    assert data["alert"] is True and data["opened"] == opened
