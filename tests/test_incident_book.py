"""The incident book: manual reports near Soroca, operator actions, grace/resume, timeline
throttling, escalation, agencies, ordering, and settings validation."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from pydantic import ValidationError
from shapely.geometry import Point

from geo.errors import InvalidCoordinate, OutOfArea
from geo.river import RiverModel
from sar.incidents.book import IncidentBook
from sar.incidents.config import IncidentSettings, LoiteringSettings, RendezvousSettings
from sar.incidents.model import (
    Finding,
    Impact,
    IncidentAlreadyClosed,
    IncidentError,
    IncidentStatus,
    IncidentType,
    SarPhase,
    TimelineEvent,
    UnknownIncident,
)
from sar.tracking.model import Track
from tests.incident_tracks import MD_UA, Waypoint, at, move

SOROCA = (28.28489, 48.15659)  # GeoNames 617367, the town centre on the MD bank


class Scripted:
    """A rule that reports what the test queued for the next evaluation."""

    name = "scripted"

    def __init__(self) -> None:
        self.queue: list[Finding] = []

    def evaluate(self, now: datetime, tracks: Sequence[Track]) -> list[Finding]:
        out, self.queue = self.queue, []
        return out


class Broken:
    name = "broken"

    def evaluate(self, now: datetime, tracks: Sequence[Track]) -> list[Finding]:
        raise RuntimeError("rule bug")


def finding(river: RiverModel, km: float = 50.0, offset_m: float = -40.0, **kw: Any) -> Finding:
    lon, lat = river.axis_point("north", km, offset_m)
    args: dict[str, Any] = {"rule": "scripted", "key": "k1", "type": IncidentType.LOITERING, "impact": Impact.MEDIUM}
    return Finding(**{**args, "confidence": 0.8, "lon": lon, "lat": lat, "title": "test event", **kw})


def step(book: IncidentBook, rule: Scripted, t_s: float, *findings: Finding) -> list[Any]:
    rule.queue = list(findings)
    return book.evaluate(at(t_s), [])


def expected_km(river: RiverModel, lon: float, lat: float) -> float:
    x, y = river.projector.to_xy([lon], [lat])
    return float(river.section("north").axis.project(Point(float(x[0]), float(y[0])))) / 1000.0


def test_manual_report_near_soroca_is_placed_on_the_river(river: RiverModel) -> None:
    book = IncidentBook(river, [])
    inc = book.report("manual", *SOROCA, at(0), "fisherman Ion", "two men\nloading a boat at night")
    assert (inc.id, inc.type, inc.section, inc.side) == ("I0001", IncidentType.MANUAL, "north", "MD")
    assert inc.river_km == pytest.approx(expected_km(river, *SOROCA), abs=0.001)
    assert (inc.agencies_to_notify, inc.impact, inc.sar_phase, inc.confidence) == (
        frozenset({"MD"}),
        Impact.MEDIUM,
        None,
        0.5,
    )
    assert inc.source == "report:fisherman Ion" and "two men loading a boat at night" in inc.title
    assert [(e.event, e.detail) for e in inc.timeline] == [
        (TimelineEvent.DETECTED, "reported by fisherman Ion: two men loading a boat at night")
    ]


def test_person_in_water_report_starts_at_alert_unless_stated(river: RiverModel) -> None:
    km = expected_km(river, *SOROCA)
    lon, lat = river.axis_point("north", km, -40.0)  # on the water, UA half
    book = IncidentBook(river, [])
    alert = book.report(IncidentType.PERSON_IN_WATER, lon, lat, at(0), "fisherman Ion", "someone shouting")
    distress = book.report(
        "person_in_water", lon, lat, at(5), "patrol MD-3", "man overboard", sar_phase=SarPhase.DISTRESS
    )
    assert (alert.sar_phase, alert.impact, alert.agencies_to_notify, alert.side) == (
        SarPhase.ALERT,
        Impact.HIGH,
        MD_UA,
        "UA",
    )
    assert alert.river_km == pytest.approx(km, abs=0.001)
    assert distress.sar_phase is SarPhase.DISTRESS and distress.id == "I0002"
    raised = book.escalate(alert.id, "duty-officer", sar_phase=SarPhase.DISTRESS, time=at(60))
    assert raised.sar_phase is SarPhase.DISTRESS and raised.timeline[-1].event is TimelineEvent.ESCALATED
    with pytest.raises(IncidentError, match="cannot lower"):
        book.escalate(alert.id, "duty-officer", sar_phase=SarPhase.UNCERTAINTY)


@pytest.mark.parametrize(
    ("lon", "lat", "kind", "time", "error"),
    [
        (200.0, 48.0, "manual", at(0), InvalidCoordinate),
        (float("nan"), 48.0, "manual", at(0), InvalidCoordinate),
        (10.0, 50.0, "manual", at(0), OutOfArea),
        (*SOROCA, "shipwreck", at(0), ValueError),
        (*SOROCA, "manual", datetime(2026, 5, 14, 2, 0), ValueError),
    ],
    ids=["lon-200", "nan", "far-away", "unknown-kind", "naive-time"],
)
def test_invalid_reports_raise(
    river: RiverModel, lon: float, lat: float, kind: str, time: datetime, error: type
) -> None:
    book = IncidentBook(river, [])
    with pytest.raises(error):
        book.report(kind, lon, lat, time, "caller", "text")
    assert book.list() == []


def test_operator_close_unknown_and_twice(river: RiverModel) -> None:
    book = IncidentBook(river, [])
    inc = book.report("manual", *SOROCA, at(0), "caller", "a light on the water")
    closed = book.close(inc.id, "duty-officer", "checked: a fishing boat", time=at(600))
    assert (closed.status, closed.closed_by, closed.closed_at) == (
        IncidentStatus.CLOSED,
        "operator:duty-officer",
        at(600),
    )
    assert closed.timeline[-1].event is TimelineEvent.CLOSED and "checked: a fishing boat" in closed.timeline[-1].detail
    assert book.get(inc.id) == closed
    with pytest.raises(IncidentAlreadyClosed, match="already closed by operator:duty-officer"):
        book.close(inc.id, "someone-else")
    with pytest.raises(UnknownIncident) as err:
        book.close("I9999", "duty-officer")
    assert isinstance(err.value, KeyError) and str(err.value) == "no incident 'I9999'"
    noted = book.note(inc.id, "duty-officer", "boat owner called back", time=at(700))
    assert noted.timeline[-1].detail == "duty-officer: boat owner called back"


def test_list_orders_by_impact_then_age_and_filters_status(river: RiverModel) -> None:
    book = IncidentBook(river, [])
    m0 = book.report("manual", *SOROCA, at(0), "a", "x", impact=Impact.MEDIUM)
    h1 = book.report("manual", *SOROCA, at(10), "b", "x", impact=Impact.HIGH)
    m2 = book.report("manual", *SOROCA, at(20), "c", "x", impact=Impact.MEDIUM)
    low = book.report("manual", *SOROCA, at(30), "d", "x", impact=Impact.LOW)
    h4 = book.report("manual", *SOROCA, at(40), "e", "x", impact=Impact.HIGH)
    assert [i.id for i in book.list()] == [h1.id, h4.id, m0.id, m2.id, low.id]
    book.close(h1.id, "duty-officer")
    assert [i.id for i in book.list(IncidentStatus.OPEN)] == [h4.id, m0.id, m2.id, low.id]
    assert [i.id for i in book.list(IncidentStatus.CLOSED)] == [h1.id]


def test_ended_event_is_closed_by_its_rule_after_the_grace_unless_it_resumes(river: RiverModel) -> None:
    rule = Scripted()
    book = IncidentBook(river, [rule])
    [opened] = step(book, rule, 0, finding(river))
    [ending] = step(book, rule, 10, finding(river, ended=True, detail="it left"))
    assert ending.status is IncidentStatus.OPEN and "it left; closing in 60 s" in ending.timeline[-1].detail
    [resumed] = step(book, rule, 40, finding(river))
    assert resumed.id == opened.id and resumed.timeline[-1].detail == "event resumed"
    step(book, rule, 50, finding(river, ended=True))
    assert step(book, rule, 109.9) == []
    [closed] = step(book, rule, 110)
    assert (closed.id, closed.closed_by, closed.closed_at) == (opened.id, "rule:scripted", at(110))
    [again] = step(book, rule, 200, finding(river))  # the same key later: a new event
    assert again.id == "I0002" and again.status is IncidentStatus.OPEN


def test_timeline_updates_are_throttled_but_positions_follow(river: RiverModel) -> None:
    rule = Scripted()
    book = IncidentBook(river, [rule])
    for s in range(301):  # 20 m per second along the river, evaluated every second
        handed = step(book, rule, s, finding(river, km=50.0 + 0.02 * s))
        assert len(handed) == 1
    inc = book.get("I0001")
    assert inc.river_km == pytest.approx(56.0, abs=0.001)
    updated = [e.time for e in inc.timeline if e.event is TimelineEvent.UPDATED]
    assert updated == [at(s) for s in range(30, 301, 30)]
    assert step(book, rule, 301, finding(river, km=56.003)) == []  # a 3 m jitter changes nothing
    assert book.get("I0001") == inc


def test_escalation_is_logged_at_once_and_never_lowered_by_a_rule(river: RiverModel) -> None:
    rule = Scripted()
    book = IncidentBook(river, [rule])
    step(book, rule, 0, finding(river))
    [up] = step(book, rule, 5, finding(river, impact=Impact.HIGH))
    assert up.impact is Impact.HIGH
    assert [(e.time, e.event, e.detail) for e in up.timeline[1:]] == [
        (at(5), TimelineEvent.ESCALATED, "impact medium \u2192 high")
    ]
    assert step(book, rule, 10, finding(river, impact=Impact.MEDIUM)) == []
    assert book.get(up.id).impact is Impact.HIGH


@pytest.mark.parametrize(
    ("kw", "agencies"),
    [
        ({"sides": frozenset({"UA"})}, {"UA"}),
        ({"sides": frozenset({"UA", "MD"})}, MD_UA),
        ({"offset_m": 60.0}, {"MD"}),  # no sides given: the side of the position
        ({"type": IncidentType.BORDER_CROSSING, "sides": frozenset({"UA"})}, MD_UA),
        ({"sar_phase": SarPhase.UNCERTAINTY, "sides": frozenset({"UA"})}, MD_UA),
    ],
    ids=["one-side", "two-sides", "by-position", "crossing", "sar"],
)
def test_agencies_to_notify(river: RiverModel, kw: dict[str, Any], agencies: set[str]) -> None:
    rule = Scripted()
    book = IncidentBook(river, [rule])
    args = {"offset_m": kw.pop("offset_m", -40.0), **kw}
    [inc] = step(book, rule, 0, finding(river, **args))
    assert inc.agencies_to_notify == agencies


def test_a_failing_rule_is_counted_and_the_others_still_run(river: RiverModel) -> None:
    rule = Scripted()
    book = IncidentBook(river, [Broken(), rule])
    [inc] = step(book, rule, 0, finding(river))
    assert inc.id == "I0001" and book.rule_errors == {"broken": 1}


def test_incident_to_dict_is_json(river: RiverModel) -> None:
    book = IncidentBook(river, [])
    inc = book.report("person_in_water", *river.axis_point("north", 100.0, 20.0), at(0), "caller", "help")
    d = json.loads(json.dumps(inc.to_dict()))
    assert d["agencies_to_notify"] == ["MD", "UA"] and d["sar_phase"] == "alert" and d["side"] == "MD"
    assert d["opened_at"] == "2026-05-14T02:00:00+00:00" and d["timeline"][0]["event"] == "detected"


def test_settings_are_strict() -> None:
    with pytest.raises(ValidationError):
        IncidentSettings.model_validate({"crossing": {"min_offset": 25}})
    with pytest.raises(ValidationError, match="release_distance_m"):
        RendezvousSettings(max_distance_m=80, release_distance_m=60)
    with pytest.raises(ValidationError, match="leave_radius_m"):
        LoiteringSettings(area_radius_m=400)
    s = IncidentSettings()
    with pytest.raises(ValidationError):
        s.crossing.dwell_s = 1.0
    assert (s.crossing.min_offset_m, s.rendezvous.min_duration_s, s.book.update_interval_s) == (25.0, 180.0, 30.0)


def test_rules_of_a_book_locate_the_alive_tracks_once_per_evaluation(river: RiverModel) -> None:
    from sar.incidents.rules import TrackPlaces

    calls: list[int] = []

    class Counting(RiverModel):
        def locate_xy(self, x: Any, y: Any) -> Any:
            calls.append(len(x))
            return super().locate_xy(x, y)

    counting = Counting(data=river.data)
    places = TrackPlaces(counting)
    a = move(river, "T1", [Waypoint(0, 50.0, 30.0), Waypoint(10, 50.1, 30.0)])
    b = move(river, "T2", [Waypoint(0, 70.0, -30.0), Waypoint(10, 70.1, -30.0)])
    first = places([a[0], b[0]])
    assert places([a[0], b[0]]) is first  # the other rules of the same evaluation
    assert calls == [2]
    assert first["T1"].side == "MD" and first["T2"].side == "UA"
    places([a[1], b[1]])  # the next tick moved them
    assert calls == [2, 2]
