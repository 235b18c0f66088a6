"""Recommendation on the real river with the example fleet: times equal RouteGraph.eta (the
independent oracle), upstream/downstream choice by hand-computed times, dams, sections, both
agencies, joint proposals, drones by air, and the intercept of a drifting target."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pyproj import Geod

from geo.config import Dam, RoadTransfer, RoutingSettings
from geo.errors import NoRoute
from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.dispatch.config import DispatchSettings, EligibilitySettings
from sar.dispatch.fleet import (
    Agency,
    AssetConfig,
    AssetKind,
    AssetState,
    AssetStatus,
    Base,
    Capability,
    Fleet,
    Position,
    example_fleet_path,
    load_fleet_file,
)
from sar.dispatch.recommend import Recommendation, Recommender, TargetMotion
from sar.dispatch.travel import Anchor, TravelTimes
from sar.incidents.model import Impact, Incident, IncidentStatus, IncidentType, SarPhase

NOW = datetime(2026, 5, 14, 2, 0, tzinfo=UTC)
NORTH_BOATS = {"MD-B1", "MD-B2", "MD-B3", "MD-B4", "UA-B1", "UA-B2", "UA-B3"}
SOUTH_BOATS = {"MD-B5", "MD-B6", "UA-B4", "UA-B5"}


def incident(
    lon: float,
    lat: float,
    kind: IncidentType = IncidentType.BORDER_CROSSING,
    phase: SarPhase | None = None,
    agencies: frozenset[str] = frozenset({"MD", "UA"}),
) -> Incident:
    return Incident(
        id="inc-1",
        type=kind,
        impact=Impact.HIGH,
        confidence=0.9,
        sar_phase=phase,
        lon=lon,
        lat=lat,
        section=None,
        river_km=None,
        side=None,
        agencies_to_notify=agencies,
        track_ids=(),
        status=IncidentStatus.OPEN,
        opened_at=NOW,
        updated_at=NOW,
        title="test",
        source="test",
    )


def boat(
    asset_id: str,
    where: tuple[float, float],
    speed_mps: float,
    agency: Agency = Agency.MD,
    at_base: bool = False,
    readiness_min: float = 10.0,
    capabilities: frozenset[Capability] = frozenset({Capability.SAR, Capability.INTERDICTION}),
    status: AssetStatus = AssetStatus.AVAILABLE,
) -> AssetState:
    """A boat at a point: at its base (readiness applies) or out on the water (ready at once)."""
    config = AssetConfig(
        id=asset_id,
        agency=agency,
        call_sign=asset_id,
        base=Base(name="test", lon=where[0], lat=where[1]),
        speed_mps=speed_mps,
        capabilities=capabilities,
        readiness_min=readiness_min,
    )
    return AssetState(config, status, NOW, Position(where[0], where[1], NOW, "base" if at_base else "crew"))


@pytest.fixture(scope="module")
def fleet() -> list[AssetState]:
    return Fleet(load_fleet_file(example_fleet_path()).assets, NOW).all()


@pytest.fixture(scope="module")
def recommender(graph: RouteGraph) -> Recommender:
    return Recommender(graph, DispatchSettings())


def incident_points(river: RiverModel) -> list[tuple[float, float]]:
    """Incidents on both sections, on and off the axis, one beside a base (same graph edge)."""
    pts = [
        river.axis_point("north", 0.05),
        river.axis_point("north", 37.3, 40.0),
        river.axis_point("north", 88.8, -60.0),
        river.axis_point("north", 143.85),
        river.axis_point("south", 3.0, 20.0),
        river.axis_point("south", 40.4, -90.0),
    ]
    otaci = load_fleet_file(example_fleet_path()).assets[1].base
    return [*pts, (otaci.lon + 0.0004, otaci.lat)]


def by_id(recs: list[Recommendation]) -> dict[str, Recommendation]:
    return {r.asset_id: r for r in recs}


def check_against_oracle(graph: RouteGraph, fleet: list[AssetState], points: list[tuple[float, float]]) -> int:
    """Every example asset's base to every point at its own speed: TravelTimes vs RouteGraph.eta."""
    tt = TravelTimes(graph)
    bases = [(s.config.base.lon, s.config.base.lat) for s in fleet]
    anchors = tt.anchor_many([b[0] for b in bases], [b[1] for b in bases])
    compared = 0
    for point in points:
        dest = tt.anchor(*point)
        for s, base, a in zip(fleet, bases, anchors):
            assert isinstance(a, Anchor)
            trip = tt.to_point(dest, s.config.speed_mps).trips([a])[0]
            try:
                oracle = graph.eta(base, point, s.config.speed_mps)
            except NoRoute:
                assert trip.time_s == np.inf, (s.id, point)
                continue
            assert trip.time_s == pytest.approx(oracle.eta_s, abs=1.0), (s.id, point)
            assert trip.distance_m == pytest.approx(oracle.distance_m, abs=1.0), (s.id, point)
            compared += 1
    return compared


def test_travel_times_equal_route_graph_eta_for_every_example_asset(
    river: RiverModel, graph: RouteGraph, fleet: list[AssetState]
) -> None:
    compared = check_against_oracle(graph, fleet, incident_points(river))
    assert compared == 5 * 9 + 2 * 4  # north: 5 points x 9 assets; south: 2 points x 4 boats; the rest NoRoute


def test_travel_times_equal_eta_with_slow_boats_and_a_road_transfer(river: RiverModel, fleet: list[AssetState]) -> None:
    transfer = RoadTransfer(
        name="Dubasari by trailer",
        a=river.axis_point("north", 143.0),
        b=river.axis_point("south", 1.0),
        duration_s=7200,
    )
    g = RouteGraph(river, RoutingSettings(road_transfers=[transfer], current_mps={"north": 2.5, "south": 1.0}))
    slow = [boat(f"S{i}", (s.config.base.lon, s.config.base.lat), 2.0 + i) for i, s in enumerate(fleet)]
    # 13 boats x 7 points, all joined by the transfer (38 routes use it); only the 2 m/s boat
    # cannot go upstream against 2.5 m/s, to the point at north km 0.05
    assert check_against_oracle(g, slow, incident_points(river)) == 13 * 7 - 1


def test_ranked_boat_times_are_readiness_plus_eta(
    river: RiverModel, graph: RouteGraph, fleet: list[AssetState], recommender: Recommender
) -> None:
    point = river.axis_point("north", 61.0, 25.0)
    recs = recommender.rank(incident(*point, IncidentType.PERSON_IN_WATER, SarPhase.DISTRESS), fleet, NOW, routes=20)
    boats = [r for r in recs if r.eligible and r.kind == AssetKind.BOAT]
    assert {r.asset_id for r in boats} == NORTH_BOATS
    for r in boats:
        s = next(x for x in fleet if x.id == r.asset_id)
        oracle = graph.eta((s.position.lon, s.position.lat), point, s.config.speed_mps)
        assert r.readiness_s == s.config.readiness_min * 60
        assert r.travel_s == pytest.approx(oracle.eta_s, abs=1.0)
        assert r.eta_s == pytest.approx(oracle.eta_s + s.config.readiness_min * 60, abs=1.0)
        assert r.distance_m == pytest.approx(oracle.distance_m, abs=1.0)
        assert r.route[0] == pytest.approx(list(oracle.path_lonlat[0]), abs=1e-7)
        assert r.route[-1] == pytest.approx(list(oracle.path_lonlat[-1]), abs=1e-7)
        xy = np.stack(river.projector.to_xy(*np.asarray(r.route).T))
        assert np.hypot(*np.diff(xy, axis=1)).sum() == pytest.approx(oracle.distance_m, rel=1e-4)


def test_upstream_boat_running_with_a_strong_current_beats_a_nearer_boat_below(river: RiverModel) -> None:
    g = RouteGraph(river, RoutingSettings(current_mps={"north": 2.5, "south": 0.8}))
    up = boat("UP", river.axis_point("north", 38.0), 6.0)  # 12 km above the incident
    down = boat("DOWN", river.axis_point("north", 58.0), 6.0, agency=Agency.UA)  # 8 km below
    recs = Recommender(g, DispatchSettings()).rank(
        incident(*river.axis_point("north", 50.0), IncidentType.PERSON_IN_WATER), [down, up], NOW
    )
    assert [r.asset_id for r in recs] == ["UP", "DOWN"]
    assert recs[0].eta_s == pytest.approx(12_000 / (6.0 + 2.5), abs=1.0)  # 1411.8 s
    assert recs[1].eta_s == pytest.approx(8_000 / (6.0 - 2.5), abs=1.0)  # 2285.7 s
    assert recs[0].proposed and not recs[1].proposed


def test_boat_slower_than_the_current_below_the_incident_has_no_route(river: RiverModel) -> None:
    g = RouteGraph(river, RoutingSettings(current_mps={"north": 2.5, "south": 0.8}))
    slow = boat("SLOW", river.axis_point("north", 52.0), 2.0)
    (rec,) = Recommender(g, DispatchSettings()).rank(incident(*river.axis_point("north", 50.0)), [slow], NOW)
    assert not rec.eligible and rec.eta_s is None and "upstream" in rec.reason and "2.50 m/s current" in rec.reason


def test_boat_beyond_a_dam_is_never_ranked(river: RiverModel) -> None:
    dam = river.axis_point("north", 60.0)
    g = RouteGraph(river, RoutingSettings(extra_dams=[Dam(name="test dam", lon=dam[0], lat=dam[1])]))
    near_beyond = boat("BEYOND", river.axis_point("north", 62.0), 20.0)
    far_same_side = boat("SAME", river.axis_point("north", 20.0), 6.0)
    recs = Recommender(g, DispatchSettings()).rank(
        incident(*river.axis_point("north", 55.0)), [near_beyond, far_same_side], NOW
    )
    assert [(r.asset_id, r.eligible) for r in recs] == [("SAME", True), ("BEYOND", False)]
    assert recs[0].eta_s == pytest.approx(35_000 / 6.8, abs=1.0)
    assert "dam" in recs[1].reason and recs[1].eta_s is None and not recs[1].proposed


def test_north_boats_are_never_ranked_for_a_south_incident(
    river: RiverModel, fleet: list[AssetState], recommender: Recommender
) -> None:
    recs = recommender.rank(incident(*river.axis_point("south", 30.0, -40.0), IncidentType.PERSON_IN_WATER), fleet, NOW)
    assert {r.asset_id for r in recs if r.eligible} == SOUTH_BOATS
    for r in recs:
        if r.asset_id in NORTH_BOATS:
            assert not r.eligible and r.eta_s is None
            assert "from the north section to the south section" in r.reason
    assert [r.eligible for r in recs] == sorted((r.eligible for r in recs), reverse=True)


def test_both_agencies_are_ranked_together_by_eta(
    river: RiverModel, fleet: list[AssetState], recommender: Recommender
) -> None:
    recs = recommender.rank(incident(*river.axis_point("north", 95.0), IncidentType.PERSON_IN_WATER), fleet, NOW)
    eligible = [r for r in recs if r.eligible]
    etas = [r.eta_s if r.eta_s is not None else -1.0 for r in eligible]
    assert min(etas) > 0 and etas == sorted(etas)
    agencies = [r.agency for r in eligible if r.kind == AssetKind.BOAT]
    assert set(agencies) == {Agency.MD, Agency.UA}
    assert agencies != sorted(agencies)  # interleaved, not one agency's list after the other's
    # the Soroca drone is there first, but the proposal is the best boat (a drone pulls no one out)
    assert eligible[0].asset_id == "MD-D1"
    first_boat = next(r for r in eligible if r.kind == AssetKind.BOAT)
    assert [r.asset_id for r in recs if r.proposed] == [first_boat.asset_id]
    assert by_id(recs)["MD-B4"].eligible  # SAR needs only the sar capability


def test_joint_border_response_proposes_the_nearest_boat_of_each_agency(
    river: RiverModel, fleet: list[AssetState], recommender: Recommender
) -> None:
    recs = recommender.rank(incident(*river.axis_point("north", 25.0, 30.0)), fleet, NOW)
    proposed = [r for r in recs if r.proposed]
    assert sorted(r.agency for r in proposed) == [Agency.MD, Agency.UA]
    for p in proposed:
        first = next(r for r in recs if r.eligible and r.kind == AssetKind.BOAT and r.agency == p.agency)
        assert p.asset_id == first.asset_id and p.route
    # border incidents need interdiction: the drones and MD-B4 (sar only) are listed, not eligible
    for asset_id in ("MD-B4", "MD-D1", "UA-D1"):
        assert not by_id(recs)[asset_id].eligible and "interdiction" in by_id(recs)[asset_id].reason
    # one agency notified (loitering on its side): only its boat is proposed
    solo = recommender.rank(
        incident(*river.axis_point("north", 25.0, 30.0), IncidentType.LOITERING, agencies=frozenset({"UA"})), fleet, NOW
    )
    assert [r.agency for r in solo if r.proposed] == [Agency.UA]


def test_without_joint_response_only_the_overall_best_is_proposed(
    river: RiverModel, graph: RouteGraph, fleet: list[AssetState]
) -> None:
    settings = DispatchSettings(eligibility=EligibilitySettings(joint_border_response=False))
    recs = Recommender(graph, settings).rank(incident(*river.axis_point("north", 25.0)), fleet, NOW)
    assert [r.asset_id for r in recs if r.proposed] == [next(r for r in recs if r.eligible).asset_id]


def test_busy_and_out_of_service_assets_are_listed_not_ranked(
    river: RiverModel, graph: RouteGraph, fleet: list[AssetState], recommender: Recommender
) -> None:
    changed = [
        replace(s, status=AssetStatus.ASSIGNED, order_id="o-7")
        if s.id == "UA-B2"
        else replace(s, status=AssetStatus.OUT_OF_SERVICE)
        if s.id == "MD-B2"
        else s
        for s in fleet
    ]
    recs = by_id(recommender.rank(incident(*river.axis_point("north", 30.0), IncidentType.MANUAL), changed, NOW))
    assert not recs["UA-B2"].eligible and recs["UA-B2"].reason == "not available: assigned (order o-7)"
    assert recs["UA-B2"].eta_s is not None  # still shown with its ETA, for the operator
    assert not recs["MD-B2"].eligible and recs["MD-B2"].reason == "out of service"
    assert recs["MD-B4"].eligible  # a manual report needs no particular capability
    few = Recommender(graph, DispatchSettings(eligibility=EligibilitySettings(max_results=3)))
    assert len(few.rank(incident(*river.axis_point("north", 30.0)), fleet, NOW)) == 3


def test_drones_fly_straight_within_half_their_endurance(
    river: RiverModel, graph: RouteGraph, fleet: list[AssetState], recommender: Recommender
) -> None:
    geod = Geod(ellps="WGS84")
    near_soroca = river.axis_point("north", 100.0, 50.0)
    recs = by_id(recommender.rank(incident(*near_soroca, IncidentType.PERSON_IN_WATER), fleet, NOW))
    drone = next(s for s in fleet if s.id == "MD-D1")
    _, _, dist = geod.inv(drone.position.lon, drone.position.lat, *near_soroca)
    assert recs["MD-D1"].eligible and recs["MD-D1"].kind == AssetKind.DRONE
    assert recs["MD-D1"].distance_m == pytest.approx(dist, rel=2e-3)  # UTM scale vs geodesic
    assert recs["MD-D1"].eta_s == pytest.approx(3 * 60 + dist / 15.0, rel=2e-3)
    # 15 m/s x 40 min / 2 = 18 km: far up the river the drone is out of reach
    far = by_id(recommender.rank(incident(*river.axis_point("north", 20.0), IncidentType.PERSON_IN_WATER), fleet, NOW))
    assert not far["MD-D1"].eligible and "18.0 km" in far["MD-D1"].reason
    no_drones = Recommender(graph, DispatchSettings(eligibility=EligibilitySettings(include_drones=False)))
    kinds = {r.kind for r in no_drones.rank(incident(*near_soroca, IncidentType.PERSON_IN_WATER), fleet, NOW)}
    assert kinds == {AssetKind.BOAT}


def test_incident_off_the_river_leaves_the_boats_without_route(
    fleet: list[AssetState], recommender: Recommender
) -> None:
    recs = recommender.rank(incident(28.83, 47.02, IncidentType.MANUAL), fleet, NOW)  # Chisinau
    assert not any(r.eligible for r in recs if r.kind == AssetKind.BOAT)
    assert all("no route by water" in r.reason for r in recs if r.kind == AssetKind.BOAT)


def test_to_dict_is_json_ready(river: RiverModel, fleet: list[AssetState], recommender: Recommender) -> None:
    import json

    recs = recommender.rank(incident(*river.axis_point("north", 70.0)), fleet, NOW)
    data = json.loads(json.dumps([r.to_dict() for r in recs]))
    assert data[0]["eligible"] and data[0]["route"] and data[0]["intercept"] is None
    assert data[-1]["eta_s"] is None and data[-1]["reason"].startswith("no route")


# -- intercept of a drifting target --------------------------------------------------------


def chase_eta(t0: float, u: float, v: float, c: float) -> float:
    """Go to where the target was (t0), then chase it downstream at v + c against its drift u."""
    return t0 + u * t0 / (v + c - u)


@pytest.mark.parametrize("boat_km", [40.0, 62.0])
def test_drifting_target_is_met_downstream_no_later_than_a_chase(
    river: RiverModel, graph: RouteGraph, recommender: Recommender, boat_km: float
) -> None:
    start = river.axis_point("north", 50.0)
    b = boat("B", river.axis_point("north", boat_km), 8.0)
    target = TargetMotion(*start, NOW)  # drifts with the north current, 0.8 m/s
    (rec,) = recommender.rank(incident(*start, IncidentType.PERSON_IN_WATER), [b], NOW, target=target)
    assert rec.intercept is not None and rec.eta_s is not None
    assert rec.intercept.section == "north" and rec.intercept.river_km > 50.0
    t0 = graph.eta((b.position.lon, b.position.lat), start, 8.0).eta_s
    assert 0 < rec.eta_s <= chase_eta(t0, 0.8, 8.0, 0.8) + 0.01  # equal for a boat above: it is a chase
    # the target is there at that time, and the boat (oracle) gets there by then
    assert rec.intercept.river_km == pytest.approx(50.0 + 0.8 * rec.eta_s / 1000.0, abs=1e-3)
    assert rec.intercept.time == NOW + timedelta(seconds=rec.eta_s)
    meet = graph.eta((b.position.lon, b.position.lat), (rec.intercept.lon, rec.intercept.lat), 8.0)
    assert meet.eta_s == pytest.approx(rec.eta_s, abs=1.0)
    assert rec.route[-1] == pytest.approx([rec.intercept.lon, rec.intercept.lat], abs=1e-6)


def test_a_boat_below_meets_the_target_sooner_than_by_chasing(river: RiverModel, recommender: Recommender) -> None:
    start = river.axis_point("north", 50.0)
    b = boat("B", river.axis_point("north", 62.0), 8.0)
    (rec,) = recommender.rank(incident(*start), [b], NOW, target=TargetMotion(*start, NOW))
    # head-on: the boat runs up at 8 - 0.8 while the target drifts down at 0.8, closing 12 km at 8 m/s
    assert rec.eta_s == pytest.approx(12_000 / 8.0, abs=1.0)
    assert rec.intercept is not None and rec.intercept.river_km == pytest.approx(50.0 + 1.2, abs=1e-3)


def test_a_boat_too_slow_for_the_current_waits_for_the_target(river: RiverModel) -> None:
    g = RouteGraph(river, RoutingSettings(current_mps={"north": 2.5, "south": 0.8}))
    rec_ = Recommender(g, DispatchSettings())
    start = river.axis_point("north", 50.0)
    b = boat("SLOW", river.axis_point("north", 60.0), 2.0)
    (static,) = rec_.rank(incident(*start), [b], NOW)
    assert not static.eligible  # cannot go up to where the person is now
    (moving,) = rec_.rank(incident(*start), [b], NOW, target=TargetMotion(*start, NOW))
    assert moving.eligible and moving.eta_s == pytest.approx(10_000 / 2.5, abs=0.01)
    assert moving.intercept is not None and moving.intercept.river_km == pytest.approx(60.0, abs=1e-3)


def test_target_time_and_speed_are_honoured(river: RiverModel, graph: RouteGraph, recommender: Recommender) -> None:
    start = river.axis_point("north", 50.0)
    b = boat("B", river.axis_point("north", 40.0), 8.0)
    (still,) = recommender.rank(incident(*start), [b], NOW, target=TargetMotion(*start, NOW, along_river_mps=0.0))
    (static,) = recommender.rank(incident(*start), [b], NOW)
    assert still.eta_s == pytest.approx(static.eta_s, abs=1e-6)  # a still target is the static case
    # seen 10 min ago at km 50 running upstream at 2 m/s: it is at km 48.8 now
    earlier = TargetMotion(*start, NOW - timedelta(minutes=10), along_river_mps=-2.0)
    (rec,) = recommender.rank(incident(*start), [b], NOW, target=earlier)
    # the boat (8.8 m/s downstream) and the target (2 m/s upstream) close 8.8 km at 10.8 m/s
    assert rec.eta_s == pytest.approx(8_800 / 10.8, abs=1.0)
    # a target drifting into the end of the reach stops there and the boat meets it there
    end_km = river.section("north").length_m / 1000.0
    near_end = river.axis_point("north", end_km - 0.4)
    (stop,) = recommender.rank(incident(*near_end), [b], NOW, target=TargetMotion(*near_end, NOW, along_river_mps=5.0))
    assert stop.intercept is not None and stop.intercept.river_km == pytest.approx(end_km, abs=1e-3)
    oracle = graph.eta((b.position.lon, b.position.lat), river.axis_point("north", end_km), 8.0)
    assert stop.eta_s == pytest.approx(oracle.eta_s, abs=1.0)


def test_boat_reported_away_from_the_river_is_listed_with_the_reason(
    river: RiverModel, recommender: Recommender
) -> None:
    inland = boat("INLAND", (28.83, 47.02), 10.0)  # a crew position in Chisinau
    lost = replace(
        boat("LOST", river.axis_point("north", 40.0), 10.0), position=Position(float("nan"), 48.0, NOW, "crew")
    )
    ok = boat("OK", river.axis_point("north", 40.0), 10.0)
    assert recommender.rank(incident(*river.axis_point("north", 45.0)), [], NOW) == []
    recs = by_id(recommender.rank(incident(*river.axis_point("north", 45.0)), [inland, lost, ok], NOW))
    assert recs["OK"].eligible and recs["OK"].eta_s == pytest.approx(5_000 / 10.8, abs=1.0)
    assert not recs["INLAND"].eligible and "not within 2000 m of a river-border section" in recs["INLAND"].reason
    assert not recs["LOST"].eligible and "invalid position" in recs["LOST"].reason
