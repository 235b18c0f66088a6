"""River drift on the real river: speed by the lateral profile, water-bound particles, banks, leeway.

Expected values are worked out by hand from the documented model (current 0.8 m/s mid-channel,
profile f(eta) = (1 - |eta|)^(1/7), parabolic 1 - eta^2) and measured with the river model's own
``locate_xy``, not with the drift code's coordinates.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from geo.config import RoutingSettings
from geo.river import RiverModel
from sar.sarplan import DriftError, DriftSettings, ObjectType, Wind, predict_drift
from sar.sarplan.rivercoords import SectionCoords

RIVER = RiverModel()  # for hypothesis (function-scoped fixtures do not mix with @given)

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
HOUR = T0 + timedelta(hours=1)
CALM = {"lateral_diffusion_m2ps": 0.0, "along_diffusion_m2ps": 0.0, "current_sd_fraction": 0.0}


def longest_segment(river: RiverModel, section: str) -> tuple[float, float, tuple[float, float]]:
    """Start and end chainage (m) of the section's longest straight axis segment and its unit
    downstream direction (grid east, north)."""
    xy = np.asarray(river.section(section).axis.coords)[:, :2]
    d = np.diff(xy, axis=0)
    length = np.hypot(d[:, 0], d[:, 1])
    i = int(np.argmax(length))
    start = float(length[:i].sum())
    return start, start + float(length[i]), (float(d[i, 0] / length[i]), float(d[i, 1] / length[i]))


def chainage(river: RiverModel, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.asarray(river.locate_xy(x, y).chainage_m)


def test_on_the_axis_it_drifts_at_the_mid_channel_current(river: RiverModel) -> None:
    lon, lat = river.axis_point("north", 40.0)
    r = predict_drift(river, (lon, lat, T0), HOUR, DriftSettings(**CALM), particles=500, seed=1, position_radius_m=0.0)
    p = r.final.particles
    # f(0) = 1: 0.8 m/s * 3600 s = 2880 m down the axis, every particle alike
    assert np.allclose(chainage(river, p.x, p.y) - 40_000.0, 2880.0, atol=1.0)
    assert r.final.time == HOUR and r.frames[0].time == T0
    assert len(r.frames) == 13  # every 300 s from 0 to 3600 s


@pytest.mark.parametrize(
    ("profile", "factor"),
    [("power", 0.5 ** (1 / 7)), ("parabolic", 0.75), ("uniform", 1.0)],
)
def test_half_way_to_the_bank_the_profile_slows_it(river: RiverModel, profile: str, factor: float) -> None:
    s0, _, _ = longest_segment(river, "north")
    lon, lat = river.axis_point("north", (s0 + 300.0) / 1000.0, 50.0)
    settings = DriftSettings(**CALM, lateral_profile=profile)  # type: ignore[arg-type]
    r = predict_drift(river, (lon, lat, T0), HOUR, settings, particles=50, seed=2, position_radius_m=0.0)
    p = r.final.particles
    where = river.locate_xy(p.x, p.y)
    moved = float(np.mean(where.chainage_m)) - (s0 + 300.0)
    # eta = 0.5: power 0.5^(1/7) = 0.9057 -> 2608.5 m; parabolic 0.75 -> 2160 m; uniform 2880 m
    assert moved == pytest.approx(2880.0 * factor, abs=25.0)
    assert np.all(np.abs(where.offset_m - 50.0) < 6.0)


def test_with_lateral_mixing_the_mean_follows_the_profile_average(river: RiverModel) -> None:
    k = 0.2
    settings = DriftSettings(lateral_diffusion_m2ps=k, along_diffusion_m2ps=0.0, current_sd_fraction=0.0)
    settings = settings.model_copy(update={"strand_probability": 0.0})
    lon, lat = river.axis_point("north", 40.0)
    r = predict_drift(river, (lon, lat, T0), HOUR, settings, particles=4000, seed=3, position_radius_m=0.0)
    p = r.final.particles
    moved = float(np.mean(chainage(river, p.x, p.y))) - 40_000.0
    # by hand: n(t) ~ N(0, 2kt); displacement = 0.8 * int_0^3600 E[(1 - |n|/100)^(1/7)] dt
    t = np.linspace(1.0, 3600.0, 720)
    n = np.linspace(-99.0, 99.0, 1981)
    f = (1.0 - np.abs(n) / 100.0) ** (1 / 7)
    sd = np.sqrt(2 * k * t)[:, None]
    w = np.exp(-0.5 * (n[None, :] / sd) ** 2)
    mean_f = (w * f).sum(axis=1) / w.sum(axis=1)
    expected = 0.8 * float(np.trapezoid(mean_f, t))
    assert 2600.0 < expected < 2800.0  # sanity of the hand computation: between 0.9 and 0.97 of 2880
    assert moved == pytest.approx(expected, abs=20.0)


def test_no_particle_ever_leaves_the_water(river: RiverModel) -> None:
    """Strong mixing, a cross wind and seeds at the bank, through the sharpest bends of the south
    section (km 0.5 to 1.4 turn by 70 to 100 degrees): every particle at every step is on the water."""
    lon, lat = river.axis_point("south", 0.3, 95.0)
    settings = DriftSettings(lateral_diffusion_m2ps=5.0, along_diffusion_m2ps=20.0, frames_every_s=30.0)
    r = predict_drift(
        river,
        (lon, lat, T0),
        HOUR,
        settings,
        ObjectType.KAYAK,
        particles=2000,
        seed=4,
        position_radius_m=300.0,
        wind=Wind(15.0, 45.0),
    )
    assert len(r.frames) == 121
    for frame in r.frames:
        where = river.locate_xy(frame.particles.x, frame.particles.y)
        assert where.on_water.all(), frame.time
        assert (where.section_index == [s.name for s in river.sections].index("south")).all()


def test_at_the_downstream_end_particles_stop_and_are_marked_as_left(river: RiverModel) -> None:
    length = river.section("south").length_m
    lon, lat = river.axis_point("south", (length - 1500.0) / 1000.0)
    r = predict_drift(river, (lon, lat, T0), HOUR, DriftSettings(), particles=1000, seed=5)
    f = r.final
    p = f.particles
    assert f.left_fraction > 0.9
    where = river.locate_xy(p.x[p.left], p.y[p.left])
    assert where.on_water.all()
    assert np.all(np.abs(where.chainage_m - length) < 15.0)
    total = sum(c["properties"]["probability"] for c in f.cells)
    assert total == pytest.approx(1.0 - f.left_fraction, abs=1e-3)


def test_stranding_happens_at_the_banks(river: RiverModel) -> None:
    lon, lat = river.axis_point("north", 40.0)
    hw = river.settings.water_half_width_m
    caught = DriftSettings(lateral_diffusion_m2ps=3.0, strand_probability=1.0, release_per_min=0.0)
    r = predict_drift(river, (lon, lat, T0), HOUR, caught, particles=2000, seed=6)
    p = r.final.particles
    assert 0.2 < r.final.stranded_fraction < 1.0
    edge = hw - river.locate_xy(p.x, p.y).axis_distance_m  # metres inside the water edge
    assert np.percentile(edge[p.stranded], 90) < 3.0
    assert np.median(edge[~p.stranded]) > 20.0
    # stranded particles stay put: compare with an earlier frame
    before = r.frames[-2].particles
    held = before.stranded & p.stranded
    assert held.any() and np.allclose(before.x[held], p.x[held]) and np.allclose(before.y[held], p.y[held])
    never = predict_drift(river, (lon, lat, T0), HOUR, caught.model_copy(update={"strand_probability": 0.0}), seed=6)
    assert never.final.stranded_fraction == 0.0
    freed = predict_drift(river, (lon, lat, T0), HOUR, caught.model_copy(update={"release_per_min": 0.5}), seed=6)
    assert freed.final.stranded_fraction < 0.5 * r.final.stranded_fraction


def test_the_seed_disc_gives_the_datum_and_its_radii(river: RiverModel) -> None:
    s0, _, _ = longest_segment(river, "north")
    km = (s0 + 800.0) / 1000.0
    lon, lat = river.axis_point("north", km)
    r = predict_drift(river, (lon, lat, T0), HOUR, DriftSettings(), particles=20000, seed=7, position_radius_m=90.0)
    d = r.frames[0].datum
    assert d is not None
    # uniform disc of radius R: the radius holding a share q is R * sqrt(q)
    assert d.radius_50_m == pytest.approx(90.0 * math.sqrt(0.5), rel=0.02)
    assert d.radius_90_m == pytest.approx(90.0 * math.sqrt(0.9), rel=0.02)
    x, y = river.projector.to_xy([lon, d.lon], [lat, d.lat])
    assert math.hypot(x[1] - x[0], y[1] - y[0]) < 3.0
    assert d.section == "north" and d.river_km == pytest.approx(km, abs=0.003)
    # the middle 90 % along the river of a disc: +-R * 0.8054 (sin of the angle cutting 5 % off)
    assert (d.km_to - d.km_from) * 1000.0 == pytest.approx(2 * 90.0 * 0.8054, rel=0.03)
    final = r.final.datum
    assert final is not None and final.km_from < final.river_km < final.km_to


def test_cells_hold_the_particles_they_claim(river: RiverModel) -> None:
    lon, lat = river.axis_point("north", 40.0)
    r = predict_drift(river, (lon, lat, T0), HOUR, DriftSettings(), particles=3000, seed=8)
    f = r.final
    p = f.particles
    plon, plat = river.projector.to_lonlat(p.x, p.y)
    pts = shapely.points(plon, plat)
    claimed = np.array([c["properties"]["probability"] for c in f.cells])
    polys = [shapely.geometry.shape(c["geometry"]) for c in f.cells]
    found = np.array([shapely.contains(poly, pts).sum() / len(pts) for poly in polys])
    assert all(poly.is_valid and shapely.is_ccw(poly.exterior) for poly in polys)
    assert claimed.sum() == pytest.approx(1.0, abs=1e-3)
    assert np.abs(found - claimed).sum() < 0.03  # particles exactly on a shared edge may count twice or not
    assert {c["properties"]["offset_to_m"] - c["properties"]["offset_from_m"] for c in f.cells} == {50.0}


def test_wind_across_the_river_moves_it_by_the_leeway(river: RiverModel) -> None:
    s0, _, (tx, ty) = longest_segment(river, "north")
    lon, lat = river.axis_point("north", (s0 + 100.0) / 1000.0)
    right = (ty, -tx)  # right of downstream, grid (east, north)
    from_deg = (math.degrees(math.atan2(right[0], right[1])) + 180.0) % 360.0  # blowing towards the right bank
    settings = DriftSettings(**CALM)
    until = T0 + timedelta(minutes=10)
    r = predict_drift(
        river, (lon, lat, T0), until, settings, particles=4000, seed=9, position_radius_m=0.0, wind=Wind(5.0, from_deg)
    )
    p = r.final.particles
    shift = float(np.mean(river.locate_xy(p.x, p.y).offset_m))
    assert shift == pytest.approx(0.011 * 5.0 * 600.0, rel=0.05)  # person in water: 1.1 % of the wind


def test_time_uncertainty_spreads_the_release(river: RiverModel) -> None:
    lon, lat = river.axis_point("north", 40.0)
    r = predict_drift(
        river,
        (lon, lat, T0),
        HOUR,
        DriftSettings(**CALM),
        particles=2000,
        seed=10,
        position_radius_m=0.0,
        time_uncertainty_s=600.0,
    )
    p = r.final.particles
    moved = chainage(river, p.x, p.y) - 40_000.0
    # released between 600 s early and 600 s late: 0.8 * (3600 -+ 600) = 2400 .. 3360 m
    assert moved.min() == pytest.approx(2400.0, abs=10.0)
    assert moved.max() == pytest.approx(3360.0, abs=10.0)
    assert moved.mean() == pytest.approx(2880.0, abs=20.0)


def test_same_seed_same_cloud(river: RiverModel) -> None:
    lon, lat = river.axis_point("north", 40.0)
    a = predict_drift(river, (lon, lat, T0), HOUR, DriftSettings(), particles=300, seed=11)
    b = predict_drift(river, (lon, lat, T0), HOUR, DriftSettings(), particles=300, seed=11)
    c = predict_drift(river, (lon, lat, T0), HOUR, DriftSettings(), particles=300, seed=12)
    assert np.array_equal(a.final.particles.x, b.final.particles.x)
    assert not np.array_equal(a.final.particles.x, c.final.particles.x)
    assert a.to_dict() == b.to_dict()


def test_bad_inputs_are_refused_with_a_message(river: RiverModel) -> None:
    lon, lat = river.axis_point("north", 40.0)
    s = DriftSettings()
    with pytest.raises(DriftError, match="timezone-aware"):
        predict_drift(river, (lon, lat, T0.replace(tzinfo=None)), HOUR, s)
    with pytest.raises(DriftError, match="must be after"):
        predict_drift(river, (lon, lat, HOUR), T0, s)
    with pytest.raises(DriftError, match="not near the river border"):
        predict_drift(river, (28.86, 47.01, T0), HOUR, s)  # Chisinau, 30 km from the river
    with pytest.raises(DriftError, match="steps exceed"):
        predict_drift(river, (lon, lat, T0), T0 + timedelta(days=30), s, step_s=30.0)
    with pytest.raises(DriftError, match="no current configured"):
        predict_drift(river, (lon, lat, T0), HOUR, DriftSettings(current_mps={"south": 0.8}))
    with pytest.raises(ValidationError):
        DriftSettings(current_speed=1.0)  # type: ignore[call-arg]


@given(
    section=st.sampled_from(["north", "south"]),
    frac=st.floats(0.0, 1.0),
    eta=st.floats(-1.0, 1.0),
)
def test_river_coordinates_inside_the_half_width_are_on_the_water(section: str, frac: float, eta: float) -> None:
    coords = SectionCoords(RIVER, section)
    n = eta * (coords.half_width_m - 1.0)
    x, y = coords.to_xy(np.array([frac * coords.length_m]), np.array([n]))
    where = RIVER.locate_xy(x, y)
    assert bool(where.on_water[0])
    assert where.axis_distance_m[0] <= abs(n) + 1e-6
    # the side of the axis is kept (|n| > 1 m: points on the axis itself have no side)
    if abs(n) > 1.0:
        assert np.sign(where.offset_m[0]) == np.sign(n)


def test_drift_settings_can_take_the_route_graph_current() -> None:
    s = DriftSettings().with_current_of(RoutingSettings(current_mps={"north": 0.5, "south": 1.1}))
    assert s.current_mps == {"north": 0.5, "south": 1.1}
