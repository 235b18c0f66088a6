"""The store inside the app (SQLite and the real PostgreSQL): every response stage of an incident
recorded once, in order, with who did it; audit entries naming the logged-in user; and the
periodic keeper (sensor status changes, positions, downsampled tracks, retention)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.api.app import create_app
from sar.dispatch.config import DispatchSettings
from sar.dispatch.fleet import Fleet, FleetSettings, example_fleet_path, load_fleet_file
from sar.dispatch.orders import OrderBook
from sar.incidents.book import IncidentBook
from sar.settings import Settings
from sar.store.config import StorageSettings
from sar.store.keeper import Keeper
from sar.store.schema import AssetStateRow, AuditRow, SensorHealthEventRow, Stage, TrackPointRow
from sar.store.store import Store
from sar.tracking.model import Track, TrackStatus
from sensors.adapter import HealthStatus, SensorHealth
from sensors.model import SensorKind, TargetClass
from tests.conftest import TEST_PASSWORD, bearer, sign_in
from tests.sensor_fixtures import ManualClock
from tests.test_store import SOROCA, T0, at, db_url, stages  # noqa: F401  (db_url: the fixture)


@pytest.fixture()
def app(river: RiverModel, graph: RouteGraph, db_url: str) -> Iterator[FastAPI]:  # noqa: F811
    settings = Settings(dispatch=DispatchSettings(fleet=FleetSettings(file=example_fleet_path())))
    yield create_app(settings, river, graph, store=Store(StorageSettings(url=db_url)))


def crew_says(app: FastAPI, asset: str, **msg: Any) -> None:
    reply = app.state.crew.handle(asset, json.dumps(msg))
    assert reply.type.value == "ack", reply.data


def test_every_stage_is_recorded_once_in_order_with_who_did_it(app: FastAPI) -> None:
    store: Store = app.state.store
    report = {"type": "person_in_water", "lon": SOROCA[0], "lat": SOROCA[1], "reporter": "fisherman"}
    with TestClient(app) as client:
        op, analyst, admin = (bearer(sign_in(app, r, a)) for r, a in (("operator", "MD"), ("analyst", "UA"),
                                                                      ("admin", "MD")))  # fmt: skip
        user = {"username": "ion", "password": TEST_PASSWORD, "role": "operator", "agency": "UA"}
        assert client.post("/api/users", json=user, headers=admin).status_code == 201
        assert client.post("/api/auth/login", json={"username": "ion", "password": "not his one"}).status_code == 401
        ion = bearer(
            client.post("/api/auth/login", json={"username": "Ion", "password": TEST_PASSWORD}).json()["token"]
        )
        iid = client.post("/api/incidents", json=report, headers=op).json()["id"]
        assert not store.has_stage(iid, Stage.ALERTED)  # nobody was watching
        with client.websocket_connect(f"/ws/live?token={analyst['Authorization'][7:]}") as live:
            assert live.receive_json()["type"] == "resync"
            assert store.has_stage(iid, Stage.ALERTED)
            second = client.post("/api/incidents", json=report, headers=op).json()["id"]
            assert store.has_stage(second, Stage.ALERTED)  # published while a socket was connected
        assert client.get(f"/api/incidents/{iid}", headers=analyst).status_code == 200  # an analyst: not an ack
        assert not store.has_stage(iid, Stage.ACKNOWLEDGED)
        assert client.get(f"/api/incidents/{iid}/recommendations?routes=0", headers=ion).status_code == 200
        assert client.get(f"/api/incidents/{iid}", headers=op).status_code == 200  # already acknowledged
        dispatched = client.post(f"/api/incidents/{iid}/dispatch", json={"asset_id": "MD-B3", "by": "typed name"},
                                 headers=op)  # fmt: skip
        assert dispatched.status_code == 201, dispatched.text
        oid = dispatched.json()["id"]
        crew_says(app, "MD-B3", type="accept", id="a1", order_id=oid)
        crew_says(app, "MD-B3", type="status", id="s1", status="en_route")
        crew_says(app, "MD-B3", type="status", id="s2", status="on_scene")
        assert client.post(f"/api/incidents/{iid}/close", json={"by": "typed"}, headers=op).status_code == 200
        assert client.get(f"/api/incidents/{iid}", headers=ion).status_code == 200  # closed: no late ack
        shown = client.get(f"/api/incidents/{iid}/stages", headers=analyst)
        assert client.get("/api/incidents/I9999/stages", headers=analyst).status_code == 404
    got = stages(Store(store.settings), iid)
    kept = [(e, t) for e, t, *_ in got if e != "closed"]  # the book's timeline entry is not a stage
    assert shown.status_code == 200, shown.text
    assert [(x["stage"], datetime.fromisoformat(x["time"])) for x in shown.json()] == kept
    assert [x["since_previous_s"] for x in shown.json()] == [None] + [
        (b - a).total_seconds() for (_, a), (_, b) in zip(kept, kept[1:])
    ]
    assert shown.json()[-1]["since_detected_s"] == (kept[-1][1] - kept[0][1]).total_seconds()
    assert [(e, actor, asset, agency) for e, _, actor, asset, agency in got] == [
        ("detected", "report:fisherman", None, None),
        ("alerted", None, None, None),
        ("acknowledged", "ion", None, "UA"),
        ("dispatched", "test-operator-md", "MD-B3", "MD"),
        ("accepted", "crew:MD-B3", "MD-B3", "MD"),
        ("under_way", "crew:MD-B3", "MD-B3", "MD"),
        ("on_scene", "crew:MD-B3", "MD-B3", "MD"),
        ("closed", "operator:typed", None, None),
        ("resolved", "test-operator-md", None, "MD"),
    ]
    times = [t for _, t, *_ in got]
    assert times == sorted(times)
    with Session(Store(store.settings).engine) as db:
        audit = db.execute(select(AuditRow.action, AuditRow.actor, AuditRow.target).order_by(AuditRow.id)).all()
    assert [tuple(a) for a in audit] == [
        ("user_add", "test-admin-md", "ion"), ("login_failed", "ion", "ion"), ("login", "ion", "ion"),
        ("report", "test-operator-md", iid), ("report", "test-operator-md", second),
        ("dispatch", "test-operator-md", oid), ("close", "test-operator-md", iid),
        ("cancel", "test-operator-md", oid),  # closing the incident cancels its open order
    ]  # fmt: skip


def track(tid: str, t: datetime, status: TrackStatus = TrackStatus.CONFIRMED) -> Track:
    return Track(tid, status, t, 0.0, 0.0, 3.0, 4.0, 28.3, 48.15, 12.0, TargetClass.VESSEL, 0.9, (), mmsi=None)


def sensor(sid: str, status: HealthStatus) -> SensorHealth:
    return SensorHealth(sid, SensorKind.AIS, "UA", status, None, 0.0, 0, {}, 10.0)


def test_the_keeper_downsamples_tracks_follows_sensors_and_positions_and_forgets_old_points(
    river: RiverModel,
    db_url: str,  # noqa: F811
) -> None:
    clock = ManualClock(T0)
    store = Store(StorageSettings(url=db_url, track_every_s=10, track_retention_days=30), clock.now)
    store.open()
    fleet = Fleet(load_fleet_file(example_fleet_path()).assets, T0)
    orders = OrderBook(fleet, IncidentBook(river, []), lambda _t, _d: None, persist=store.order_changed)
    store.put_assets(fleet.all())
    with store.transaction() as conn:
        old = {"track_id": "T0001", "lon": 28.3, "lat": 48.15, "speed_mps": 1.0, "target_class": "vessel",
               "cooperative": False, "mmsi": None}  # fmt: skip
        conn.execute(insert(TrackPointRow), [{**old, "time": T0 - timedelta(days=31)},
                                             {**old, "time": T0 - timedelta(days=29)}])  # fmt: skip
    tracks = [track("T0002", T0), track("T0003", T0), track("T0004", T0, TrackStatus.TENTATIVE)]
    health = [sensor("ais-1", HealthStatus.NO_DATA)]
    keeper = Keeper(store, lambda: tracks, lambda: health, fleet, orders, clock)
    asyncio.run(keeper.round())
    clock.t = at(5)
    tracks = [track("T0002", at(4)), track("T0003", T0)]
    health = [sensor("ais-1", HealthStatus.OK)]
    fleet.set_position("MD-B3", 28.29, 48.20, at(4), "ais")
    asyncio.run(keeper.round())  # tracks not due yet
    clock.t = at(10)
    asyncio.run(keeper.round())  # T0003 has not moved on since its last point
    with Session(store.engine) as db:
        points = db.execute(select(TrackPointRow.track_id, TrackPointRow.time).order_by(TrackPointRow.id)).all()
        assert [tuple(p) for p in points] == [("T0001", T0 - timedelta(days=29)), ("T0002", T0), ("T0003", T0),
                                              ("T0002", at(4))]  # fmt: skip
        statuses = db.execute(select(SensorHealthEventRow.time, SensorHealthEventRow.status)).all()
        assert [tuple(s) for s in statuses] == [(T0, "no_data"), (at(5), "ok")]
        md_b3 = db.scalars(select(AssetStateRow).where(AssetStateRow.id == "MD-B3")).one()
        assert (md_b3.lon, md_b3.lat, md_b3.position_time, md_b3.position_source) == (28.29, 48.20, at(4), "ais")
    store.close()
    again = Store(store.settings, clock.now)
    again.open()
    again.restore(at(20))
    assert again.sensor_health(health, at(20)) == 0  # the status kept is still the status: no new row
    again.close()
