"""The tracker's maths on their own: the motion model, the polar measurement model at a real
sensor site against geodesics, the Kalman update, class fusion and sensor-id links."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyproj import Geod

from geo.river import RiverModel
from sar.tracking.identity import HintBook, class_likelihood, class_output, fuse_class
from sar.tracking.kalman import chi2_gate, polar, polar_to_xy, position_sd, predict, update, wrap_pi
from sar.tracking.measure import Geometry
from sensors.model import TargetClass
from tests.tracking_fixtures import SITE

GEOD = Geod(ellps="WGS84")


def test_predicting_in_two_steps_equals_one_step() -> None:
    x = np.array([[100.0, 200.0, 1.5, -2.0]])
    p = np.diag([25.0, 16.0, 1.0, 0.5])[None]
    one = predict(x, p, np.array([7.0]), 0.09)
    two = predict(*predict(x, p, np.array([3.0]), 0.09), np.array([4.0]), 0.09)
    assert np.allclose(one[0], two[0]) and np.allclose(one[1], two[1])
    assert one[0][0, :2] == pytest.approx([110.5, 186.0])
    assert one[1][0, 2, 2] == pytest.approx(1.0 + 0.09 * 7.0)  # velocity variance grows by q dt
    assert one[1][0, 0, 0] == pytest.approx(25.0 + 49.0 * 1.0 + 0.09 * 343.0 / 3.0)


@pytest.mark.parametrize("azimuth_deg", [0.0, 37.0, 90.0, 151.0, 222.0, 333.0])
@pytest.mark.parametrize("distance_m", [300.0, 3000.0, 8000.0])
def test_polar_model_matches_geodesics_from_a_real_site(
    river: RiverModel, azimuth_deg: float, distance_m: float
) -> None:
    """A point at a geodesic azimuth and distance from the Otaci radar, projected to UTM 35N, is
    predicted back at that range and true bearing (convergence there is about -0.6 deg)."""
    sx, sy, conv, scale = Geometry(river.projector).site(*SITE)
    assert math.degrees(conv) == pytest.approx(-0.598, abs=0.005) and scale == pytest.approx(0.99964, abs=1e-5)
    lon, lat, _ = GEOD.fwd(*SITE, azimuth_deg, distance_m)
    x, y = river.projector.to_xy([lon], [lat])
    h, _ = polar(np.array([[x[0], y[0]]]), np.array([[sx, sy]]), np.array([conv]), np.array([scale]))
    assert h[0, 0] == pytest.approx(distance_m, abs=0.1)
    assert math.degrees(wrap_pi(np.array([h[0, 1] - math.radians(azimuth_deg)]))[0]) == pytest.approx(0.0, abs=5e-4)
    back, _ = polar_to_xy(np.array([[sx, sy]]), h[:, 0], h[:, 1], np.array([conv]), np.array([scale]), np.eye(2)[None])
    assert back[0] == pytest.approx([x[0], y[0]], abs=1e-6)


def test_polar_jacobian_matches_finite_differences() -> None:
    pos, site = np.array([[1200.0, -800.0]]), np.array([[100.0, 50.0]])
    conv, scale = np.array([-0.01]), np.array([0.9996])
    _, g = polar(pos, site, conv, scale)
    for i in range(2):
        step = np.zeros((1, 2))
        step[0, i] = 1e-3
        hi, lo = polar(pos + step, site, conv, scale)[0], polar(pos - step, site, conv, scale)[0]
        assert (hi - lo)[0] / 2e-3 == pytest.approx(g[0, :, i], rel=1e-6)


def test_update_is_the_textbook_kalman_update() -> None:
    x = np.array([[0.0, 0.0, 1.0, 0.0]])
    p = np.diag([100.0, 100.0, 4.0, 4.0])[None]
    h = np.array([[[1.0, 0, 0, 0], [0, 1.0, 0, 0]]])
    r = np.diag([100.0, 25.0])[None]
    y = np.array([[10.0, -10.0]])
    x2, p2, d2 = update(x, p, y, h, r)
    assert x2[0] == pytest.approx([5.0, -8.0, 1.0, 0.0])  # gains 100/200 and 100/125
    assert np.diag(p2[0]) == pytest.approx([50.0, 20.0, 4.0, 4.0])
    assert d2[0] == pytest.approx(100.0 / 200.0 + 100.0 / 125.0)
    assert position_sd(p2)[0] == pytest.approx(math.sqrt(50.0))
    assert chi2_gate(0.999, 2) == pytest.approx(13.8155, abs=1e-3)


def test_class_fusion() -> None:
    assert class_likelihood(TargetClass.UNKNOWN, 0.9) is None
    assert class_likelihood(TargetClass.VESSEL, 0.3) is None  # no better than chance among three
    p = np.full(3, 1 / 3)
    for _ in range(20):
        lik = class_likelihood(TargetClass.VESSEL, 0.95)
        assert lik is not None
        p = fuse_class(p, lik, 0.02)
    cls, conf = class_output(p, True, TargetClass.UNKNOWN, 0.5)
    assert cls is TargetClass.VESSEL and conf == pytest.approx(1 / 1.04, abs=1e-4)
    assert class_output(p, False, TargetClass.UNKNOWN, 0.5) == (TargetClass.UNKNOWN, 0.0)
    for _ in range(8):  # the floor lets strong contrary evidence win
        lik = class_likelihood(TargetClass.PERSON, 0.9)
        assert lik is not None
        p = fuse_class(p, lik, 0.02)
    assert class_output(p, True, TargetClass.UNKNOWN, 0.5)[0] is TargetClass.PERSON
    debris = class_likelihood(TargetClass.DEBRIS, 0.9)
    assert debris is not None
    p = fuse_class(fuse_class(np.full(3, 1 / 3), debris, 0.02), debris, 0.02)
    assert class_output(p, True, TargetClass.DEBRIS, 0.5)[0] is TargetClass.DEBRIS


def test_sensor_id_links_expire_and_follow_merges() -> None:
    book = HintBook(timeout_s=30.0)
    assert book.link(("r", "5"), "T0001", 0.0) is None
    assert book.lookup(("r", "5"), 30.0) == "T0001" and book.lookup(("r", "5"), 30.1) is None
    assert book.link(("r", "5"), "T0002", 31.0) == "T0001"
    book.link(("ais", "214180001"), "T0002", 31.0)
    book.move("T0002", "T0003")
    assert book.lookup(("r", "5"), 40.0) == "T0003" and book.lookup(("ais", "214180001"), 40.0) == "T0003"
    book.drop("T0003")
    assert len(book) == 0
    book.link(("r", "6"), "T0004", 0.0)
    book.prune(31.0)
    assert len(book) == 0
