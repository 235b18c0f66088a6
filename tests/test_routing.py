"""The route graph on the real river: spacing, current, dams, transfers, paths on the water."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pytest

from geo.config import Dam, RoadTransfer, RoutingSettings
from geo.errors import GraphError, NoRoute, NotOnRiver, OutOfArea
from geo.river import RiverModel
from geo.routing import KNOT_MPS, RouteGraph

CURRENT = 0.8


def test_graph_nodes_are_at_most_200_m_apart(graph: RouteGraph) -> None:
    water = [d["length_m"] for _, _, d in graph.graph.edges(data=True) if d["kind"] == "water"]
    assert max(water) <= 200.0 + 1e-6
    assert min(water) > 0
    assert [r.section for r in graph.reaches] == ["north", "south"]
    assert sum(len(r.node_ids) for r in graph.reaches) == graph.graph.number_of_nodes()
    north = graph.reaches[0]
    assert north.node_chainage_m[-1] - north.node_chainage_m[0] == pytest.approx(143_897, abs=1)


def test_sections_are_separate_networks(graph: RouteGraph) -> None:
    assert nx.number_weakly_connected_components(graph.graph) == 2
    assert sorted(graph.dams_off_sections) == sorted(
        ["Dniester HPP (Dnistrovska HES), 702 MW", "Dniester PSPP (Dnistrovska GAES), 648 MW", "Dubasari HPP, 48 MW"]
    )


def test_downstream_is_faster_than_upstream_by_the_current(river: RiverModel, graph: RouteGraph) -> None:
    a, b = river.axis_point("north", 30.0), river.axis_point("north", 80.0)
    speed = 10.0
    down = graph.eta(a, b, speed)
    up = graph.eta(b, a, speed)
    assert down.distance_m == pytest.approx(50_000, abs=1)
    assert up.distance_m == pytest.approx(50_000, abs=1)
    assert down.eta_s == pytest.approx(50_000 / (speed + CURRENT), abs=0.5)
    assert up.eta_s == pytest.approx(50_000 / (speed - CURRENT), abs=0.5)
    assert up.eta_s > down.eta_s


def test_current_is_configurable_per_section(river: RiverModel) -> None:
    g = RouteGraph(river, RoutingSettings(current_mps={"north": 0.0, "south": 1.5}))
    a, b = river.axis_point("north", 30.0), river.axis_point("north", 40.0)
    assert g.eta(a, b, 5.0).eta_s == pytest.approx(2000.0, abs=0.5)
    assert g.eta(b, a, 5.0).eta_s == pytest.approx(2000.0, abs=0.5)
    c, d = river.axis_point("south", 10.0), river.axis_point("south", 20.0)
    assert g.eta(c, d, 5.0).eta_s == pytest.approx(10_000 / 6.5, abs=0.5)


def test_same_edge_route(river: RiverModel, graph: RouteGraph) -> None:
    a, b = river.axis_point("north", 50.0), river.axis_point("north", 50.03)
    r = graph.eta(a, b, 10.0)
    assert r.distance_m == pytest.approx(30.0, abs=0.1)
    assert r.eta_s == pytest.approx(30.0 / 10.8, abs=0.01)


def test_no_route_between_sections(river: RiverModel, graph: RouteGraph) -> None:
    with pytest.raises(NoRoute, match="separated by dams"):
        graph.eta(river.axis_point("north", 140.0), river.axis_point("south", 2.0), 10.0)


def test_boat_slower_than_the_current_cannot_go_upstream(river: RiverModel, graph: RouteGraph) -> None:
    a, b = river.axis_point("north", 30.0), river.axis_point("north", 31.0)
    assert graph.eta(a, b, 0.5).eta_s == pytest.approx(1000 / 1.3, abs=0.5)
    with pytest.raises(NoRoute, match="upstream"):
        graph.eta(b, a, 0.5)


def test_no_route_passes_a_dam(river: RiverModel) -> None:
    dam_lon, dam_lat = river.axis_point("north", 60.0)
    g = RouteGraph(river, RoutingSettings(extra_dams=[Dam(name="test dam", lon=dam_lon, lat=dam_lat)]))
    assert [(d.name, round(d.chainage_m)) for d in g.dams] == [("test dam", 60_000)]
    assert [r.section for r in g.reaches] == ["north", "north", "south"]
    with pytest.raises(NoRoute, match="dam"):
        g.eta(river.axis_point("north", 30.0), river.axis_point("north", 80.0), 10.0)
    with pytest.raises(NoRoute, match="dam"):
        g.eta(river.axis_point("north", 59.99), river.axis_point("north", 60.01), 10.0)
    ok = g.eta(river.axis_point("north", 30.0), river.axis_point("north", 59.0), 10.0)
    kms = river.locate_many(*np.asarray(ok.path_lonlat).T).chainage_m / 1000
    assert kms.max() < 60.0


def test_road_transfer_joins_the_sections(river: RiverModel) -> None:
    north_end, south_start = river.axis_point("north", 143.0), river.axis_point("south", 1.0)
    transfer = RoadTransfer(name="Dubasari by trailer", a=north_end, b=south_start, duration_s=7200)
    g = RouteGraph(river, RoutingSettings(road_transfers=[transfer]))
    r = g.eta(river.axis_point("north", 133.0), river.axis_point("south", 11.0), 10.0)
    assert r.transfers == ["Dubasari by trailer"]
    assert r.eta_s == pytest.approx(2 * 10_000 / 10.8 + 7200, abs=30)


def test_route_path_stays_on_the_water(river: RiverModel, graph: RouteGraph) -> None:
    r = graph.eta(river.axis_point("north", 5.0), river.axis_point("north", 140.0), 12.0)
    lon, lat = np.asarray(r.path_lonlat).T
    where = river.locate_many(lon, lat)
    assert where.on_water.all()
    assert np.all(np.diff(where.chainage_m) >= -0.01)  # downstream all the way
    length = sum(np.hypot(*np.diff(np.stack(river.projector.to_xy(lon, lat)), axis=1)))
    assert length == pytest.approx(r.distance_m, rel=1e-4)


def test_inland_base_snaps_to_the_nearest_water(places: dict[str, Any], graph: RouteGraph) -> None:
    otaci, soroca = places["Otaci"], places["Soroca"]
    r = graph.eta((otaci["lon"], otaci["lat"]), (soroca["lon"], soroca["lat"]), 20 * KNOT_MPS)
    assert not r.origin.on_water and r.origin.lateral_m == pytest.approx(418.8, abs=1)
    assert r.origin.water_leg_m == pytest.approx(100.0)
    assert r.destination.water_leg_m == pytest.approx(100.0)
    along = r.destination.chainage_m - r.origin.chainage_m
    assert along == pytest.approx(78_327, abs=5)
    assert r.distance_m == pytest.approx(along + 200.0, abs=0.5)
    assert r.eta_s == pytest.approx(along / (20 * KNOT_MPS + CURRENT) + 200.0 / (20 * KNOT_MPS), abs=0.5)


def test_points_far_from_the_river_are_refused(graph: RouteGraph, river: RiverModel) -> None:
    with pytest.raises(NotOnRiver, match="within 2000 m"):
        graph.eta((28.83, 47.02), river.axis_point("north", 10.0), 10.0)
    with pytest.raises(OutOfArea):
        graph.eta((2.35, 48.85), river.axis_point("north", 10.0), 10.0)
    with pytest.raises(ValueError, match="positive"):
        graph.eta(river.axis_point("north", 10.0), river.axis_point("north", 11.0), 0.0)


def test_unknown_section_in_current_settings_is_an_error(river: RiverModel) -> None:
    with pytest.raises(Exception, match="unknown river section"):
        RouteGraph(river, RoutingSettings(current_mps={"middle": 1.0}))


def test_transfer_far_from_the_river_is_a_graph_error(river: RiverModel) -> None:
    bad = RoadTransfer(name="nowhere", a=(28.83, 47.02), b=river.axis_point("south", 1.0), duration_s=60)
    with pytest.raises(GraphError):
        RouteGraph(river, RoutingSettings(road_transfers=[bad]))


def test_validation_catches_a_broken_graph(river: RiverModel) -> None:
    g = RouteGraph(river)
    u, v = g.reaches[0].node_ids[10], g.reaches[0].node_ids[11]
    g.graph.edges[u, v]["length_m"] += 5.0
    with pytest.raises(GraphError, match="edges sum"):
        g.validate()


def test_nan_route_end_is_an_invalid_coordinate(graph: RouteGraph, river: RiverModel) -> None:
    from geo.errors import InvalidCoordinate

    with pytest.raises(InvalidCoordinate):
        graph.eta((float("nan"), 48.4), river.axis_point("north", 10.0), 10.0)
