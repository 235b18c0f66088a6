"""The store on SQLite and on the real PostgreSQL (a fresh database per test): every table comes
back as it was written; a change is committed before it is published or sent; a failed commit
changes nothing; restore continues ids, keeps deadlines and lets overdue orders expire; one
server per database; users in the database, shared with ``dwatch user``."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from geo.river import RiverModel
from sar.auth.users import Language, Role, User, UserExists
from sar.dispatch.fleet import Agency, AssetStatus, Fleet, example_fleet_path, load_fleet_file
from sar.dispatch.orders import CrewStatus, OrderBook, OrderChange
from sar.incidents.book import IncidentBook
from sar.incidents.model import Finding, Impact, IncidentStatus, IncidentType, SarPhase, TimelineEvent
from sar.store.config import StorageSettings
from sar.store.engine import ServerLock, StoreError
from sar.store.schema import AuditRow, IncidentEventRow, OrderEventRow, OrderRow, SensorHealthEventRow, TrackPointRow
from sar.store.store import Store
from sar.store.users import DbUserStore
from sensors.adapter import HealthStatus, SensorHealth
from sensors.model import SensorKind
from tests.conftest import REPO, TEST_PASSWORD

PG_ADMIN = "postgresql+pg8000://postgres@127.0.0.1:5432/test"
T0 = datetime(2026, 11, 28, 3, 0, 0, 123456, tzinfo=UTC)
SOROCA = (28.3057, 48.1566)  # on the water at Soroca, north section km 106.92
OTACI = (27.8000, 48.4370)  # on the water at Otaci, north section km 28.35
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@contextlib.contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """A SQLite file in ``folder``, or a new PostgreSQL database (dropped afterwards) on the
    local server (127.0.0.1:5432, user postgres, trust), so runs never see each other's rows."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'dwatch.db'}"
        return
    name = f"dwatch_test_{secrets.token_hex(6)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"postgresql+pg8000://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture()
def store(db_url: str) -> Iterator[Store]:
    s = Store(StorageSettings(url=db_url), clock=lambda: T0)
    s.open()
    yield s
    s.close()


def reopen(db_url: str) -> Store:
    s = Store(StorageSettings(url=db_url), clock=lambda: T0)
    s.open()
    return s


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def books(
    river: RiverModel, store: Store, published: list[tuple[str, Any]] | None = None
) -> tuple[Fleet, IncidentBook, OrderBook]:
    fleet = Fleet(load_fleet_file(example_fleet_path()).assets, T0)
    book = IncidentBook(river, [], persist=store.incident_changed)
    sink = published if published is not None else []
    orders = OrderBook(fleet, book, lambda t, d: sink.append((t, d)), 60.0, persist=store.order_changed)
    return fleet, book, orders


def health(sensor: str, status: HealthStatus, accepted: int) -> SensorHealth:
    return SensorHealth(sensor, SensorKind.RADAR, "MD", status, at(1) if accepted else None, 0.5, accepted, {}, 2.0)


def stages(s: Store, incident_id: str) -> list[tuple[str, datetime, str | None, str | None, str | None]]:
    with Session(s.engine) as db:
        rows = db.scalars(
            select(IncidentEventRow)
            .where(IncidentEventRow.incident_id == incident_id)
            .order_by(IncidentEventRow.time, IncidentEventRow.id)
        )
        return [(r.event, r.time, r.actor, r.asset_id, r.agency) for r in rows]


def test_every_table_comes_back_as_written(river: RiverModel, store: Store, db_url: str) -> None:
    fleet, book, orders = books(river, store)
    i1 = book.report("person_in_water", *SOROCA, T0, "fisherman", "man overboard").id
    book.escalate(i1, "ana", sar_phase=SarPhase.DISTRESS, time=at(10))
    book.note(i1, "ana", "second call from the bank", at(20))
    i2 = book.report("manual", *OTACI, at(30), "patrol", "boat without lights").id
    o1 = orders.dispatch(i1, "MD-B3", "ana", at(40), eta_s=600.0, note="take the stretcher").id
    orders.accept(o1, "crew:MD-B3", at(50), "MD-B3")
    orders.crew_status("MD-B3", CrewStatus.EN_ROUTE, "crew:MD-B3", at(60))
    fleet.set_position("MD-B3", 28.2950, 48.2010, at(70), "crew")
    assert store.asset_positions(fleet.all()) == 1  # the keeper's job, done by hand here
    o2 = orders.dispatch(i1, "UA-B3", "bogdan", at(80)).id
    orders.decline(o2, "crew:UA-B3", at(85), "engine failure", "UA-B3")
    o3 = orders.dispatch(i2, "MD-B2", "ana", at(90)).id
    orders.cancel(o3, "ana", at(100), "false alarm")
    book.close(i2, "ana", "false alarm", at(110))
    assert store.sensor_health([health("r1", HealthStatus.OK, 10), health("r2", HealthStatus.NO_DATA, 0)], at(1)) == 2
    assert store.sensor_health([health("r1", HealthStatus.OK, 11), health("r2", HealthStatus.NO_DATA, 0)], at(2)) == 0
    assert store.sensor_health([health("r1", HealthStatus.STALE, 11)], at(3)) == 1
    point = {"track_id": "T0007", "time": at(5), "lon": 28.3, "lat": 48.15, "speed_mps": 2.5,
             "target_class": "vessel", "cooperative": False, "mmsi": 255806000}  # fmt: skip
    assert store.add_track_points([point, {**point, "time": at(15), "mmsi": None, "cooperative": True}]) == 2
    DbUserStore(store, CHEAP).add(User("ana", Role.OPERATOR, Agency.MD, language=Language.RO), TEST_PASSWORD)
    store.audit("login", "ana", {}, "ana", at(0))
    store.close()

    again = reopen(db_url)
    kept = again.restore(at(3600))
    assert {i.id: i for i in kept.incidents} == {i.id: i for i in book.list()}
    assert [i.id for i in kept.incidents] == [i1, i2]  # oldest first
    assert kept.orders == orders.list() and [o.id for o in kept.orders] == ["O0001", "O0002", "O0003"]
    assert (kept.last_incident, kept.last_order) == (2, 3)
    written = {a.id: (a.status, a.status_since, a.position, a.order_id) for a in kept.assets}
    assert written == {
        s.id: (s.status, s.status_since, s.position, s.order_id)
        for s in fleet.all()
        if s.id in ("MD-B3", "UA-B3", "MD-B2")
    }
    assert written["MD-B3"][0] is AssetStatus.EN_ROUTE and written["MD-B3"][2].time == at(70)
    users = DbUserStore(again, CHEAP)
    assert users.list() == [User("ana", Role.OPERATOR, Agency.MD, language=Language.RO)]
    assert users.verify("ana", TEST_PASSWORD) is not None and users.verify("ana", "wrong password!") is None
    assert stages(again, i1) == [
        ("detected", T0, "report:fisherman", None, None),
        ("escalated", at(10), None, None, None),
        ("note", at(20), None, None, None),
        ("acknowledged", at(40), "ana", None, None),
        ("dispatched", at(40), "ana", "MD-B3", "MD"),
        ("accepted", at(50), "crew:MD-B3", "MD-B3", "MD"),
        ("under_way", at(60), "crew:MD-B3", "MD-B3", "MD"),
    ]
    assert [s[:3] for s in stages(again, i2)] == [
        ("detected", at(30), "report:patrol"),
        ("acknowledged", at(90), "ana"),
        ("dispatched", at(90), "ana"),
        ("closed", at(110), "operator:ana"),
        ("resolved", at(110), "ana"),
    ]
    with Session(again.engine) as db:
        events = db.execute(select(OrderEventRow.order_id, OrderEventRow.state).order_by(OrderEventRow.id)).all()
        assert [tuple(e) for e in events] == [
            ("O0001", "sent"), ("O0001", "accepted"), ("O0001", "en_route"), ("O0002", "sent"),
            ("O0002", "declined"), ("O0003", "sent"), ("O0003", "cancelled"),
        ]  # fmt: skip
        assert db.scalar(select(OrderRow.data).where(OrderRow.id == o1)) == orders.get(o1).to_dict()
        sensors = db.execute(select(SensorHealthEventRow.sensor_id, SensorHealthEventRow.time,
                                    SensorHealthEventRow.status).order_by(SensorHealthEventRow.id)).all()  # fmt: skip
        assert [tuple(r) for r in sensors] == [("r1", at(1), "ok"), ("r2", at(1), "no_data"), ("r1", at(3), "stale")]
        points = db.scalars(select(TrackPointRow).order_by(TrackPointRow.time)).all()
        assert [(p.track_id, p.time, p.lon, p.lat, p.speed_mps, p.target_class, p.cooperative, p.mmsi)
                for p in points] == [("T0007", at(5), 28.3, 48.15, 2.5, "vessel", False, 255806000),
                                     ("T0007", at(15), 28.3, 48.15, 2.5, "vessel", True, None)]  # fmt: skip
        audit = db.execute(select(AuditRow.action, AuditRow.actor, AuditRow.target).order_by(AuditRow.id)).all()
        assert [tuple(a) for a in audit] == [
            ("report", "fisherman", i1), ("report", "patrol", i2), ("dispatch", "ana", "O0001"),
            ("dispatch", "bogdan", "O0002"), ("dispatch", "ana", "O0003"), ("cancel", "ana", "O0003"),
            ("close", "ana", i2), ("login", "ana", "ana"),
        ]  # fmt: skip
    again.close()


def test_a_change_is_committed_before_it_is_published_or_sent(river: RiverModel, store: Store, db_url: str) -> None:
    seen: list[tuple[str, str, str | None, int]] = []
    reader = create_engine(db_url)

    def in_db(order_id: str) -> tuple[str | None, int]:
        with reader.connect() as conn:
            state = conn.execute(select(OrderRow.state).where(OrderRow.id == order_id)).scalar()
            n = conn.execute(select(func.count()).where(OrderEventRow.order_id == order_id)).scalar_one()
            return state, n

    class Sink(list[tuple[str, Any]]):
        def append(self, item: tuple[str, Any]) -> None:
            if item[0] == "order":
                seen.append(("published", item[1]["state"], *in_db(item[1]["id"])))
            super().append(item)

    _, book, orders = books(river, store, Sink())
    orders.add_listener(lambda c: seen.append(("sent", c.order.state.value, *in_db(c.order.id))))
    iid = book.report("person_in_water", *SOROCA, T0, "fisherman", "man overboard").id
    oid = orders.dispatch(iid, "MD-B3", "ana", at(1)).id
    orders.accept(oid, "crew:MD-B3", at(2), "MD-B3")
    reader.dispose()
    assert seen == [("published", "sent", "sent", 1), ("sent", "sent", "sent", 1),
                    ("published", "accepted", "accepted", 2), ("sent", "accepted", "accepted", 2)]  # fmt: skip


def test_a_failed_commit_changes_nothing(river: RiverModel, store: Store, db_url: str) -> None:
    published: list[tuple[str, Any]] = []
    fleet, book, orders = books(river, store, published)
    iid = book.report("person_in_water", *SOROCA, T0, "fisherman", "man overboard").id
    breaker = create_engine(db_url)
    with breaker.begin() as conn:
        conn.execute(text("DROP TABLE order_events"))
    breaker.dispose()
    sent: list[OrderChange] = []
    orders.add_listener(sent.append)
    with pytest.raises(StoreError, match="storage failed"):
        orders.dispatch(iid, "MD-B3", "ana", at(1))
    assert orders.list() == [] and orders.open_order("MD-B3") is None and published == [] and sent == []
    assert fleet.get("MD-B3").status is AssetStatus.AVAILABLE
    with Session(store.engine) as db:
        assert db.scalar(select(func.count()).select_from(OrderRow)) == 0  # rolled back, not half written


class OneFinding:
    """A rule that reports one loitering event (a fixture, like a fake sensor)."""

    name = "loitering"

    def evaluate(self, now: datetime, tracks: Any) -> list[Finding]:
        return [Finding("loitering", "loiter:T0001", IncidentType.LOITERING, Impact.LOW, 0.7, *OTACI, "Loitering")]


def test_restore_continues_ids_keeps_deadlines_and_expires_overdue_orders(river: RiverModel, db_url: str) -> None:
    first = reopen(db_url)
    fleet, book, orders = books(river, first)
    book.rules = [OneFinding()]
    book.evaluate(T0, [])  # I0001 by a rule
    sar = book.report("person_in_water", *SOROCA, at(1), "fisherman", "man overboard").id  # I0002
    sent = orders.dispatch(sar, "MD-B3", "ana", at(2))  # deadline at(62)
    first.close()

    second = reopen(db_url)  # the server was down for two minutes
    published: list[tuple[str, Any]] = []
    fleet2, book2, orders2 = books(river, second, published)
    kept = second.restore(at(120))
    book2.restore(kept.incidents, kept.last_incident, at(120))
    orders2.restore(kept.orders, kept.last_order)
    assert orders2.get(sent.id).deadline == at(62) and orders2.open_order("MD-B3") == sent
    expired = orders2.tick(at(120))
    assert [o.id for o in expired] == [sent.id] and expired[0].history[-1].detail == "not acknowledged within 60 s"
    alert = next(d for t, d in published if t == "order")
    assert alert["state"] == "expired" and alert["alert"].startswith(f"order {sent.id} to Nistru 3 (MD-B3) expired")
    assert book2.report("manual", *OTACI, at(121), "patrol", "seen again").id == "I0003"
    assert orders2.dispatch(sar, "UA-B3", "ana", at(122)).id == "O0002"
    # the rule's incident is no longer followed: it closes after the grace period; SAR stays open
    ruled = book2.get("I0001")
    assert ruled.timeline[-1].event is TimelineEvent.UPDATED and "server restarted" in ruled.timeline[-1].detail
    grace_s = book2.settings.close_grace_s
    book2.evaluate(at(120 + grace_s), [])
    assert book2.get("I0001").status is IncidentStatus.CLOSED and book2.get("I0001").closed_by == "rule:loitering"
    assert book2.get(sar).status is IncidentStatus.OPEN
    second.close()
    third = reopen(db_url)
    assert {i.id: i.status for i in third.restore(at(200)).incidents} == {
        "I0001": IncidentStatus.CLOSED, "I0002": IncidentStatus.OPEN, "I0003": IncidentStatus.OPEN,
    }  # fmt: skip
    third.close()


def test_one_server_per_database(store: Store) -> None:
    first, second = ServerLock(store.engine), ServerLock(store.engine)
    first.acquire(0.5)
    with pytest.raises(StoreError, match="another dwatch server is running on .*: stop it first"):
        second.acquire(0.5)
    first.release()
    second.acquire(0.5)
    second.release()


def test_users_in_the_database_are_shared_and_names_are_taken_once(store: Store) -> None:
    server, cli = DbUserStore(store, CHEAP, refresh_s=0), DbUserStore(store, CHEAP, refresh_s=3600)
    server.add(User("ana", Role.OPERATOR, Agency.MD), TEST_PASSWORD)
    cli.add(User("bogdan", Role.CREW, Agency.UA, "UA-B3"), TEST_PASSWORD)  # cli read the table before ana existed
    assert [u.username for u in server.list()] == ["ana", "bogdan"]
    with pytest.raises(UserExists, match="user 'ana' exists"):
        cli.add(User("ANA", Role.ADMIN, Agency.MD), TEST_PASSWORD)
    cli.set_language("ana", Language.UK)
    assert server.get("ana") == User("ana", Role.OPERATOR, Agency.MD, language=Language.UK)
    server.add_hashed(User("demo-x", Role.OPERATOR, Agency.MD), CHEAP.hash(TEST_PASSWORD), persist=False)
    assert cli.get("demo-x") is None and server.verify("demo-x", TEST_PASSWORD) is not None


def dwatch(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sar", *args], cwd=REPO, input=stdin, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **env})  # fmt: skip


def test_dwatch_user_add_writes_to_the_database_without_a_users_file(db_url: str) -> None:
    env = {"DWATCH_STORAGE__URL": db_url}
    r = dwatch("user", "add", "--username", "Root", "--role", "admin", "--agency", "UA", "--password-stdin",
               env=env, stdin=TEST_PASSWORD + "\n")  # fmt: skip
    assert (r.returncode, r.stderr) == (0, f"dwatch: user root (admin, UA) added to the database {db_url}\n")
    listed = dwatch("user", "list", env=env)
    assert [json.loads(line) for line in listed.stdout.splitlines()] == [
        {"username": "root", "role": "admin", "agency": "UA", "asset_id": None, "language": "en"}
    ]
    s = reopen(db_url)
    with Session(s.engine) as db:
        audit = db.execute(select(AuditRow.action, AuditRow.actor, AuditRow.target, AuditRow.detail)).all()
    assert [tuple(a) for a in audit] == [
        ("user_add", f"cli:{getpass.getuser()}", "root", {"role": "admin", "agency": "UA", "asset_id": None})
    ]
    assert DbUserStore(s).verify("root", TEST_PASSWORD) == User("root", Role.ADMIN, Agency.UA)
    s.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "storage.url: Value error, unsupported database 'mysql': use sqlite:/// or "
                           "postgresql+pg8000://"),
        ("dwatch.db", "storage.url: Value error, give a URL such as sqlite:///var/lib/dwatch/dwatch.db or "
                      "postgresql+pg8000://..."),
    ],
)  # fmt: skip
def test_a_bad_storage_url_is_one_clear_line(url: str, message: str) -> None:
    r = dwatch("db", "current", env={"DWATCH_STORAGE__URL": url})
    assert (r.returncode, r.stderr) == (2, f"dwatch: error: settings is invalid: {message}\n")


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    r = dwatch("db", "upgrade", env={"DWATCH_STORAGE__URL": "postgresql://dw:s3cret@127.0.0.1:1/dwatch"})
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith("dwatch: error: cannot migrate postgresql+pg8000://dw:***@127.0.0.1:1/dwatch: ")
    assert "s3cret" not in r.stderr and "Traceback" not in r.stderr
