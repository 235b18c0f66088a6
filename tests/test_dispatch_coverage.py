"""Coverage and pre-positioning on the real river: worst-case ETA per stretch from hand-computed
times over the graph's node chainages, gap runs, GeoJSON, and standby points against the
closed-form optimum of one boat on a uniform river."""

from __future__ import annotations

import json

import numpy as np
import pytest

from geo.config import RoutingSettings
from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.dispatch.config import DispatchSettings
from sar.dispatch.coverage import CoverageAnalyzer
from sar.dispatch.fleet import AssetStatus, Fleet, example_fleet_path, load_fleet_file
from tests.test_dispatch_recommend import NOW, boat

V, C = 10.0, 0.8  # boat speed through water, default current


def expected_worst(graph: RouteGraph, boat_m: float, step_m: float = 1000.0) -> list[float]:
    """Per 1 km stretch of the north section: max over its nodes of |d| / (v +- c)."""
    ch = np.asarray(graph.reaches[0].node_chainage_m)
    t = np.where(ch >= boat_m, (ch - boat_m) / (V + C), (boat_m - ch) / (V - C))
    n_bins = int(np.ceil(ch[-1] / step_m))
    bins = np.minimum((ch // step_m).astype(int), n_bins - 1)
    return [float(t[bins == b].max()) for b in range(n_bins)]


def test_one_boat_worst_eta_grows_with_distance(river: RiverModel, graph: RouteGraph) -> None:
    b = boat("ONE", river.axis_point("north", 70.0), V)
    cov = CoverageAnalyzer(graph, DispatchSettings()).coverage([b])
    north = [s for s in cov.stretches if s.section == "north"]
    south = [s for s in cov.stretches if s.section == "south"]
    assert len(north) == 144 and len(south) == 64
    assert [s.eta_s for s in north] == pytest.approx(expected_worst(graph, 70_000.0), abs=1.0)
    etas = [s.eta_s or 0.0 for s in north]
    assert etas[70:] == sorted(etas[70:]) and etas[:70] == sorted(etas[:70], reverse=True)
    assert north[143].eta_s == pytest.approx((river.section("north").length_m - 70_000) / (V + C), abs=1.0)
    assert {s.best_asset for s in north} == {"ONE"}
    assert all(s.eta_s is None and s.gap and s.best_asset is None for s in south)  # no boat on the south


def test_readiness_at_base_is_added(river: RiverModel, graph: RouteGraph) -> None:
    at_base = boat("BASE", river.axis_point("north", 70.0), V, at_base=True, readiness_min=10.0)
    cov = CoverageAnalyzer(graph, DispatchSettings()).coverage([at_base])
    north = [s.eta_s for s in cov.stretches if s.section == "north"]
    assert north == pytest.approx([600.0 + t for t in expected_worst(graph, 70_000.0)], abs=1.0)


def test_gaps_with_a_small_threshold_are_merged_runs(river: RiverModel, graph: RouteGraph) -> None:
    one = boat("ONE", river.axis_point("north", 70.0), V)
    busy = boat("BUSY", river.axis_point("north", 20.0), V, status=AssetStatus.ASSIGNED)  # does not cover
    cov = CoverageAnalyzer(graph, DispatchSettings(coverage_gap_s=600.0)).coverage([one, busy])
    # 600 s reach 6.48 km downstream (10.8 m/s) and 5.52 km upstream (9.2 m/s): km 64.48..76.48,
    # so whole stretches km 65..76 are covered and everything else is a gap
    north_km = round(river.section("north").length_m / 1000.0, 3)
    south_km = round(river.section("south").length_m / 1000.0, 3)
    runs = [(g.section, g.from_km, g.to_km) for g in cov.gaps]
    assert runs == [("north", 0.0, 65.0), ("north", 76.0, north_km), ("south", 0.0, south_km)]
    assert cov.gaps[0].worst_eta_s == pytest.approx(70_000 / (V - C), abs=1.0)
    assert cov.gaps[2].worst_eta_s is None
    assert json.loads(json.dumps(cov.gaps_dict()))[1]["from_km"] == 76.0


def test_coverage_geojson_lines_lie_on_the_water(river: RiverModel, graph: RouteGraph) -> None:
    fleet = Fleet(load_fleet_file(example_fleet_path()).assets, NOW).all()
    cov = CoverageAnalyzer(graph, DispatchSettings()).coverage(fleet)
    fc = json.loads(json.dumps(cov.to_geojson()))
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 208
    for f in fc["features"][::17]:
        p = f["properties"]
        assert set(p) == {"section", "from_km", "to_km", "eta_s", "best_asset", "gap"}
        lon, lat = np.asarray(f["geometry"]["coordinates"]).T
        where = river.locate_many(lon, lat)
        assert where.on_water.all()
        assert where.chainage_m[0] / 1000 == pytest.approx(p["from_km"], abs=0.01)
        assert where.chainage_m[-1] / 1000 == pytest.approx(p["to_km"], abs=0.01)
        assert p["gap"] == (p["eta_s"] > 1800.0)
    # every stretch of both sections is covered by some example boat of that section
    assert all(f["properties"]["best_asset"] for f in fc["features"])


def test_prepositioning_lowers_the_expected_eta(river: RiverModel, graph: RouteGraph) -> None:
    fleet = Fleet(load_fleet_file(example_fleet_path()).assets, NOW).all()
    plan = CoverageAnalyzer(graph, DispatchSettings()).preposition(fleet)
    assert plan.expected_eta_after_s < plan.expected_eta_before_s
    assert {s.asset_id for s in plan.standbys} == {s.id for s in fleet if s.config.kind.value == "boat"}
    for s in plan.standbys:
        base = next(x for x in fleet if x.id == s.asset_id).config.base
        assert river.locate(base.lon, base.lat).section == s.section == river.locate(s.lon, s.lat).section
        assert river.locate(s.lon, s.lat).river_km == pytest.approx(s.river_km, abs=0.01)
    json.dumps(plan.to_dict())


def mean_time(x_km: float, length_km: float, v: float, c: float) -> float:
    """Mean over a uniform river [0, L] of the time from x: upstream at v - c, downstream at v + c."""
    x, rest = x_km * 1000.0, (length_km - x_km) * 1000.0
    return (x * x / (2 * (v - c)) + rest * rest / (2 * (v + c))) / (length_km * 1000.0)


def test_one_idle_boat_goes_to_the_optimum_of_a_uniform_river(river: RiverModel) -> None:
    v, c = 5.0, 2.0
    g = RouteGraph(river, RoutingSettings(current_mps={"north": c, "south": 0.8}))
    b = boat("B", river.axis_point("north", 10.0), v, at_base=True, readiness_min=10.0)
    plan = CoverageAnalyzer(g, DispatchSettings(coverage_gap_s=100_000.0)).preposition([b])
    length_km = river.section("north").length_m / 1000.0
    # d/dx of the mean time is 0 at x = L (v - c) / (2 v)
    best_km = length_km * (v - c) / (2 * v)
    (s,) = plan.standbys
    # candidates and demand points are ~1 km apart: the discrete optimum is within a node or so
    assert s.moved and s.section == "north" and s.river_km == pytest.approx(best_km, abs=0.5)
    assert s.served_eta_after_s == pytest.approx(mean_time(best_km, length_km, v, c), rel=0.005)
    assert s.served_eta_before_s == pytest.approx(600.0 + mean_time(10.0, length_km, v, c), rel=0.01)
    assert plan.expected_eta_after_s < plan.expected_eta_before_s


def test_past_incidents_pull_the_standby_point(river: RiverModel) -> None:
    g = RouteGraph(river, RoutingSettings(current_mps={"north": 0.0, "south": 0.0}))
    analyzer = CoverageAnalyzer(g, DispatchSettings())
    b = boat("B", river.axis_point("north", 10.0), 8.0, at_base=True)
    history = [river.axis_point("north", km) for km in range(100, 111)]
    (s,) = analyzer.preposition([b], history).standbys
    assert s.river_km == pytest.approx(105.0, abs=0.6)  # the median of km 100..110 (no current)
    heavy = analyzer.preposition([b], [*history, river.axis_point("north", 130.0)], weights=[1.0] * 11 + [30.0])
    assert heavy.standbys[0].river_km == pytest.approx(130.0, abs=0.5)  # it holds most of the weight
    with pytest.raises(ValueError, match="weights"):
        analyzer.preposition([b], history, weights=[1.0])
    with pytest.raises(ValueError, match="on the river"):
        analyzer.preposition([b], [(28.83, 47.02)])


def test_boats_out_on_the_water_stay_and_count(river: RiverModel, graph: RouteGraph) -> None:
    out = boat("OUT", river.axis_point("north", 30.0), V)  # available, not at base: not moved
    idle = boat("IDLE", river.axis_point("north", 31.0), V, at_base=True)
    plan = CoverageAnalyzer(graph, DispatchSettings()).preposition([out, idle])
    assert [s.asset_id for s in plan.standbys] == ["IDLE"]
    assert abs(plan.standbys[0].river_km - 30.0) > 10.0  # it goes where OUT does not reach fast
