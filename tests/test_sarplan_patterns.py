"""Search patterns on the real river: every leg on the water, spacing as asked, the area covered,
planned times from speed and current, and the assignment rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString

from geo.river import RiverModel
from sar.sarplan import (
    DriftSettings,
    PatternError,
    SarPlanRequest,
    SearchArea,
    Searcher,
    SearchPattern,
    assign_patterns,
    creeping_line,
    expanding_square,
    make_plan,
    parallel_track,
    predict_drift,
    search_area,
    sector_search,
    split_area,
    track_spacing,
)

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
BOAT = Searcher("boat-1", "boat", 6.0)
DRONE = Searcher("drone-1", "drone", 12.0)


def area(river: RiverModel, section: str, km_from: float, km_to: float, radius_m: float = 250.0) -> SearchArea:
    lon, lat = river.axis_point(section, (km_from + km_to) / 2)
    return SearchArea(section, km_from, km_to, lon, lat, radius_m, 0.9)


# a straight reach (north km 50.9-52.9 is one 2 km axis segment), an ordinary one, and the
# sharpest bends of the river (south km 0.5-1.4 turn by 70 to 100 degrees)
AREAS = [("north", 51.2, 52.5), ("north", 95.0, 98.0), ("south", 0.2, 1.8)]


def xy_of(river: RiverModel, p: SearchPattern) -> tuple[np.ndarray, np.ndarray]:
    return river.projector.to_xy([w.lon for w in p.waypoints], [w.lat for w in p.waypoints])


def assert_on_water(river: RiverModel, p: SearchPattern, section: str) -> None:
    """Points every 2 m along every leg and transit are on the water of the section."""
    x, y = xy_of(river, p)
    line = LineString(np.stack([x, y], axis=1))
    pts = shapely.get_coordinates(shapely.line_interpolate_point(line, np.arange(0.0, line.length, 2.0)))
    where = river.locate_xy(pts[:, 0], pts[:, 1])
    assert where.on_water.all(), f"{p.kind}: {int((~where.on_water).sum())} points off the water"
    assert shapely.covers(river.water[section].buffer(0.5), line)


def legs(river: RiverModel, p: SearchPattern) -> list[LineString]:
    x, y = xy_of(river, p)
    return [LineString(np.stack([x[a : b + 1], y[a : b + 1]], axis=1)) for a, b in p.legs]


@pytest.mark.parametrize("where", AREAS)
@pytest.mark.parametrize("kind", ["parallel", "creeping", "square", "sector"])
def test_every_pattern_stays_on_the_water(river: RiverModel, where: tuple[str, float, float], kind: str) -> None:
    a = area(river, *where)
    if kind == "parallel":
        p = parallel_track(river, a, DRONE, 40.0)
    elif kind == "creeping":
        p = creeping_line(river, a, DRONE, 40.0)
    elif kind == "square":
        p = expanding_square(river, a, DRONE, 40.0, radius_m=400.0)
    else:
        p = sector_search(river, a, DRONE, radius_m=300.0)
    assert len(p.waypoints) >= 4
    assert_on_water(river, p, where[0])


@pytest.mark.parametrize("where", AREAS[:2])
def test_parallel_track_legs_are_one_spacing_apart_and_cover_the_stretch(
    river: RiverModel, where: tuple[str, float, float]
) -> None:
    hw = river.settings.water_half_width_m
    a = area(river, *where)
    p = parallel_track(river, a, DRONE, 50.0)
    ls = legs(river, p)
    assert len(ls) == 4  # ceil(200 m / 50 m), at offsets -75, -25, 25, 75
    for one, other in zip(ls, ls[1:]):
        probe = shapely.line_interpolate_point(one, np.linspace(0.0, one.length, 400))
        d = shapely.distance(probe, other)
        assert np.median(d) == pytest.approx(50.0, abs=0.5)
        assert np.percentile(d, 90) == pytest.approx(50.0, abs=2.5)
    # every point of the water in the stretch is within half a spacing (+ bend allowance) of a leg
    rng = np.random.default_rng(1)
    km = rng.uniform(where[1] + 0.05, where[2] - 0.05, 400)
    off = rng.uniform(-hw, hw, 400)
    pts = np.array([river.axis_point(where[0], k, o) for k, o in zip(km, off)])
    px, py = river.projector.to_xy(pts[:, 0], pts[:, 1])
    near = shapely.distance(shapely.points(px, py), shapely.union_all(ls))
    assert np.percentile(near, 95) <= 25.0 + 1.0
    assert near.max() <= 25.0 + 10.0
    # the legs run the whole stretch
    first = river.locate_xy(*shapely.get_coordinates(ls[0])[[0, -1]].T)
    assert first.chainage_m[0] == pytest.approx(where[1] * 1000.0, abs=2.0)
    assert first.chainage_m[1] == pytest.approx(where[2] * 1000.0, abs=2.0)


def test_creeping_line_crosses_bank_to_bank_one_spacing_apart(river: RiverModel) -> None:
    a = area(river, "north", 51.2, 52.5)
    p = creeping_line(river, a, DRONE, 50.0, bank_clearance_m=10.0)
    ls = legs(river, p)
    assert len(ls) == 26  # floor(1300 m / 50 m)
    for one in ls:
        assert one.length == pytest.approx(2 * (100.0 - 10.0), abs=0.5)  # bank to bank, 10 m clear
    mids = [one.interpolate(0.5, normalized=True) for one in ls]
    gaps = [m1.distance(m2) for m1, m2 in zip(mids, mids[1:])]
    assert np.allclose(gaps, 50.0, atol=0.5)
    ch = river.locate_xy([m.x for m in mids], [m.y for m in mids]).chainage_m
    assert ch[0] == pytest.approx(51_225.0, abs=1.0) and ch[-1] == pytest.approx(52_475.0, abs=1.0)


def test_expanding_square_starts_downstream_and_shortens_legs_at_the_bank(river: RiverModel) -> None:
    a = area(river, "north", 51.5, 52.0)
    p = expanding_square(river, a, DRONE, 50.0, radius_m=300.0)
    ls = legs(river, p)
    nominal = [50.0 * (i // 2 + 1) for i in range(len(ls))]
    lengths = [one.length for one in ls]
    # along the river the first legs run full length; across it they stop 10 m (+1) inside the bank
    assert lengths[0] == pytest.approx(50.0, abs=0.01) and lengths[1] == pytest.approx(50.0, abs=0.01)
    assert any(ln < nom - 1.0 for ln, nom in zip(lengths, nominal))
    assert all(ln <= nom + 0.02 for ln, nom in zip(lengths, nominal))  # waypoints rounded to 1e-7 deg
    start = river.locate(p.waypoints[0].lon, p.waypoints[0].lat)
    second = river.locate(p.waypoints[1].lon, p.waypoints[1].lat)
    assert start.river_km is not None and second.river_km is not None
    assert second.river_km - start.river_km == pytest.approx(0.05, abs=0.001)  # first leg downstream
    far = river.locate_many([w.lon for w in p.waypoints], [w.lat for w in p.waypoints])
    assert np.nanmax(np.abs(far.offset_m)) <= 90.0 + 1e-6
    assert np.nanmax(far.chainage_m) - np.nanmin(far.chainage_m) >= 500.0  # grows to +-radius along


def test_sector_search_returns_through_the_datum(river: RiverModel) -> None:
    a = area(river, "north", 51.5, 52.0)
    p = sector_search(river, a, DRONE, radius_m=200.0)
    x, y = xy_of(river, p)
    d = np.hypot(x - x[0], y - y[0])
    assert int((d < 0.01).sum()) >= 4  # start and the three returns
    assert d.max() == pytest.approx(200.0, abs=0.5)  # the downstream spoke runs full length
    assert d.max() <= 200.0 + 0.02


def test_planned_times_follow_speed_and_current(river: RiverModel) -> None:
    settings = DriftSettings()
    a = area(river, "north", 60.0, 64.0)
    boat = Searcher("b", "boat", 5.0)
    # spacing >= the width: one leg on the axis, downstream with the 0.8 m/s mid-channel current
    p = parallel_track(river, a, boat, 250.0, settings=settings)
    assert len(p.legs) == 1
    assert p.duration_s == pytest.approx(4000.0 / (5.0 + 0.8), rel=1e-3)
    drone = parallel_track(river, a, DRONE, 250.0, settings=settings)
    assert drone.duration_s == pytest.approx(4000.0 / 12.0, rel=1e-3)
    assert [w.t_s for w in drone.waypoints] == sorted(w.t_s for w in drone.waypoints)
    # two legs: back upstream against the current is slower
    two = parallel_track(river, a, boat, 100.0, settings=settings)
    (a0, b0), (a1, b1) = two.legs
    down = two.waypoints[b0].t_s - two.waypoints[a0].t_s
    up = two.waypoints[b1].t_s - two.waypoints[a1].t_s
    assert up > down * (5.0 + 0.7) / (5.0 - 0.7) * 0.98  # the current at +-50 m is about 0.72 m/s
    with pytest.raises(PatternError, match="cannot make way"):
        parallel_track(river, a, Searcher("slow", "boat", 0.5), 100.0, settings=settings)
    start = T0 + timedelta(hours=1)
    d = parallel_track(river, a, DRONE, 250.0, start=start).to_dict()
    assert d["waypoints"][0]["time"] == start.isoformat()


def test_search_area_from_a_drift(river: RiverModel) -> None:
    lon, lat = river.axis_point("north", 60.0)
    drift = predict_drift(river, (lon, lat, T0), T0 + timedelta(hours=1), DriftSettings(), particles=2000, seed=1)
    a = search_area(drift)
    d = drift.final.datum
    assert d is not None and a.section == "north"
    assert a.km_from < d.river_km < a.km_to
    assert a.probability == pytest.approx(0.9, abs=0.01)
    s = drift.final.particles.s
    assert np.mean((s >= a.km_from * 1000) & (s <= a.km_to * 1000)) == pytest.approx(0.9, abs=0.01)
    p = parallel_track(river, a, BOAT, track_spacing(60.0, coverage=1.2), settings=DriftSettings())
    assert p.spacing_m == pytest.approx(50.0)
    assert_on_water(river, p, "north")


def test_assignment_rule(river: RiverModel) -> None:
    a = area(river, "north", 60.0, 63.0, radius_m=200.0)
    other = SearchArea("north", 70.0, 71.0, *river.axis_point("north", 70.5), 150.0, 0.05)
    slow, fast = Searcher("b-slow", "boat", 4.0), Searcher("b-fast", "boat", 8.0)
    plan = assign_patterns(river, [other, a], [slow, DRONE, fast], 50.0, settings=DriftSettings())
    kinds = {x.searcher_id: x.pattern.kind for x in plan.assignments}
    # drone fastest -> sector on the most probable area; the two boats: one per area, fastest first
    assert kinds == {"drone-1": "sector", "b-fast": "parallel_track", "b-slow": "parallel_track"}
    areas = {x.searcher_id: x.area for x in plan.assignments}
    assert areas["b-fast"].km_from == 60.0 and areas["b-slow"].km_from == 70.0
    assert plan.unassigned == ()
    # two boats in one area split it 2:1 by speed, upstream part to the faster
    one = assign_patterns(river, [a], [Searcher("lead", "drone", 20.0), slow, fast], 50.0)
    parts = {x.searcher_id: x.area for x in one.assignments}
    assert parts["b-fast"].km_from == 60.0 and parts["b-fast"].km_to == pytest.approx(62.0)
    assert parts["b-slow"].km_from == pytest.approx(62.0) and parts["b-slow"].km_to == 63.0
    assert {x.pattern.kind for x in one.assignments} == {"sector", "parallel_track"}
    # a lone drone sweeps across; an area without searchers is reported
    lone = assign_patterns(river, [a, other], [DRONE], 50.0)
    assert [x.pattern.kind for x in lone.assignments] == ["creeping_line"]
    assert lone.unassigned == (other,)
    assert [round(p.km_to - p.km_from, 6) for p in split_area(a, [1, 1, 2])] == [0.75, 0.75, 1.5]


def test_bad_pattern_inputs(river: RiverModel) -> None:
    a = area(river, "north", 60.0, 61.0)
    with pytest.raises(PatternError, match="spacing"):
        parallel_track(river, a, DRONE, 0.0)
    with pytest.raises(PatternError, match="clearance"):
        creeping_line(river, a, DRONE, 50.0, bank_clearance_m=150.0)
    far = SearchArea("north", 60.0, 61.0, *river.axis_point("south", 10.0), 100.0, 0.9)
    with pytest.raises(PatternError, match="not on section north"):
        sector_search(river, far, DRONE)
    with pytest.raises(PatternError, match="sweep width"):
        track_spacing(0.0)


def test_a_whole_plan_from_a_last_known_position(river: RiverModel) -> None:
    lon, lat = river.axis_point("south", 30.0, -40.0)
    req = SarPlanRequest.model_validate(
        {"horizon_min": 45, "wind": {"speed_mps": 6, "from_deg": 200}, "sweep_width_m": 40, "seed": 3}
    )
    searchers = [Searcher("drone-1", "drone", 14.0), Searcher("boat-1", "boat", 7.0)]
    plan = make_plan(river, DriftSettings(), (lon, lat, T0), req, searchers)
    assert plan.drift.final.time == T0 + timedelta(minutes=45)
    assert plan.area.section == "south" and plan.area.km_from > 30.0 - 0.5
    kinds = {a.searcher_id: a.pattern.kind for a in plan.assignments.assignments}
    assert kinds == {"drone-1": "sector", "boat-1": "parallel_track"}
    for a in plan.assignments.assignments:
        assert a.pattern.start == T0 + timedelta(minutes=45)
        assert_on_water(river, a.pattern, "south")
    doc = json.loads(json.dumps(plan.to_dict()))
    assert doc["assignments"][0]["pattern"]["waypoints"][0]["time"] == (T0 + timedelta(minutes=45)).isoformat()
    with pytest.raises(ValueError, match="extra"):
        SarPlanRequest.model_validate({"horizon": 45})
