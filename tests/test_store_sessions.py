"""Logins survive a restart when storage is on (SQLite and the real PostgreSQL): only the token's
SHA-256 is kept, a logout is kept too, and an expired token never comes back."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.api.app import create_app
from sar.auth.sessions import Grant, token_sha256
from sar.settings import Settings
from sar.store.config import StorageSettings
from sar.store.schema import SessionRow
from sar.store.store import Store
from tests.conftest import TEST_PASSWORD, bearer, sign_in
from tests.test_store import T0, db_url  # noqa: F401  (db_url: the fixture)


def server(river: RiverModel, graph: RouteGraph, url: str) -> TestClient:
    return TestClient(create_app(Settings(), river, graph, store=Store(StorageSettings(url=url))))


def test_a_login_survives_a_restart_and_a_logout_too(river: RiverModel, graph: RouteGraph, db_url: str) -> None:  # noqa: F811
    with server(river, graph, db_url) as first:
        admin = bearer(sign_in(first.app, "admin", "MD"))  # type: ignore[arg-type]
        user = {"username": "maria", "password": TEST_PASSWORD, "role": "operator", "agency": "MD"}
        assert first.post("/api/users", json=user, headers=admin).status_code == 201
        tokens = [
            first.post("/api/auth/login", json={"username": "maria", "password": TEST_PASSWORD}).json()["token"]
            for _ in range(2)
        ]
    with Session(Store(StorageSettings(url=db_url)).engine) as db:
        kept = set(db.scalars(select(SessionRow.token_sha256)))
    assert {token_sha256(t) for t in tokens} <= kept and not kept & set(tokens)  # hashes only
    with server(river, graph, db_url) as second:  # a new process on the same database
        me = second.get("/api/auth/me", headers=bearer(tokens[0]))
        assert me.status_code == 200 and me.json()["username"] == "maria"
        assert second.post("/api/auth/logout", headers=bearer(tokens[0])).status_code in (200, 204)
    with server(river, graph, db_url) as third:
        assert third.get("/api/auth/me", headers=bearer(tokens[0])).status_code == 401  # logged out stays out
        assert third.get("/api/auth/me", headers=bearer(tokens[1])).status_code == 200


def test_expired_grants_are_not_loaded_and_are_dropped(db_url: str) -> None:  # noqa: F811
    store = Store(StorageSettings(url=db_url), clock=lambda: T0)
    store.open()
    try:
        store.save_session(Grant("old", T0 - timedelta(seconds=1), "a" * 64))
        store.save_session(Grant("new", T0 + timedelta(hours=1), "b" * 64))
        assert [(g.username, g.token_sha256) for g in store.load_sessions()] == [("new", "b" * 64)]
        store.save_session(Grant("newer", T0 + timedelta(hours=2), "c" * 64))  # drops the expired one
        with Session(store.engine) as db:
            assert set(db.scalars(select(SessionRow.username))) == {"new", "newer"}
    finally:
        store.close()
