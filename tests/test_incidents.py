"""Border crossings on the real river: raised once per real crossing at the right river km,
never for noise along the border, not for cooperative ferries (by default)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.river import RiverModel
from sar.incidents.book import IncidentBook
from sar.incidents.config import CrossingSettings, IncidentSettings
from sar.incidents.crossing import BorderCrossingRule
from sar.incidents.model import Impact, IncidentStatus, IncidentType, TimelineEvent
from sar.tracking.model import SourceInfo, Track, TrackStatus
from sensors.model import TargetClass
from tests.incident_tracks import MD_UA, Waypoint, ais, at, distance_m, move, of_type, radar, run

KM = 100.0  # north section, a straight-ish reach downstream of Soroca


def crossing_ua_to_md(river: RiverModel, **kw: Any) -> list[Track]:
    """-150 m (UA) to +150 m (MD) at 2 m/s, on the axis at km 100.000 after 75 s; then 7.5 min on MD."""
    return move(
        river, "T1", [Waypoint(0, KM - 0.1, -150), Waypoint(150, KM + 0.1, 150), Waypoint(600, KM + 0.1, 150)], **kw
    )


def test_true_crossing_ua_to_md_is_raised_once_at_the_crossing_point(river: RiverModel) -> None:
    book = IncidentBook.with_default_rules(river)
    handed = run(book, crossing_ua_to_md(river))
    [inc] = of_type(book, IncidentType.BORDER_CROSSING)
    assert [i.id for i in handed] == [inc.id]  # reported by exactly one evaluation
    assert inc.river_km == pytest.approx(KM, abs=0.05)
    assert distance_m(river, (inc.lon, inc.lat), river.axis_point("north", KM)) < 5.0
    assert (inc.section, inc.side, inc.agencies_to_notify) == ("north", "MD", MD_UA)
    assert (inc.impact, inc.sar_phase, inc.track_ids, inc.status) == (Impact.HIGH, None, ("T1",), IncidentStatus.OPEN)
    assert "UA\u2192MD" in inc.title and inc.source == "border_crossing"
    # +25 m (established depth) is reached at t=87.5 s; 20 s of dwell make it 108 s
    assert 107 <= (inc.opened_at - at(0)).total_seconds() <= 110
    assert [e.event for e in inc.timeline] == [TimelineEvent.DETECTED]


def test_crossing_back_later_is_a_second_incident(river: RiverModel) -> None:
    back = move(
        river, "T1", [Waypoint(601, KM + 0.1, 150), Waypoint(751, KM + 1.0, -150), Waypoint(900, KM + 1.0, -150)]
    )
    book = IncidentBook.with_default_rules(river)
    run(book, crossing_ua_to_md(river), back)
    first, second = sorted(of_type(book, IncidentType.BORDER_CROSSING), key=lambda i: i.id)
    assert (first.id, second.id) == ("I0001", "I0002")
    assert first.side == "MD" and second.side == "UA" and "MD\u2192UA" in second.title
    assert second.river_km == pytest.approx(KM + 0.55, abs=0.05)  # on the axis halfway along the diagonal
    assert first.status is second.status is IncidentStatus.OPEN


NOISE_CASES = [(0.0, 0.0, 0), (20.0, 20.0, 0), (-20.0, -20.0, 0), (-60.0, 60.0, 1)]


@pytest.mark.parametrize(("start_m", "end_m", "expected"), NOISE_CASES, ids=["around-0", "+20", "-20", "control"])
def test_noisy_run_along_the_border_is_never_a_crossing(
    river: RiverModel, start_m: float, end_m: float, expected: int
) -> None:
    """30 min downstream at 2 m/s, offset noise sd 15 m; the control switches sides midway."""
    noise = np.random.default_rng(7).normal(0.0, 15.0, 1000)
    centre = [
        Waypoint(0, 40.0, start_m),
        Waypoint(899, 41.8, start_m),
        Waypoint(901, 41.8, end_m),
        Waypoint(1800, 43.6, end_m),
    ]
    track = move(river, "N1", centre, step_s=2.0, offset_noise_m=noise, position_sd_m=12.0)
    offsets = np.array([river.locate(t.lon, t.lat).offset_m for t in track])
    assert (offsets > 25).sum() + (offsets < -25).sum() >= 0.04 * len(offsets)  # the noise does reach past 25 m
    book = IncidentBook.with_default_rules(river)
    run(book, track)
    assert len(of_type(book, IncidentType.BORDER_CROSSING)) == expected


@pytest.mark.parametrize(
    ("with_ais", "policy", "expected"),
    [(True, "ignore", None), (True, "low", Impact.LOW), (False, "ignore", Impact.HIGH)],
    ids=["ferry-ignored", "ferry-low", "same-path-no-ais"],
)
def test_cooperative_ferry_crossing(
    river: RiverModel, places: dict[str, Any], with_ais: bool, policy: str, expected: Impact | None
) -> None:
    ferry = places["Soroca - Tsekynivka (ferry)"]
    km = river.locate(ferry["lon"], ferry["lat"]).river_km
    assert km is not None

    def sources(t: Any) -> tuple[SourceInfo, ...]:
        return (radar(t), ais(t, 214180000)) if with_ais else (radar(t),)

    path = [Waypoint(0, km, 130), Waypoint(200, km, -130), Waypoint(400, km, -130)]
    track = move(river, "F1", path, sources=sources, mmsi=214180000 if with_ais else None, name="PLUTONIA")
    cfg = IncidentSettings(crossing=CrossingSettings(cooperative=policy))  # type: ignore[arg-type]
    book = IncidentBook.with_default_rules(river, cfg)
    run(book, track)
    crossings = of_type(book, IncidentType.BORDER_CROSSING)
    if expected is None:
        assert book.list() == []
        return
    [inc] = crossings
    assert inc.impact is expected and inc.agencies_to_notify == MD_UA and inc.side == "UA"
    assert inc.river_km == pytest.approx(km, abs=0.05)


@pytest.mark.parametrize("status", [TrackStatus.TENTATIVE, TrackStatus.COASTING])
def test_unconfirmed_tracks_raise_no_crossing(river: RiverModel, status: TrackStatus) -> None:
    book = IncidentBook.with_default_rules(river)
    run(book, crossing_ua_to_md(river, status=status))
    assert book.list() == []


def test_crossing_seen_only_through_track_history(river: RiverModel) -> None:
    """The tracker hands a snapshot once a minute; the rule walks its history in between."""
    snaps = crossing_ua_to_md(river)
    rule = BorderCrossingRule(river)
    findings = []
    for end in range(60, len(snaps), 60):
        chunk = snaps[end - 60 : end + 1]
        last = chunk[-1]
        history = tuple((t.time, t.lon, t.lat) for t in chunk)
        findings += rule.evaluate(last.time, [Track(**{**last.__dict__, "history": history})])
    [f] = findings
    assert river.locate(f.lon, f.lat).river_km == pytest.approx(KM, abs=0.05)
    assert (f.key, f.side, f.sides, f.ended) == ("crossing:T1:1", "MD", MD_UA, False)


def test_deleted_track_forgets_its_side(river: RiverModel) -> None:
    """A track id that is deleted and reused starts afresh (no crossing from the old side)."""
    snaps = crossing_ua_to_md(river)
    rule = BorderCrossingRule(river)
    for t in snaps[:60]:  # established on UA
        rule.evaluate(t.time, [t])
    rule.evaluate(snaps[60].time, [Track(**{**snaps[60].__dict__, "status": TrackStatus.DELETED})])
    assert [f for t in snaps[61:] for f in rule.evaluate(t.time, [t])] == []


@settings(max_examples=40, deadline=None)
@given(
    section_km=st.sampled_from([("north", 5.0, 135.0), ("south", 5.0, 55.0)]).flatmap(
        lambda s: st.tuples(st.just(s[0]), st.floats(s[1], s[2]))
    ),
    centre_m=st.floats(-20.0, 20.0),
    noise_sd_m=st.floats(0.0, 15.0),
    wander_m=st.floats(0.0, 5.0),
    speed_mps=st.floats(-5.0, 5.0),
    step_s=st.sampled_from([1.0, 2.0, 3.0]),
    position_sd_m=st.floats(1.0, 15.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_noisy_tracks_along_the_border_never_cross(
    river: RiverModel,
    section_km: tuple[str, float],
    centre_m: float,
    noise_sd_m: float,
    wander_m: float,
    speed_mps: float,
    step_s: float,
    position_sd_m: float,
    seed: int,
) -> None:
    """10 min along the border around an offset within +/-20 m (sd <= 15 m, slow wander <= 5 m),
    fed as one-minute history chunks: never a crossing."""
    section, km0 = section_km
    times = np.arange(0.0, 600.0, step_s)
    rng = np.random.default_rng(seed)
    offsets = centre_m + wander_m * np.sin(times / 97.0) + rng.normal(0.0, noise_sd_m, len(times))
    kms = km0 + speed_mps * times / 1000.0
    pts = [river.axis_point(section, float(k), float(o)) for k, o in zip(kms, offsets)]
    x, y = river.projector.to_xy([p[0] for p in pts], [p[1] for p in pts])
    rule = BorderCrossingRule(river)
    for end in range(0, len(times), max(1, int(60 / step_s))):
        start = max(0, end - int(60 / step_s))
        now = at(float(times[end]))
        history = tuple((at(float(times[i])), pts[i][0], pts[i][1]) for i in range(start, end + 1))
        track = Track(
            id="P1",
            status=TrackStatus.CONFIRMED,
            time=now,
            x_m=float(x[end]),
            y_m=float(y[end]),
            vx_mps=0.0,
            vy_mps=0.0,
            lon=pts[end][0],
            lat=pts[end][1],
            position_sd_m=position_sd_m,
            target_class=TargetClass.VESSEL,
            class_confidence=0.9,
            sources=(radar(now),),
            history=history,
        )
        assert rule.evaluate(now, [track]) == []
