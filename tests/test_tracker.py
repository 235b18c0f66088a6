"""The tracker on boats moving on the real river (Dniester, north section), seen by simulated
sensors whose noise is drawn here: confirmation, accuracy, fusion of AIS and radar into one
track, missed detections and silent sensors, crossing boats, out-of-order input, bearing-only
cameras, clutter, duplicates and identity."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from pydantic import ValidationError

from geo.river import RiverModel
from sar.tracking.config import TrackerSettings
from sar.tracking.model import Track, TrackStatus
from sar.tracking.tracker import Tracker, TrackerUpdate
from sensors.model import SensorKind, TargetClass, VehicleState, VesselStatic
from sensors.vessels import VesselRegistry
from tests.tracking_fixtures import (
    SITE,
    T0,
    Boat,
    at,
    boat_between,
    error_m,
    every,
    polar_obs,
    position_obs,
    run,
    velocity_error_mps,
    xy_of,
)

MMSI = 214180001


@pytest.fixture(scope="module")
def boat(river: RiverModel) -> Boat:
    """~2 m/s across and down the river at north km 30 (1.5-2.5 km from the Otaci radar)."""
    return boat_between(river, ("north", 30.0, 40.0), ("north", 30.6, -40.0), 300.0)


def shown(updates: list[TrackerUpdate], track_id: str) -> list[Track]:
    return [t for u in updates for t in u.updated if t.id == track_id]


def test_settings_are_strict_and_frozen() -> None:
    s = TrackerSettings()
    with pytest.raises(ValidationError):
        TrackerSettings(gate_probabilty=0.99)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        TrackerSettings(confirm_m=4, confirm_n=3)
    with pytest.raises(ValidationError):
        s.lag_s = 5.0
    assert (s.confirm_m, s.confirm_n, s.accel_sd_mps2, s.lag_s) == (3, 5, 0.3, 0.05)


def test_a_noisy_position_sensor_gives_a_confirmed_accurate_track(river: RiverModel, boat: Boat) -> None:
    rng = np.random.default_rng(1)
    obs = [position_obs(river.projector, boat, t, rng, accuracy_m=10.0) for t in every(2.0, 300.0)]
    tracker = Tracker(TrackerSettings(), river.projector)
    updates = run(tracker, obs, 300.0)
    (track,) = tracker.tracks()
    first = shown(updates, track.id)
    assert first[0].status is TrackStatus.CONFIRMED and first[0].time == at(4.0)  # 3 of 3 hits: at the third
    late = [t for t in first if t.time >= at(60.0)]
    pos = np.array([error_m(t, boat) for t in late])
    vel = np.array([velocity_error_mps(t, boat) for t in late])
    assert math.sqrt((pos**2).mean()) < 0.5 * 10.0  # well below the 10 m measurement sd
    assert math.sqrt((vel**2).mean()) < 0.3 and np.median(vel) < 0.2
    assert {t.id for u in updates for t in u.updated} == {track.id}  # a rare outlier may start a tentative one
    assert tracker.counters["processed"] == len(obs) and tracker.counters["associated"] >= len(obs) - 2
    assert all(t.target_class is TargetClass.UNKNOWN and t.class_confidence == 0.0 for t in late)


def test_snapshots_carry_time_geometry_and_a_short_history(river: RiverModel, boat: Boat) -> None:
    rng = np.random.default_rng(2)
    obs = [position_obs(river.projector, boat, t, rng) for t in every(2.0, 300.0)]
    tracker = Tracker(TrackerSettings(), river.projector)
    run(tracker, obs, 300.0)
    (t,) = tracker.tracks()
    assert t.time == at(298.0) and t.created == at(0.0)
    lon, lat = river.projector.to_lonlat(t.x_m, t.y_m)
    assert (t.lon, t.lat) == pytest.approx((float(lon), float(lat)), abs=1e-9)
    assert len(t.history) == 20 and t.history[-1][0] == at(298.0)
    gaps = [(b[0] - a[0]).total_seconds() for a, b in zip(t.history, t.history[1:], strict=False)]
    assert min(gaps) >= 5.0 and max(gaps) <= 6.0
    assert 0.5 < t.position_sd_m < 10.0 and t.speed_mps == pytest.approx(math.hypot(*boat.v_mps), abs=0.3)


def test_ais_and_radar_of_one_boat_become_one_track_with_both_sources(river: RiverModel, boat: Boat) -> None:
    rng = np.random.default_rng(3)
    proj = river.projector
    ais = [
        position_obs(proj, boat, t, rng, "md-ais", SensorKind.AIS, 10.0, str(MMSI), True, TargetClass.VESSEL, 0.95)
        for t in every(6.0, 300.0, 1.0)
    ]
    radar = [polar_obs(proj, boat, t, rng, "md-radar-otaci", target_id="md-radar-otaci:7") for t in every(2.5, 300.0)]
    vessels = VesselRegistry()
    vessels.update(VesselStatic("md-ais", T0, MMSI, name="NISTRU TUR"))
    tracker = Tracker(TrackerSettings(), proj, vessels)
    run(tracker, [*ais, *radar], 300.0)
    (track,) = tracker.tracks(include_tentative=True)
    assert track.mmsi == MMSI and track.name == "NISTRU TUR"
    assert track.target_class is TargetClass.VESSEL and track.class_confidence > 0.95  # floor 0.02 per other class
    src = {s.sensor_id: s for s in track.sources}
    assert set(src) == {"md-ais", "md-radar-otaci"}
    assert (src["md-ais"].kind, src["md-ais"].target_id, src["md-ais"].updates) == (SensorKind.AIS, str(MMSI), 50)
    assert src["md-radar-otaci"].target_id == "md-radar-otaci:7" and src["md-radar-otaci"].updates == 120
    assert track.cooperative(at(300.0)) and error_m(track, boat) < 6.0


def test_a_track_survives_misses_and_a_silent_sensor_then_coasts_and_is_deleted(river: RiverModel, boat: Boat) -> None:
    """Radar (range/bearing) and a TLL-like position radar, each missing 40 %; the first is silent
    from 100 to 130 s; both stop at 200 s."""
    rng = np.random.default_rng(4)
    proj = river.projector
    radar = [
        polar_obs(proj, boat, t, rng, "radar-a")
        for t in every(2.5, 200.0)
        if rng.random() > 0.4 and not 100.0 <= t < 130.0
    ]
    tll = [
        position_obs(proj, boat, t, rng, "radar-b", accuracy_m=25.0) for t in every(3.0, 200.0) if rng.random() > 0.4
    ]
    tracker = Tracker(TrackerSettings(lag_s=2.0), proj)
    updates = run(tracker, [*radar, *tll], 300.0)
    ids = {t.id for u in updates for t in u.updated}
    assert len(ids) == 1 and tracker.counters["initiated"] == 1
    (tid,) = ids
    last = max(o.time for o in [*radar, *tll])
    lag = timedelta(seconds=2.0)
    seen = sorted(o.time for o in [*radar, *tll])
    for u in updates:  # coasting exactly when nothing came for more than 10 s
        for t in u.updated:
            quiet = u.time - lag - max(s for s in seen if s <= u.time - lag)
            assert (t.status is TrackStatus.COASTING) == (quiet > timedelta(seconds=10)), (u.time, t.status)
            assert error_m(t, boat) < 40.0
    deleted_at = next(u.time for u in updates if tid in u.deleted)
    assert deleted_at - lag - last == timedelta(seconds=61)  # the first tick more than 60 s after
    assert tracker.tracks(include_tentative=True) == [] and tracker.counters["deleted"] == 1


def test_a_coasting_track_is_deleted_when_its_position_sd_grows_too_large(river: RiverModel, boat: Boat) -> None:
    rng = np.random.default_rng(5)
    obs = [position_obs(river.projector, boat, t, rng) for t in every(2.0, 100.0)]
    s = TrackerSettings(max_position_sd_m=40.0, delete_confirmed_s=1000.0)
    tracker = Tracker(s, river.projector)
    updates = run(tracker, obs, 300.0)
    (tid,) = {t.id for u in updates for t in u.updated}
    gone = next(u for u in updates if tid in u.deleted)
    coasting = [t for t in shown(updates, tid) if t.status is TrackStatus.COASTING]
    sds = [t.position_sd_m for t in coasting]
    assert sds == sorted(sds) and sds[-1] <= 40.0 < sds[-1] * 1.2
    assert 30.0 < (gone.time - at(98.0)).total_seconds() < 120.0


def test_two_boats_passing_30_m_apart_keep_their_identities(river: RiverModel) -> None:
    """Head-on on parallel lanes 30 m apart at 3 m/s each; plain detections (no sensor ids)."""
    a = boat_between(river, ("north", 50.0, 15.0), ("north", 50.9, 15.0), 300.0)
    b = boat_between(river, ("north", 50.9, -15.0), ("north", 50.0, -15.0), 300.0)
    rng = np.random.default_rng(6)
    obs = [position_obs(river.projector, x, t, rng, accuracy_m=10.0) for t in every(2.0, 300.0) for x in (a, b)]
    tracker = Tracker(TrackerSettings(), river.projector)
    updates = run(tracker, obs, 300.0)
    tracks = {t.id for u in updates for t in u.updated}
    assert len(tracks) == 2 and tracker.counters["initiated"] == 2
    ta, tb = sorted(tracks)
    worst = max(max(error_m(t, a) for t in shown(updates, ta)), max(error_m(t, b) for t in shown(updates, tb)))
    assert worst < 15.0  # each track stays on its own boat, before, while and after they pass


def test_out_of_order_input_within_the_lag_gives_the_same_tracks_and_late_input_is_counted(
    river: RiverModel, boat: Boat
) -> None:
    rng = np.random.default_rng(7)
    proj = river.projector
    obs = [polar_obs(proj, boat, t, rng, target_id="radar-1:3") for t in every(2.5, 120.0)]
    obs += [position_obs(proj, boat, t, rng, "tll") for t in every(3.0, 120.0, 0.7)]
    delays = rng.uniform(0.0, 1.9, len(obs))

    def feed(delayed: bool) -> tuple[Tracker, list[list[Track]]]:
        tracker = Tracker(TrackerSettings(lag_s=2.0, late_tolerance_s=0.0), proj)
        arrivals = sorted(zip(delays if delayed else np.zeros(len(obs)), range(len(obs)), strict=True),
                          key=lambda d: (obs[d[1]].time + timedelta(seconds=d[0]), d[1]))  # fmt: skip
        out, i = [], 0
        for tick in np.arange(0.1, 125.0, 0.1):
            while i < len(arrivals) and obs[arrivals[i][1]].time + timedelta(seconds=arrivals[i][0]) <= at(tick):
                tracker.add(obs[arrivals[i][1]])
                i += 1
            out.append(tracker.advance(at(float(tick))).updated)
        return tracker, out

    (ordered, a), (shuffled, b) = feed(False), feed(True)
    assert any(d > 0 for d in np.diff([o.time.timestamp() for o in obs]))  # the input is really out of order
    assert a == b and ordered.tracks() == shuffled.tracks() and len(ordered.tracks()) == 1
    assert shuffled.counters["too_late"] == 0
    late = [polar_obs(proj, boat, t, rng) for t in (100.0, 110.0, 120.5)]
    for o in late:
        shuffled.add(o)
    assert shuffled.counters["too_late"] == 3 and shuffled.counters["buffered"] == 0


def test_a_slightly_late_observation_is_used_at_the_processed_time_and_a_later_one_dropped(
    river: RiverModel, boat: Boat
) -> None:
    """A sensor whose clock runs a little behind: within late_tolerance_s its report still counts."""
    rng = np.random.default_rng(9)
    proj = river.projector
    tracker = Tracker(TrackerSettings(lag_s=0.1, late_tolerance_s=1.0), proj)
    run(tracker, [position_obs(proj, boat, t, rng, "tll") for t in every(1.0, 60.0)], 60.0, tick_s=0.1)
    (before,) = tracker.tracks()
    done = at(60.1 - 0.1)  # the last tick was at 60.1 s (lag 0.1 s)
    tracker.add(position_obs(proj, boat, 59.5, rng, "late-cam"))  # 0.5 s behind the processed time
    tracker.add(position_obs(proj, boat, 58.5, rng, "later-cam"))  # 1.5 s behind: beyond the tolerance
    assert (tracker.counters["late_retimed"], tracker.counters["too_late"]) == (1, 1)
    tracker.advance(at(60.2))
    (after,) = tracker.tracks()
    late = {s.sensor_id: s for s in after.sources}["late-cam"]
    assert after.id == before.id and late.updates == 1
    assert abs((late.last_seen - done).total_seconds()) < 1e-3  # taken as seen just after 60.0 s
    assert "later-cam" not in {s.sensor_id for s in after.sources}


def test_camera_bearings_refine_a_track_but_never_start_one(river: RiverModel, boat: Boat) -> None:
    """A coarse position sensor (40 m) plus a camera at the radar site (bearing only, 0.2 deg)."""
    proj = river.projector
    rng = np.random.default_rng(8)
    cam = [polar_obs(proj, boat, t, rng, "cam", SensorKind.CAMERA, range_sd_m=None, bearing_sd_deg=0.2,
                     target_id="cam:1", cls=TargetClass.VESSEL, confidence=0.8)
           for t in every(2.0, 300.0, 1.0)]  # fmt: skip
    alone = Tracker(TrackerSettings(), proj)
    run(alone, cam, 300.0)
    assert alone.tracks(include_tentative=True) == [] and alone.counters["unassociated"] == len(cam)

    sx, sy = (float(v) for v in proj.to_xy(*SITE))

    def across(t: Track) -> float:
        """Error across the camera's line of sight."""
        x, y = boat.xy((t.time - T0).total_seconds())
        ux, uy = (x - sx) / math.hypot(x - sx, y - sy), (y - sy) / math.hypot(x - sx, y - sy)
        return abs((t.x_m - x) * uy - (t.y_m - y) * ux)

    def errors(with_camera: bool) -> tuple[float, float, Track]:
        rng = np.random.default_rng(9)
        coarse = [position_obs(proj, boat, t, rng, "drone", SensorKind.DRONE, 40.0) for t in every(2.0, 300.0)]
        tracker = Tracker(TrackerSettings(), proj)
        updates = run(tracker, [*coarse, *(cam if with_camera else [])], 300.0)
        (tid,) = {t.id for u in updates for t in u.updated}
        late = [t for t in shown(updates, tid) if t.time >= at(60.0)]
        rms = [math.sqrt(float(np.mean(np.square([f(t) for t in late])))) for f in (lambda t: error_m(t, boat), across)]
        return rms[0], rms[1], tracker.tracks()[0]

    (plain, plain_across, t_plain), (fused, fused_across, t_fused) = errors(False), errors(True)
    assert {s.sensor_id for s in t_fused.sources} == {"drone", "cam"}
    assert fused_across < 0.4 * plain_across and fused < 0.8 * plain  # measured: 2.5 m vs 7.9 m across
    assert t_fused.position_sd_m < t_plain.position_sd_m and t_fused.target_class is TargetClass.VESSEL


def test_clutter_on_the_water_makes_no_confirmed_track(river: RiverModel) -> None:
    """A false detection per 2.5 s scan anywhere on north km 20-37 (about 0.4 per km2 and scan,
    seven times the simulator's radars), for ten minutes."""
    rng = np.random.default_rng(10)
    fake = [Boat(xy_of(river, "north", float(rng.uniform(20, 37)), float(rng.uniform(-70, 70))), (0.0, 0.0))
            for _ in range(240)]  # fmt: skip
    times = every(2.5, 600.0)
    obs = [position_obs(river.projector, b, t, rng, accuracy_m=20.0) for b, t in zip(fake, times, strict=True)]
    tracker = Tracker(TrackerSettings(), river.projector)
    updates = run(tracker, obs, 600.0)
    assert all(u.updated == [] for u in updates) and tracker.counters["confirmed"] == 0
    assert tracker.counters["initiated"] > 200
    eager = Tracker(TrackerSettings(confirm_m=1, confirm_n=1), river.projector)
    run(eager, obs, 600.0)
    assert eager.counters["confirmed"] > 100  # what M of N saves (measured: 124)


def test_tracks_of_one_boat_started_apart_merge_into_the_older_one(river: RiverModel, boat: Boat) -> None:
    """Sensor B starts 120 m off (a bias that fades over a minute): it starts its own track, which
    then comes onto the same boat; the two merge, keeping the older id and both sources."""
    rng = np.random.default_rng(11)
    proj = river.projector
    a = [position_obs(proj, boat, t, rng, "a", target_id="a:1") for t in every(2.0, 200.0)]

    def biased(t: float) -> Boat:
        return Boat((boat.xy0[0] + 120.0 * max(0.0, 1.0 - (t - 20.0) / 60.0), boat.xy0[1]), boat.v_mps)

    b = [position_obs(proj, biased(t), t, rng, "b", target_id="b:1") for t in every(3.0, 200.0, 20.0)]
    tracker = Tracker(TrackerSettings(), proj)
    updates = run(tracker, [*a, *b], 200.0)
    ids = sorted({t.id for u in updates for t in u.updated})
    (track,) = tracker.tracks()
    assert ids == ["T0001", "T0002"] and track.id == "T0001" and tracker.counters["merged"] == 1
    assert "T0002" in [d for u in updates for d in u.deleted]
    assert {s.sensor_id for s in track.sources} == {"a", "b"}


def test_two_mmsis_never_share_a_track_and_names_follow_the_mmsi(river: RiverModel) -> None:
    """Two AIS vessels pass 30 m apart: each keeps its own MMSI."""
    a = boat_between(river, ("north", 60.0, 15.0), ("north", 60.9, 15.0), 300.0)
    b = boat_between(river, ("north", 60.9, -15.0), ("north", 60.0, -15.0), 300.0)
    rng = np.random.default_rng(12)
    obs = [position_obs(river.projector, x, t, rng, "ais", SensorKind.AIS, 10.0, str(m), True, TargetClass.VESSEL, 0.95)
           for t in every(6.0, 300.0) for x, m in ((a, 211000001), (b, 211000002))]  # fmt: skip
    tracker = Tracker(TrackerSettings(), river.projector)
    updates = run(tracker, obs, 300.0)
    by_mmsi: dict[int | None, set[str]] = {}
    for t in (t for u in updates for t in u.updated):
        by_mmsi.setdefault(t.mmsi, set()).add(t.id)
    assert by_mmsi == {211000001: {"T0001"}, 211000002: {"T0002"}}
    assert all(error_m(t, a if t.mmsi == 211000001 else b) < 15.0 for u in updates for t in u.updated)


def test_person_from_a_camera_and_unknown_radar_is_a_person(river: RiverModel) -> None:
    drift = boat_between(river, ("north", 29.5, 20.0), ("north", 29.7, 20.0), 300.0)
    rng = np.random.default_rng(13)
    proj = river.projector
    radar = [polar_obs(proj, drift, t, rng, target_id="r:2") for t in every(2.5, 300.0) if rng.random() < 0.3]
    cam = [polar_obs(proj, drift, t, rng, "cam", SensorKind.CAMERA, range_sd_m=10.0, bearing_sd_deg=0.3,
                     target_id="cam:1", cls=TargetClass.PERSON, confidence=0.7)
           for t in every(2.0, 300.0)]  # fmt: skip
    tracker = Tracker(TrackerSettings(), proj)
    run(tracker, [*radar, *cam], 300.0)
    (t,) = tracker.tracks()
    assert t.target_class is TargetClass.PERSON and t.class_confidence > 0.95
    assert {s.sensor_id for s in t.sources} == {"radar-1", "cam"}


def test_vessel_static_data_and_our_drones_are_not_targets(river: RiverModel) -> None:
    tracker = Tracker(TrackerSettings(), river.projector)
    tracker.add(VesselStatic("ais", T0, MMSI, name="X"))
    tracker.add(VehicleState("drones", T0, 11, "quadrotor"))
    u = tracker.advance(at(10.0))
    assert (u.updated, u.deleted, tracker.counters["ignored"], tracker.counters["received"]) == ([], [], 2, 0)
