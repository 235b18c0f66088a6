"""The river model on the real geodata: sections, sides, river km, water, border crossings."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import InvalidCoordinate, OutOfArea
from geo.river import RiverModel


def _offset_point(river: RiverModel, section: str, km: float, offset_m: float) -> tuple[float, float]:
    """The lon/lat offset_m to the right (looking downstream) of the axis point at km."""
    return river.axis_point(section, km, offset_m)


def test_section_lengths_match_provenance(river: RiverModel) -> None:
    assert river.section("north").length_m == pytest.approx(143_900, abs=1_000)
    assert river.section("south").length_m == pytest.approx(63_800, abs=1_000)
    assert sum(s.length_m for s in river.sections) == pytest.approx(207_700, abs=1_000)


def test_banks_are_moldova_right_ukraine_left(river: RiverModel) -> None:
    for s in river.sections:
        assert (s.right_bank, s.left_bank) == ("MD", "UA")


@pytest.mark.parametrize(
    ("name", "side"),
    [("Otaci", "MD"), ("Soroca", "MD"), ("Naslavcea", "MD"), ("Mohyliv-Podilskyy", "UA"), ("Yampil", "UA")],
)
def test_towns_are_on_their_side(river: RiverModel, places: dict[str, Any], name: str, side: str) -> None:
    p = places[name]
    loc = river.locate(p["lon"], p["lat"])
    assert loc.side == side
    assert loc.section == "north"
    assert not loc.on_water


def test_every_riverside_place_agrees_with_its_recorded_bank(river: RiverModel, places: dict[str, Any]) -> None:
    checked = 0
    for p in places.values():
        if not p.get("bank"):
            continue
        loc = river.locate(p["lon"], p["lat"])
        if loc.section is None:  # beyond the corridor (e.g. Voloshkove, above the section start)
            continue
        assert (loc.bank, loc.side) == (p["bank"], p["country"]), p["name"]
        checked += 1
    assert checked == 43


def test_river_km_increases_downstream(river: RiverModel, places: dict[str, Any]) -> None:
    order = ["Naslavcea", "Mohyliv-Podilskyy", "Otaci", "Unguri", "Yampil", "Soroca", "Vasilcau"]
    kms = [river.locate(places[n]["lon"], places[n]["lat"]).river_km for n in order]
    assert kms == sorted(kms)
    assert kms[2] == pytest.approx(28.58, abs=0.05)  # Otaci
    south = [river.locate(places[n]["lon"], places[n]["lat"]).river_km for n in ("Purcari", "Tudora", "Palanca")]
    assert south == sorted(south)


def test_point_one_km_inland_is_not_on_water(river: RiverModel) -> None:
    lon, lat = _offset_point(river, "north", 50.0, 1000.0)
    loc = river.locate(lon, lat)
    assert loc.section == "north"
    assert not loc.on_water
    assert loc.offset_m == pytest.approx(1000.0, abs=2.0)
    assert loc.side == "MD"
    assert loc.border_distance_m == pytest.approx(1000.0, abs=2.0)


def test_points_inside_the_half_width_are_on_water(river: RiverModel) -> None:
    for offset, side in ((60.0, "MD"), (-60.0, "UA")):
        loc = river.locate(*_offset_point(river, "south", 30.0, offset))
        assert loc.on_water
        assert loc.side == side
        assert loc.river_km == pytest.approx(30.0, abs=0.01)


def test_half_width_is_configurable() -> None:
    from geo.config import GeoSettings

    wide = RiverModel(GeoSettings(water_half_width_m=250.0))
    assert wide.locate(*_offset_point(wide, "north", 50.0, 200.0)).on_water


def test_far_points_have_no_section(river: RiverModel) -> None:
    loc = river.locate(28.83, 47.02)  # Chisinau
    assert loc.section is None and loc.river_km is None and not loc.on_water
    assert loc.side == "MD"
    assert loc.border_distance_m > 40_000


def test_move_across_the_axis_is_a_crossing(river: RiverModel) -> None:
    a = _offset_point(river, "north", 60.0, 50.0)
    b = _offset_point(river, "north", 60.1, -50.0)
    crossing = river.crossed_border(a, b)
    assert crossing is not None
    assert (crossing.from_side, crossing.to_side) == ("MD", "UA")
    assert crossing.section == "north"
    assert crossing.river_km == pytest.approx(60.05, abs=0.05)
    back = river.crossed_border(b, a)
    assert back is not None and (back.from_side, back.to_side) == ("UA", "MD")


def test_move_along_one_bank_is_not_a_crossing(river: RiverModel) -> None:
    a = _offset_point(river, "north", 60.0, 50.0)
    b = _offset_point(river, "north", 60.2, 50.0)
    assert river.crossed_border(a, b) is None


def test_crossings_vectorised_agree_with_single(river: RiverModel) -> None:
    rng = np.random.default_rng(7)
    pairs = []
    for _ in range(40):
        km = float(rng.uniform(1, 140))
        pairs.append(
            (
                _offset_point(river, "north", km, float(rng.uniform(-90, 90))),
                _offset_point(river, "north", km + 0.05, float(rng.uniform(-90, 90))),
            )
        )
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    many = river.crossed_border_many(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    single = [river.crossed_border(p, q) is not None for p, q in pairs]
    assert many.tolist() == single
    assert 5 < sum(single) < 35


@pytest.mark.parametrize(("lon", "lat"), [(27.8, 95.0), (float("nan"), 48.0), (27.8, float("inf")), (200.0, 48.0)])
def test_invalid_coordinates_are_refused(river: RiverModel, lon: float, lat: float) -> None:
    with pytest.raises(InvalidCoordinate):
        river.locate(lon, lat)


def test_out_of_area_is_refused(river: RiverModel) -> None:
    with pytest.raises(OutOfArea, match="outside the covered area"):
        river.locate(2.35, 48.85)  # Paris


def test_vectorised_locate_matches_single(river: RiverModel, places: dict[str, Any]) -> None:
    lon = np.array([p["lon"] for p in places.values()])
    lat = np.array([p["lat"] for p in places.values()])
    many = river.locate_many(lon, lat)
    for i, (x, y) in enumerate(zip(lon, lat)):
        one = river.locate(float(x), float(y))
        assert str(many.side[i]) == (one.side or "")
        assert bool(many.on_water[i]) == one.on_water
        if one.river_km is not None:
            assert many.chainage_m[i] / 1000 == pytest.approx(one.river_km, abs=1e-3)


_in_area = st.tuples(st.floats(26.6, 30.4), st.floats(46.0, 48.6))


@given(_in_area)
@settings(max_examples=200, deadline=None)
def test_projection_round_trip(river: RiverModel, lonlat: tuple[float, float]) -> None:
    x, y = river.projector.to_xy([lonlat[0]], [lonlat[1]])
    lon, lat = river.projector.to_lonlat(x, y)
    assert lon[0] == pytest.approx(lonlat[0], abs=1e-9)
    assert lat[0] == pytest.approx(lonlat[1], abs=1e-9)


@given(st.sampled_from(["north", "south"]), st.floats(0.0, 1.0))
@settings(max_examples=200, deadline=None)
def test_snapping_onto_the_axis_gives_zero_offset(river: RiverModel, section: str, frac: float) -> None:
    km = frac * river.section(section).length_m / 1000
    lon, lat = river.axis_point(section, km)
    loc = river.locate(lon, lat)
    assert loc.section == section
    assert loc.on_water
    assert abs(loc.offset_m or 0.0) < 0.05
    assert loc.river_km == pytest.approx(km, abs=0.001)


# Away from the section ends: near an end a meander can bring a point 400 m off the axis closer
# to the end vertex than to its own km, and past the end a point belongs to no section.
@given(st.sampled_from(["north", "south"]), st.floats(0.06, 0.94), st.floats(-400.0, 400.0))
@settings(max_examples=200, deadline=None)
def test_water_and_side_are_consistent(river: RiverModel, section: str, frac: float, offset: float) -> None:
    km = frac * river.section(section).length_m / 1000
    loc = river.locate(*_offset_point(river, section, km, offset))
    assert loc.offset_m is not None
    edge = river.settings.water_half_width_m
    if abs(abs(loc.offset_m) - edge) > 0.01:  # offset_m is rounded to cm
        assert loc.on_water == (abs(loc.offset_m) <= edge)
    assert abs(loc.offset_m) <= abs(offset) + 0.01  # the nearest axis point is never farther
    if loc.on_water and abs(loc.offset_m) > 0.05:
        assert loc.side == ("MD" if loc.offset_m > 0 else "UA")
