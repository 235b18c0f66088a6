"""Synthetic incidents (seeded year on the real river) and the dispatch policies of the benchmark.

Expected values come from the model's documented formulas evaluated here (seasonal cosine,
von Mises time of day via scipy, section lengths, M/G/inf outages) or from hand arithmetic on
river km, speeds and currents; never from the generator or the policies themselves.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from scipy.stats import vonmises

from bench.bench_policies import TrueTimes, agency_straight, joint_route, joint_straight
from geo.config import Dam, RoutingSettings
from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.dispatch.fleet import AssetConfig, AssetKind, example_fleet_path, load_fleet_file
from sar.dispatch.synthetic import SyntheticIncident, SyntheticModel, generate_incidents, hotspots
from sar.incidents.model import IncidentType
from tests.conftest import REPO

LOCAL = ZoneInfo("Europe/Chisinau")
GEOD = Geod(ellps="WGS84")
START = date(2025, 1, 1)


@pytest.fixture(scope="module")
def year(river: RiverModel) -> list[SyntheticIncident]:
    return generate_incidents(river, START, 365, seed=3)


@pytest.fixture(scope="module")
def busy_year(river: RiverModel) -> list[SyntheticIncident]:
    """Three times the default rate: enough incidents per type for the time-of-day shape."""
    return generate_incidents(river, START, 365, seed=5, model=SyntheticModel(rate_per_day=12.0))


@pytest.fixture(scope="module")
def fleet() -> list[AssetConfig]:
    return load_fleet_file(example_fleet_path()).assets


@pytest.fixture(scope="module")
def boats(fleet: list[AssetConfig]) -> list[AssetConfig]:
    return [a for a in fleet if a.kind == AssetKind.BOAT]


# -- the generator --------------------------------------------------------------------------


def test_same_seed_same_incidents_other_seed_others(river: RiverModel) -> None:
    a = generate_incidents(river, START, 60, seed=7)
    b = generate_incidents(river, START, 60, seed=7)
    c = generate_incidents(river, START, 60, seed=8)
    assert a == b
    assert [i.to_dict() for i in a] == [i.to_dict() for i in b]
    assert [(i.time, i.lon) for i in a] != [(i.time, i.lon) for i in c]


def test_incidents_are_in_time_order_inside_the_local_days(year: list[SyntheticIncident]) -> None:
    times = [i.time for i in year]
    assert times == sorted(times)
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in times)
    local_days = {t.astimezone(LOCAL).date() for t in times}
    assert min(local_days) >= START and max(local_days) <= date(2025, 12, 31)
    assert len({i.id for i in year}) == len(year)
    # about rate_per_day * 365 = 1460 (Poisson sd 38)
    assert abs(len(year) - 1460) < 4 * math.sqrt(1460)


def test_every_position_is_on_the_water_of_its_section_and_side(
    river: RiverModel, year: list[SyntheticIncident]
) -> None:
    loc = river.locate_many([i.lon for i in year], [i.lat for i in year])
    names = [s.name for s in river.sections]
    banks = {s.name: (s.right_bank, s.left_bank) for s in river.sections}
    for k, inc in enumerate(year):
        assert loc.section_index[k] >= 0 and names[loc.section_index[k]] == inc.section, inc
        assert bool(loc.on_water[k]), inc
        assert str(loc.side[k]) == inc.side, inc
        assert (loc.offset_m[k] >= 0) == (inc.offset_m >= 0), inc
        assert inc.side == (banks[inc.section][0] if inc.offset_m >= 0 else banks[inc.section][1])
        assert abs(inc.offset_m) < river.settings.water_half_width_m
        assert loc.chainage_m[k] / 1000 == pytest.approx(inc.river_km, abs=1e-6)
        assert loc.offset_m[k] == pytest.approx(inc.offset_m, abs=1e-6)
        assert river.locate(inc.lon, inc.lat).on_water
    assert Counter(i.side for i in year).keys() == {"MD", "UA"}


def test_south_share_is_proportional_to_its_length(river: RiverModel, year: list[SyntheticIncident]) -> None:
    p = river.section("south").length_m / (river.section("south").length_m + river.section("north").length_m)
    assert p == pytest.approx(63.8 / 207.7, abs=0.001)
    n = len(year)
    share = sum(i.section == "south" for i in year) / n
    assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n)


def _expected_count(months: set[int], model: SyntheticModel) -> float:
    """Sum over the days of those months of rate * share * (1 + A cos(2 pi (doy - peak) / 365.25))."""
    total = 0.0
    for d in range(365):
        day = START + timedelta(days=d)
        if day.month in months:
            doy = day.timetuple().tm_yday
            for t in model.types:
                cos = math.cos(2 * math.pi * (doy - t.peak_doy) / 365.25)
                total += model.rate_per_day * t.share * (1 + t.season_amplitude * cos)
    return total


def test_summer_has_more_incidents_than_winter(year: list[SyntheticIncident]) -> None:
    months = Counter(i.time.astimezone(LOCAL).month for i in year)
    summer, winter = sum(months[m] for m in (6, 7, 8)), sum(months[m] for m in (12, 1, 2))
    model = SyntheticModel()
    exp_summer, exp_winter = _expected_count({6, 7, 8}, model), _expected_count({12, 1, 2}, model)
    assert exp_summer > 1.8 * exp_winter  # the model's design: ~550 vs ~270
    assert abs(summer - exp_summer) < 4 * math.sqrt(exp_summer)
    assert abs(winter - exp_winter) < 4 * math.sqrt(exp_winter)
    assert summer > 1.5 * winter
    swimmers = Counter(i.time.astimezone(LOCAL).month for i in year if i.type == IncidentType.PERSON_IN_WATER)
    assert sum(swimmers[m] for m in (6, 7, 8)) > 8 * sum(swimmers[m] for m in (12, 1, 2))


def _local_hours(incidents: list[SyntheticIncident], kind: IncidentType) -> np.ndarray:
    ts = [i.time.astimezone(LOCAL) for i in incidents if i.type == kind]
    return np.array([t.hour + t.minute / 60 + t.second / 3600 for t in ts])


@pytest.mark.parametrize(
    ("kind", "peak_h", "kappa", "half_window_h"),
    [
        (IncidentType.PERSON_IN_WATER, 15.0, 2.5, 3.0),  # swimmers in the afternoon
        (IncidentType.BORDER_CROSSING, 1.0, 2.0, 4.0),  # crossings at night
        (IncidentType.RENDEZVOUS, 23.0, 1.5, 4.0),
    ],
)
def test_time_of_day_follows_the_designed_shape(
    busy_year: list[SyntheticIncident], kind: IncidentType, peak_h: float, kappa: float, half_window_h: float
) -> None:
    hours = _local_hours(busy_year, kind)
    n = len(hours)
    off = (hours - peak_h + 12) % 24 - 12  # circular difference, hours
    a = half_window_h * 2 * math.pi / 24
    p = float(vonmises.cdf(a, kappa) - vonmises.cdf(-a, kappa))
    share = float(np.mean(np.abs(off) < half_window_h))
    assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n)
    # and the opposite half of the clock is nearly empty
    far = float(np.mean(np.abs(off) > 12 - half_window_h))
    assert far < 0.3 * share


def test_night_crossings_and_afternoon_swimmers(busy_year: list[SyntheticIncident]) -> None:
    crossings = _local_hours(busy_year, IncidentType.BORDER_CROSSING)
    swimmers = _local_hours(busy_year, IncidentType.PERSON_IN_WATER)
    night = (crossings >= 21) | (crossings < 5)
    assert night.mean() > 0.75
    assert ((swimmers >= 12) & (swimmers < 19)).mean() > 0.7
    assert ((swimmers >= 0) & (swimmers < 6)).mean() < 0.03


def test_hotspots_come_from_the_gazetteer_near_the_river(river: RiverModel, places: dict[str, Any]) -> None:
    spots = {h.name: h for h in hotspots(river)}
    assert spots["Mohyliv-Podilskyy"].weight == pytest.approx(math.sqrt(30589))
    assert spots["Soroca"].weight == pytest.approx(math.sqrt(27423))
    assert spots["Naslavcea"].weight == pytest.approx(math.sqrt(1000))  # no population in the gazetteer
    assert spots["Cosauti - Yampil"].kind == "bcp" and spots["Cosauti - Yampil"].section == "north"
    assert "Tiraspol" not in spots and "Dubasari HPP, 48 MW" not in spots  # far from the border river
    assert {h.section for h in spots.values() if h.name in ("Purcari", "Tudora", "Palanca")} == {"south"}
    soroca = river.locate(places["Soroca"]["lon"], places["Soroca"]["lat"])
    assert spots["Soroca"].river_km == pytest.approx(soroca.river_km, abs=0.001)


def test_incidents_cluster_near_their_hotspot(river: RiverModel, year: list[SyntheticIncident]) -> None:
    spots = {h.name: h for h in hotspots(river)}
    near = [i for i in year if i.hotspot is not None]
    assert 0.5 < len(near) / len(year) < 0.85  # background shares 0.15-0.4 by type
    sd = SyntheticModel().hotspot_sd_km
    assert all(abs(i.river_km - spots[i.hotspot].river_km) < 5 * sd for i in near if i.hotspot)
    assert all(spots[i.hotspot].kind == "town" for i in near if i.hotspot and i.type == IncidentType.PERSON_IN_WATER)
    # Mohyliv-Podilskyy + Otaci weigh 267 of the north's ~1,640 town weight, and two of its six
    # crossing points are there: about 0.09 of all incidents fall in north km 25-31, against
    # 6 / 207.7 = 0.029 were they spread evenly along the river.
    mohyliv = sum(1 for i in year if i.section == "north" and 25 <= i.river_km <= 31) / len(year)
    assert mohyliv > 2.5 * (6 / 207.7)
    remote = sum(1 for i in year if i.section == "north" and 137 <= i.river_km <= 143) / len(year)
    assert remote < mohyliv / 2


def test_fleet_state_partitions_the_fleet(year: list[SyntheticIncident], fleet: list[AssetConfig]) -> None:
    ids = {a.id for a in fleet}
    for i in year:
        parts = [set(i.available), set(i.busy), set(i.out_of_service)]
        assert set().union(*parts) == ids
        assert sum(len(p) for p in parts) == len(ids)
    n = len(year) * len(ids)
    down = sum(len(i.out_of_service) for i in year)
    busy = sum(len(i.busy) for i in year)
    p = SyntheticModel().busy_probability
    assert abs(busy / (n - down) - p) < 4 * math.sqrt(p * (1 - p) / (n - down))


def test_outages_match_the_stationary_fraction(river: RiverModel, fleet: list[AssetConfig]) -> None:
    """Poisson arrivals of exponential outages: P(down) = 1 - exp(-rate * mean length)."""
    many = [fleet[0].model_copy(update={"id": f"X{k}"}) for k in range(60)]
    many.append(fleet[1].model_copy(update={"id": "DOWN", "out_of_service": True}))
    incs = generate_incidents(river, START, 365, seed=11, assets=many)
    model = SyntheticModel()
    expected = 1 - math.exp(-model.outage_per_day * model.outage_mean_days)
    down = sum(len([a for a in i.out_of_service if a != "DOWN"]) for i in incs) / (60 * len(incs))
    assert down == pytest.approx(expected, abs=0.02)
    assert all("DOWN" in i.out_of_service for i in incs)


def test_bad_arguments_are_refused(river: RiverModel) -> None:
    with pytest.raises(ValueError, match="days"):
        generate_incidents(river, START, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_incidents(river, datetime(2025, 1, 1), 1)
    with pytest.raises(ValueError, match="offset"):
        SyntheticModel(types=(replace(SyntheticModel().types[0], offset_frac=(0.5, 1.2)),))
    aware = generate_incidents(river, datetime(2025, 6, 1, 12, tzinfo=UTC), 1, seed=1)
    assert all(i.time.astimezone(LOCAL).date() == date(2025, 6, 1) for i in aware)


# -- the policies ---------------------------------------------------------------------------

INCIDENT_KM = 50.0  # north km 47-53 is nearly straight: 6 km of river, 5.96 km as the crow flies


def _boat(river: RiverModel, asset_id: str, agency: str, km: float, speed: float, readiness_min: float) -> AssetConfig:
    lon, lat = river.axis_point("north", km)
    return AssetConfig(
        id=asset_id,
        agency=agency,
        call_sign=asset_id,
        base={"name": f"km {km}", "lon": lon, "lat": lat},
        speed_mps=speed,
        readiness_min=readiness_min,
    )


def _straight_m(boat: AssetConfig, scene: tuple[float, float]) -> float:
    return float(GEOD.inv(boat.base.lon, boat.base.lat, scene[0], scene[1])[2])


def test_straight_line_nearest_upstream_against_a_strong_current(river: RiverModel) -> None:
    """A is 1.5 km downstream (nearest), B 2.5 km upstream; current 4 m/s, both boats 5 m/s, 5 min
    readiness. A: 300 + 1500 / (5 - 4) = 1800 s; B: 300 + 2500 / (5 + 4) = 577.8 s."""
    graph = RouteGraph(river, RoutingSettings(current_mps={"north": 4.0, "south": 0.8}))
    scene = river.axis_point("north", INCIDENT_KM)
    a = _boat(river, "A", "MD", INCIDENT_KM + 1.5, 5.0, 5.0)
    b = _boat(river, "B", "UA", INCIDENT_KM - 2.5, 5.0, 5.0)
    assert _straight_m(a, scene) < _straight_m(b, scene)
    times = TrueTimes(graph)
    best = joint_route([a, b], *scene, times)
    nearest = joint_straight([a, b], *scene, times)
    alone = agency_straight([a, b], *scene, times)
    assert (best.asset_id, nearest.asset_id, alone.asset_id) == ("B", "A", "B")
    assert best.time_s == pytest.approx(300 + 2500 / 9, abs=0.5)
    assert nearest.time_s == pytest.approx(300 + 1500 / 1, abs=0.5)
    assert nearest.time_s - best.time_s == pytest.approx(1500 - 2500 / 9, abs=0.5)  # 20.4 min lost
    assert alone.time_s == pytest.approx(best.time_s) and alone.failed == nearest.failed == ()
    assert times.routed == 2  # each (base, scene) routed once for the three policies


def test_straight_line_nearest_across_a_dam(river: RiverModel) -> None:
    """A dam at km 51 between the scene (km 50) and A (km 51.5, MD, 10 min readiness): A cannot
    come; (c) loses A's 10 min, then sends B (km 47.5, UA, 10 m/s, 5 min): 300 + 2500 / 10.8 s."""
    dam = river.axis_point("north", 51.0)
    graph = RouteGraph(river, RoutingSettings(extra_dams=[Dam(name="test dam", lon=dam[0], lat=dam[1])]))
    scene = river.axis_point("north", INCIDENT_KM)
    a = _boat(river, "A", "MD", INCIDENT_KM + 1.5, 12.0, 10.0)
    b = _boat(river, "B", "UA", INCIDENT_KM - 2.5, 10.0, 5.0)
    assert _straight_m(a, scene) < _straight_m(b, scene)
    times = TrueTimes(graph)
    best = joint_route([a, b], *scene, times)
    nearest = joint_straight([a, b], *scene, times)
    alone = agency_straight([a, b], *scene, times)
    b_time = 300 + 2500 / 10.8
    assert best.asset_id == "B" and best.failed == ()
    assert best.time_s == pytest.approx(b_time, abs=0.5)
    assert nearest.asset_id == "B" and nearest.failed == ("A",)
    assert nearest.time_s - best.time_s == pytest.approx(600.0, abs=1e-6)
    assert alone.asset_id == "B" and alone.failed == ("A",)  # MD's only boat failed; UA's came
    assert alone.time_s == pytest.approx(b_time, abs=0.5)


def _check_joint_never_slower(boats: list[AssetConfig], scene: tuple[float, float], times: TrueTimes) -> None:
    best = joint_route(boats, *scene, times)
    for other in (agency_straight(boats, *scene, times), joint_straight(boats, *scene, times)):
        assert best.time_s <= other.time_s + 1e-9
        assert math.isfinite(best.time_s) == math.isfinite(other.time_s)
    reachable = [b for b in boats if times.to_scene_s(b, *scene) is not None]
    assert (best.asset_id is None) == (not reachable)


@pytest.fixture(scope="module")
def strong_current(river: RiverModel) -> RouteGraph:
    """5 m/s: MD-B4 (5 m/s through water) cannot go upstream at all."""
    return RouteGraph(river, RoutingSettings(current_mps={"north": 5.0, "south": 5.0}))


@given(
    section=st.sampled_from(["north", "south"]),
    frac=st.floats(0.0, 1.0),
    offset=st.floats(-95.0, 95.0),
    keep=st.lists(st.booleans(), min_size=11, max_size=11),
    strong=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_joint_route_is_never_slower_property(
    river: RiverModel,
    graph: RouteGraph,
    strong_current: RouteGraph,
    boats: list[AssetConfig],
    section: str,
    frac: float,
    offset: float,
    keep: list[bool],
    strong: bool,
) -> None:
    km = frac * river.section(section).length_m / 1000
    scene = river.axis_point(section, km, offset)
    free = [b for b, k in zip(boats, keep) if k]
    _check_joint_never_slower(free, scene, TrueTimes(strong_current if strong else graph))


def test_joint_route_is_never_slower_on_generated_incidents(
    river: RiverModel, graph: RouteGraph, boats: list[AssetConfig]
) -> None:
    times = TrueTimes(graph)
    for inc in generate_incidents(river, START, 45, seed=21):
        _check_joint_never_slower([b for b in boats if b.id in inc.available], (inc.lon, inc.lat), times)


def test_benchmark_prints_json_and_a_summary() -> None:
    r = subprocess.run(
        [sys.executable, "bench/bench_policies.py", "--days", "20", "--seed", "4", "--current", "1.2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    body, summary = r.stdout.rsplit("\n}\n", 1)
    result = json.loads(body + "\n}")
    assert result["current_mps"] == 1.2 and result["days"] == 20
    assert "MD-D1" not in result["boats"] and len(result["boats"]) == 11
    pol = result["policies"]
    assert pol["joint_route"]["failed_dispatches"] == 0
    for name, saved in (("agency_straight", "saved_vs_agency_straight"), ("joint_straight", "saved_vs_joint_straight")):
        assert pol[name]["mean_min"] >= pol["joint_route"]["mean_min"]
        assert result[saved]["mean_min"] == pytest.approx(
            pol[name]["mean_min"] - pol["joint_route"]["mean_min"], abs=0.02
        )
        assert result[saved]["median_min"] >= 0
    assert sum(s["incidents"] for s in result["by_section"].values()) == result["incidents"]
    assert sum(t["incidents"] for t in result["by_type"].values()) == result["incidents"]
    assert summary.startswith("together by water: mean")
