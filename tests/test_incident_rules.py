"""Person in water, rendezvous, loitering and dark target on the real river, through the book."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pytest

from geo.river import RiverModel
from sar.incidents.book import IncidentBook
from sar.incidents.model import Impact, IncidentStatus, IncidentType, SarPhase, TimelineEvent
from sar.tracking.model import SourceInfo, Track
from sensors.model import TargetClass
from tests.incident_tracks import MD_UA, Waypoint, ais, at, camera, move, of_type, radar, radar_only, run


def camera_only(t: datetime) -> tuple[SourceInfo, ...]:
    return (camera(t),)


def person(
    river: RiverModel, km: float = 120.0, offset_m: float = 30.0, drift_s: float = 1250.0, **kw: Any
) -> list[Track]:
    """A person drifting 1 km downstream (0.8 m/s) 30 m off the axis on the MD side."""
    args: dict[str, Any] = {"sources": camera_only, "target_class": TargetClass.PERSON, "step_s": 5.0, **kw}
    return move(
        river, "P1", [Waypoint(0, km, offset_m), Waypoint(drift_s, km + drift_s * 0.8 / 1000, offset_m)], **args
    )


def test_person_in_water_is_one_distress_incident_that_follows_the_drift(river: RiverModel) -> None:
    book = IncidentBook.with_default_rules(river)
    handed = run(book, person(river))
    [inc] = of_type(book, IncidentType.PERSON_IN_WATER)
    assert {i.id for i in handed} == {inc.id} and len(handed) > 50  # updated many times, one incident
    assert (inc.sar_phase, inc.impact, inc.agencies_to_notify) == (SarPhase.DISTRESS, Impact.HIGH, MD_UA)
    assert (inc.section, inc.side, inc.track_ids, inc.status) == ("north", "MD", ("P1",), IncidentStatus.OPEN)
    assert inc.river_km == pytest.approx(121.0, abs=0.015)  # followed 1 km (moves under 10 m are not applied)
    assert inc.opened_at == at(0)
    updates = [e.time for e in inc.timeline if e.event is TimelineEvent.UPDATED]
    assert 40 <= len(updates) <= 42  # one per 30 s over 1250 s, not one per evaluation (250)
    assert min((b - a).total_seconds() for a, b in zip([inc.opened_at, *updates], updates)) >= 30.0


@pytest.mark.parametrize(
    "kw",
    [
        {"class_confidence": 0.4},
        {"offset_m": 400.0},
        {"sources": radar_only},
        {"target_class": TargetClass.VESSEL},
    ],
    ids=["low-confidence", "on-land", "no-camera-or-drone", "a-vessel"],
)
def test_no_person_in_water_incident_without_all_conditions(river: RiverModel, kw: dict[str, Any]) -> None:
    book = IncidentBook.with_default_rules(river)
    run(book, person(river, drift_s=120.0, **kw))
    assert of_type(book, IncidentType.PERSON_IN_WATER) == []


def test_person_in_water_stays_open_when_its_track_is_lost(river: RiverModel) -> None:
    book = IncidentBook.with_default_rules(river)
    run(book, person(river, drift_s=60.0))
    [lost] = book.evaluate(at(65), [])
    assert lost.status is IncidentStatus.OPEN and lost.timeline[-1].event is TimelineEvent.NOTE
    assert "track lost" in lost.timeline[-1].detail
    assert book.evaluate(at(3600), []) == [] and book.get(lost.id).status is IncidentStatus.OPEN
    closed = book.close(lost.id, "duty-officer", "rescued by the MD patrol", time=at(3700))
    assert (closed.status, closed.closed_by, closed.closed_at) == (
        IncidentStatus.CLOSED,
        "operator:duty-officer",
        at(3700),
    )


def test_operator_close_is_not_reopened_by_the_same_ongoing_event(river: RiverModel) -> None:
    track = person(river, drift_s=300.0)
    book = IncidentBook.with_default_rules(river)
    run(book, track[:10])
    [inc] = book.list()
    book.close(inc.id, "duty-officer", "false alarm: a buoy", time=at(50))
    assert run(book, track[10:]) == []
    assert [i.status for i in book.list()] == [IncidentStatus.CLOSED]


def pair(river: RiverModel, together_s: float, b_sources: Any = radar_only) -> tuple[list[Track], list[Track]]:
    """Two boats at 2 m/s downstream side by side (UA -20 m, MD +10 m: 30 m apart) for
    ``together_s``; then B turns away (+90 m and 0.3 km ahead within 60 s)."""
    v = 2.0 / 1000
    end = together_s + 240
    a = move(river, "A", [Waypoint(0, 70.0, -20), Waypoint(end, 70.0 + v * end, -20)], step_s=2.0)
    b_path = [Waypoint(0, 70.0, 10), Waypoint(together_s, 70.0 + v * together_s, 10)]
    b_path += [Waypoint(together_s + 60, 70.3 + v * together_s, 90), Waypoint(end, 70.3 + v * end, 90)]
    b = move(river, "B", b_path, step_s=2.0, sources=b_sources)
    return a, b


def test_rendezvous_of_two_boats_for_five_minutes_is_one_incident(river: RiverModel) -> None:
    book = IncidentBook.with_default_rules(river)
    handed = run(book, *pair(river, 300.0))
    [inc] = of_type(book, IncidentType.RENDEZVOUS)
    assert len({i.id for i in handed if i.type is IncidentType.RENDEZVOUS}) == 1
    assert (inc.impact, inc.track_ids, inc.agencies_to_notify) == (Impact.HIGH, ("A", "B"), MD_UA)
    assert inc.opened_at == at(180)
    # B is beyond 100 m about 24 s after turning away; closed by the rule one grace period later
    assert inc.status is IncidentStatus.CLOSED and inc.closed_by == "rule:rendezvous"
    assert inc.closed_at is not None and 380 <= (inc.closed_at - at(0)).total_seconds() <= 390


def test_one_minute_pass_is_no_rendezvous(river: RiverModel) -> None:
    book = IncidentBook.with_default_rules(river)
    run(book, *pair(river, 60.0))
    assert of_type(book, IncidentType.RENDEZVOUS) == []


def test_rendezvous_with_a_cooperative_boat_is_medium(river: RiverModel) -> None:
    book = IncidentBook.with_default_rules(river)
    run(book, *pair(river, 300.0, b_sources=lambda t: (radar(t), ais(t, 255805000))))
    [inc] = of_type(book, IncidentType.RENDEZVOUS)
    assert inc.impact is Impact.MEDIUM


def circling(river: RiverModel, stay_s: float = 480.0, **kw: Any) -> list[Track]:
    """Circles of 40 m radius around km 30, +60 m (MD) every 120 s; then 1 km downstream at 3.3 m/s."""
    path = [
        Waypoint(t, 30.0 + 0.04 * math.cos(t / 120 * 2 * math.pi), 60 + 40 * math.sin(t / 120 * 2 * math.pi))
        for t in range(0, int(stay_s) + 1, 10)
    ]
    path.append(Waypoint(stay_s + 300, 31.04, 60))
    return move(river, "L1", path, step_s=2.0, **kw)


def test_loitering_near_the_border_is_one_incident_until_it_leaves(river: RiverModel) -> None:
    book = IncidentBook.with_default_rules(river)
    run(book, circling(river))
    [inc] = of_type(book, IncidentType.LOITERING)
    assert (inc.impact, inc.side, inc.agencies_to_notify, inc.track_ids) == (
        Impact.MEDIUM,
        "MD",
        frozenset({"MD"}),
        ("L1",),
    )
    assert inc.opened_at == at(300)
    # leaving at 3.3 m/s it is 300 m from the loitering spot about 90 s after 480 s; closed 60 s later
    assert inc.closed_by == "rule:loitering" and inc.closed_at is not None
    assert 620 <= (inc.closed_at - at(0)).total_seconds() <= 645


@pytest.mark.parametrize(
    "track_kw",
    [{"stay_s": 0.0}, {"sources": lambda t: (radar(t), ais(t, 214000001))}],
    ids=["transit", "cooperative"],
)
def test_no_loitering_for_a_transit_or_an_ais_vessel(river: RiverModel, track_kw: dict[str, Any]) -> None:
    book = IncidentBook.with_default_rules(river)
    run(book, circling(river, **track_kw))
    assert of_type(book, IncidentType.LOITERING) == []


def dark_vessel(river: RiverModel, radar_stops_s: float | None = None) -> list[Track]:
    """AIS + radar vessel 80 m off the axis on the UA side, 2 m/s downstream; AIS silent from
    60 s to 600 s; it closes to 30 m off the axis between 400 and 460 s."""

    def sources(t: datetime) -> tuple[SourceInfo, ...]:
        silent = at(60) < t < at(600)
        r = radar(min(t, at(radar_stops_s)) if radar_stops_s is not None else t)
        return (r, ais(at(60) if silent else t, 214123456))

    v = 2.0 / 1000
    path = [Waypoint(0, 60.0, -80), Waypoint(400, 60.0 + 400 * v, -80), Waypoint(460, 60 + 460 * v, -30)]
    path.append(Waypoint(800, 60 + 800 * v, -30))
    return move(river, "D1", path, step_s=5.0, sources=sources, mmsi=214123456, name="NISTRU-7")


def test_dark_target_is_raised_once_with_its_mmsi_escalated_and_closed(river: RiverModel) -> None:
    book = IncidentBook.with_default_rules(river)
    run(book, dark_vessel(river))
    [inc] = of_type(book, IncidentType.DARK_TARGET)
    assert inc.opened_at == at(180)  # 120 s of AIS silence while radar holds it
    assert "214123456" in inc.title and "NISTRU-7" in inc.title
    assert (inc.side, inc.agencies_to_notify, inc.track_ids) == ("UA", frozenset({"UA"}), ("D1",))
    escalations = [e for e in inc.timeline if e.event is TimelineEvent.ESCALATED]
    assert inc.impact is Impact.HIGH and [e.time for e in escalations] == [at(440)]  # within 50 m at 436 s
    assert "medium \u2192 high" in escalations[0].detail
    assert inc.closed_by == "rule:dark_target" and inc.closed_at == at(660)  # AIS back at 600 s, +60 s grace


def test_no_dark_target_when_no_other_sensor_holds_it(river: RiverModel) -> None:
    book = IncidentBook.with_default_rules(river)
    run(book, dark_vessel(river, radar_stops_s=60.0))
    assert of_type(book, IncidentType.DARK_TARGET) == []
