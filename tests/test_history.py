"""The history generator: deterministic, and consistent with itself, the route graph and the
Recommender. Route times come from ``RouteGraph.eta`` (networkx, another code path than the
generator's sparse searches); the dispatcher's choice from ``Recommender.rank`` on the fleet
state the synthetic incidents carry; the orders' rules from the order book's documentation."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, select

from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.dispatch.config import DispatchSettings
from sar.dispatch.fleet import AssetState, AssetStatus, Position, example_fleet_path, load_fleet_file
from sar.dispatch.recommend import Recommender
from sar.dispatch.synthetic import SyntheticModel, generate_incidents
from sar.history import HistorySummary, ResponseModel, generate_history
from sar.incidents.model import Impact, Incident, IncidentStatus, IncidentType, SarPhase
from sar.store.schema import Base, IncidentEventRow, IncidentRow, OrderEventRow, OrderRow

START = date(2025, 6, 1)
DAYS, SEED, RATE = 20, 5, 8.0
FLEET = {a.id: a for a in load_fleet_file(example_fleet_path()).assets}
STAGE_ORDER = ["detected", "alerted", "acknowledged", "dispatched", "accepted", "under_way", "on_scene", "resolved"]


def _write(path: Path, river: RiverModel, graph: RouteGraph, **kw: Any) -> tuple[Engine, HistorySummary]:
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    summary = generate_history(engine, river, graph, kw.pop("start", START), kw.pop("days", DAYS),
                               kw.pop("seed", SEED), kw.pop("rate", RATE), **kw)  # fmt: skip
    return engine, summary


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            t.__tablename__: [tuple(r) for r in conn.execute(select(t.__table__).order_by(*t.__table__.primary_key))]
            for t in (IncidentRow, IncidentEventRow, OrderRow, OrderEventRow)
        }


@pytest.fixture(scope="module")
def history(
    tmp_path_factory: pytest.TempPathFactory, river: RiverModel, graph: RouteGraph
) -> Iterator[tuple[Engine, HistorySummary]]:
    engine, summary = _write(tmp_path_factory.mktemp("history") / "h.db", river, graph)
    yield engine, summary
    engine.dispose()


@pytest.fixture(scope="module")
def tables(history: tuple[Engine, HistorySummary]) -> dict[str, list[tuple[Any, ...]]]:
    return dump(history[0])


def _events(tables: dict[str, list[tuple[Any, ...]]]) -> dict[str, dict[str, tuple[Any, ...]]]:
    """incident id -> stage -> row (id, incident_id, time, event, detail, actor, asset_id, agency)."""
    out: dict[str, dict[str, tuple[Any, ...]]] = defaultdict(dict)
    for row in tables["incident_events"]:
        assert row[3] not in out[row[1]], f"stage {row[3]} twice for {row[1]}"
        out[row[1]][row[3]] = row
    return out


def _order_events(tables: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """order id -> its events (id, order_id, time, state, by, detail) in insertion order."""
    out: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in tables["order_events"]:
        out[row[1]].append(row)
    return out


def test_same_seed_same_history_other_seed_other(
    tmp_path: Path, river: RiverModel, graph: RouteGraph, tables: dict[str, list[tuple[Any, ...]]]
) -> None:
    again, _ = _write(tmp_path / "again.db", river, graph)
    assert dump(again) == tables
    other, _ = _write(tmp_path / "other.db", river, graph, seed=SEED + 1)
    assert dump(other)["incident_events"] != tables["incident_events"]


def test_summary_counts_the_rows(history: tuple[Engine, HistorySummary], tables: dict[str, Any]) -> None:
    s = history[1]
    assert s.incidents == len(tables["incidents"]) > 100
    assert s.incident_events == len(tables["incident_events"])
    assert s.orders == len(tables["orders"]) and s.order_events == len(tables["order_events"])
    assert sum(s.orders_by_state.values()) == s.orders
    assert s.served == sum(1 for stages in _events(tables).values() if "on_scene" in stages)


def test_incidents_are_the_synthetic_ones(river: RiverModel, tables: dict[str, Any]) -> None:
    synthetic = generate_incidents(river, START, DAYS, SEED, model=SyntheticModel(rate_per_day=RATE))
    rows = tables["incidents"]
    assert [(r[0], r[1], r[13], r[5], r[6]) for r in rows] == [
        (f"H{SEED}-20250601-{n:06d}", s.type.value, s.time, s.lon, s.lat) for n, s in enumerate(synthetic, start=1)
    ]
    assert {r[12] for r in rows} == {"closed"}


def test_stages_are_in_order_once_each_and_none_after_resolution(tables: dict[str, Any]) -> None:
    opened = {r[0]: r[13] for r in tables["incidents"]}
    closed = {r[0]: r[15] for r in tables["incidents"]}
    for iid, stages in _events(tables).items():
        assert {"detected", "alerted", "acknowledged", "resolved"} <= set(stages), iid
        times = [stages[s][2] for s in STAGE_ORDER if s in stages]
        assert times == sorted(times), iid
        assert stages["detected"][2] == opened[iid] and stages["resolved"][2] == closed[iid]
        asset_stages = [s for s in ("dispatched", "accepted", "under_way", "on_scene") if s in stages]
        assert asset_stages == ["dispatched", "accepted", "under_way", "on_scene"][: len(asset_stages)], iid
        for s in asset_stages:
            assert FLEET[stages[s][6]].agency.value == stages[s][7]


def test_on_scene_is_under_way_plus_the_route_by_water(graph: RouteGraph, tables: dict[str, Any]) -> None:
    where = {r[0]: (r[5], r[6]) for r in tables["incidents"]}
    checked = 0
    for iid, stages in _events(tables).items():
        if "on_scene" not in stages:
            continue
        boat = FLEET[stages["on_scene"][6]]
        under_way = _order_time(tables, iid, boat.id, "en_route")
        route = graph.eta((boat.base.lon, boat.base.lat), where[iid], boat.speed_mps)
        assert (stages["on_scene"][2] - under_way).total_seconds() == pytest.approx(route.eta_s, abs=1.0), iid
        checked += 1
    assert checked > 50


def _order_time(tables: dict[str, Any], iid: str, asset: str, state: str) -> datetime:
    orders = {r[0] for r in tables["orders"] if r[1] == iid and r[2] == asset}
    return min(e[2] for e in tables["order_events"] if e[1] in orders and e[3] == state)


NEXT = {
    "sent": {"accepted", "declined", "expired", "cancelled"},
    "accepted": {"en_route", "cancelled"},
    "en_route": {"on_scene", "cancelled"},
    "on_scene": {"returning"},
    "returning": {"done"},
}


def test_orders_follow_the_order_book(tables: dict[str, Any]) -> None:
    events = _order_events(tables)
    stages = _events(tables)
    closed = {r[0]: r[15] for r in tables["incidents"]}
    for oid, iid, asset, agency, state, created, deadline, updated, _by, _note, eta, data in tables["orders"]:
        states = [e[3] for e in events[oid]]
        times = [e[2] for e in events[oid]]
        assert states[0] == "sent" and times[0] == created and times == sorted(times), oid
        assert all(b in NEXT[a] for a, b in zip(states, states[1:])), (oid, states)
        assert states[-1] == state and times[-1] == updated and states.count("accepted") <= 1
        assert deadline - created == timedelta(seconds=60) and FLEET[asset].agency.value == agency
        assert [h["state"] for h in data["history"]] == states and data["id"] == oid
        if "accepted" in states:
            assert times[states.index("accepted")] < deadline
        if state == "expired":
            assert times[-1] == deadline
        if state == "cancelled":
            assert times[-1] == closed[iid]  # closing the incident cancels its open orders
        assert created <= closed[iid] and stages[iid]["dispatched"][2] <= created
        ready = FLEET[asset].readiness_min * 60
        assert eta > ready
    for iid, st in stages.items():
        mine = [o for o in tables["orders"] if o[1] == iid]
        assert ("dispatched" in st) == bool(mine)
        for stage, state in (("accepted", "accepted"), ("under_way", "en_route"), ("on_scene", "on_scene")):
            times = [e[2] for o in mine for e in events[o[0]] if e[3] == state]
            assert (stage in st) == bool(times), (iid, stage)
            if times:
                assert st[stage][2] == min(times)
        if mine:
            assert st["dispatched"][2] == min(o[5] for o in mine)


def test_a_boat_has_one_order_at_a_time(tables: dict[str, Any]) -> None:
    events = _order_events(tables)
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for o in tables["orders"]:
        spans[o[2]].append((o[5], events[o[0]][-1][2]))
    for asset, found in spans.items():
        found.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(found, found[1:])), asset
    assert len(spans) >= 5


def test_some_orders_expire_or_are_declined_and_the_next_best_goes(tables: dict[str, Any]) -> None:
    states = [o[4] for o in tables["orders"]]
    assert states.count("done") > 50
    failed = [o for o in tables["orders"] if o[4] in ("expired", "declined")]
    assert failed
    followers = {o[9].removeprefix("next best after ") for o in tables["orders"] if o[9]}
    assert followers <= {o[0] for o in failed}


def test_the_choice_is_the_recommenders(tmp_path: Path, river: RiverModel, graph: RouteGraph) -> None:
    """With boats free whenever the synthetic fleet state says so, the first boats sent are the
    Recommender's proposal (its boats) for that fleet state."""
    engine, _ = _write(tmp_path / "free.db", river, graph, model=ResponseModel(exclusive_boats=False), days=10)
    tables = dump(engine)
    synthetic = generate_incidents(river, START, 10, SEED, model=SyntheticModel(rate_per_day=RATE))
    rec = Recommender(graph, DispatchSettings())
    first_orders: dict[str, set[str]] = defaultdict(set)
    for o in tables["orders"]:
        if not o[9]:
            first_orders[o[1]].add(o[2])
    dispatched = {e[1] for e in tables["incident_events"] if e[3] == "dispatched"}
    compared = 0
    for row, s in zip(tables["incidents"], synthetic):
        if row[0] not in dispatched:
            continue
        states = [_state(a, s.available, s.time) for a in FLEET.values()]
        ranked = rec.rank(_incident(row), states, s.time, routes=0)
        proposed = {r.asset_id for r in ranked if r.proposed and r.kind == "boat"}
        assert first_orders[row[0]] == proposed, row[0]
        compared += 1
    assert compared > 30


def _state(a: Any, available: tuple[str, ...], now: datetime) -> AssetState:
    status = AssetStatus.AVAILABLE if a.id in available else AssetStatus.ASSIGNED
    return AssetState(a, status, now, Position(a.base.lon, a.base.lat, now, "base"))


def _incident(row: tuple[Any, ...]) -> Incident:
    return Incident(
        id=row[0],
        type=IncidentType(row[1]),
        impact=Impact(row[2]),
        confidence=row[3],
        sar_phase=SarPhase(row[4]) if row[4] else None,
        lon=row[5],
        lat=row[6],
        section=row[7],
        river_km=row[8],
        side=row[9],
        agencies_to_notify=frozenset(row[10]),
        track_ids=(),
        status=IncidentStatus.OPEN,
        opened_at=row[13],
        updated_at=row[13],
        title=row[17],
        source=row[18],
    )


def test_operators_are_slower_at_night(tmp_path: Path, river: RiverModel, graph: RouteGraph) -> None:
    """The documented shift effect: acknowledgement medians of 25 s by day and 50 s at night
    (local 20:00-08:00), by the local time of the alert."""
    engine, _ = _write(tmp_path / "shifts.db", river, graph, days=60, rate=20.0, seed=9)
    stages = _events(dump(engine))
    tz = ZoneInfo("Europe/Chisinau")
    day, night = [], []
    for st in stages.values():
        alerted = st["alerted"][2]
        hour = alerted.astimezone(tz).hour
        (day if 8 <= hour < 20 else night).append((st["acknowledged"][2] - alerted).total_seconds())
    assert len(day) > 200 and len(night) > 200
    assert statistics.median(day) == pytest.approx(25.0, rel=0.1)
    assert statistics.median(night) == pytest.approx(50.0, rel=0.1)


def test_times_are_utc(tables: dict[str, Any]) -> None:
    assert all(r[2].tzinfo is UTC for r in tables["incident_events"][:50])
    assert tables["incidents"][0][13] >= datetime(2025, 5, 31, 21, tzinfo=UTC)  # local midnight, UTC+3
