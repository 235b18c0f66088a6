"""Users, tokens and roles in process (the real app, its real user store on a temporary file, a
manual clock for expiry and back-off): login, 401 on every route without a token, 403 for the
wrong role, crews kept to their own boat, expiry, logout, argon2 hashes in the users file, and
the websockets' close codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.api.app import ROUTERS, create_app
from sar.auth.config import AuthSettings
from sar.auth.service import Auth
from sar.auth.sessions import LoginBackoff, Sessions
from sar.auth.users import Language, Role, User, UserStore
from sar.dispatch.config import DispatchSettings
from sar.dispatch.fleet import Agency, FleetSettings, example_fleet_path
from sar.settings import Settings
from tests.conftest import TEST_PASSWORD, bearer, sign_in
from tests.sensor_fixtures import T0, ManualClock

TTL = timedelta(hours=12)  # auth.token_ttl_h default
OPEN = {("POST", "/api/auth/login"), ("GET", "/api/health")}
CREW_MAY = {
    ("GET", "/api/auth/me"),
    ("PATCH", "/api/auth/me"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/geo/layers"),
    ("GET", "/api/geo/locate"),
    ("GET", "/api/routes/eta"),
    ("GET", "/api/orders"),
    ("GET", "/api/orders/{order_id}"),
}
ADMIN_ONLY = {("GET", "/api/users"), ("POST", "/api/users")}


def _api_routes(routes: list[Any]) -> list[tuple[str, str]]:
    return sorted(
        (method, r.path)
        for r in routes
        if isinstance(r, APIRoute) and r.path.startswith("/api/")
        for method in r.methods
        if method != "HEAD"
    )


# Every HTTP route of every router the app includes: the parameters below are taken from the
# routers; test_the_checked_routes_are_all_the_apps makes sure they are all of the app's.
ROUTES = _api_routes([r for module in ROUTERS for r in module.router.routes])
GUARDED = [r for r in ROUTES if r not in OPEN]


def concrete(path: str) -> str:
    """A path with its parameters filled in (the guard answers before the route looks them up)."""
    return path.replace("{", "").replace("}", "").replace("_id", "-1")


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("auth") / "users.json"


@pytest.fixture(scope="module")
def app(river: RiverModel, graph: RouteGraph, clock: ManualClock, users_file: Path) -> FastAPI:
    settings = Settings(
        dispatch=DispatchSettings(fleet=FleetSettings(file=example_fleet_path())),
        auth=AuthSettings(users_file=users_file),
    )
    auth = Auth(UserStore(users_file), Sessions(TTL.total_seconds(), clock), LoginBackoff(clock, 5, 60.0))
    return create_app(settings, river, graph, auth=auth)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:  # no token of its own: each test says whose it uses
        yield c


def add_user(app: FastAPI, username: str, role: Role, agency: Agency = Agency.MD, asset_id: str | None = None) -> None:
    if app.state.auth.users.get(username) is None:
        app.state.auth.users.add(User(username, role, agency, asset_id), TEST_PASSWORD)


def login(client: TestClient, username: str, password: str = TEST_PASSWORD) -> Any:
    return client.post("/api/auth/login", json={"username": username, "password": password})


def request(client: TestClient, method: str, path: str, token: str | None) -> Any:
    return client.request(method, concrete(path), headers=bearer(token) if token else {})


# -- login -----------------------------------------------------------------------------------------


def test_login_gives_a_token_and_a_wrong_password_or_name_the_same_401(app: FastAPI, client: TestClient) -> None:
    add_user(app, "olena", Role.OPERATOR, Agency.UA)
    r = login(client, "Olena")  # names are case-insensitive
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"] == {"username": "olena", "role": "operator", "agency": "UA", "asset_id": None, "language": "en"}
    assert len(body["token"]) == 43  # 32 random bytes, URL-safe base64
    assert body["expires_at"] == (T0 + TTL).isoformat().replace("+00:00", "Z")
    assert client.get("/api/auth/me", headers=bearer(body["token"])).json() == body["user"]
    wrong_password, unknown_name = login(client, "olena", "not her password"), login(client, "nobody", TEST_PASSWORD)
    for r in (wrong_password, unknown_name):
        assert (r.status_code, r.json()) == (401, {"detail": "wrong username or password"})
    assert client.post("/api/auth/login", json={"username": "olena"}).status_code == 422


def test_repeated_failures_make_that_name_wait(app: FastAPI, client: TestClient, clock: ManualClock) -> None:
    add_user(app, "petru", Role.OPERATOR)
    for _ in range(5):
        assert login(client, "petru", "guess-guess-guess").status_code == 401
    r = login(client, "petru")  # the right password, but during the back-off
    assert r.status_code == 429 and r.headers["retry-after"] == "1", r.text
    assert login(client, "olena").status_code == 200  # other names are not held up
    clock.t += timedelta(seconds=1)
    assert login(client, "petru").status_code == 200


# -- every route is guarded ------------------------------------------------------------------------


def test_the_checked_routes_are_all_the_apps(app: FastAPI) -> None:
    """The app's own list (its OpenAPI schema) has exactly the routes checked here."""
    served = sorted((m.upper(), p) for p, ops in app.openapi()["paths"].items() if p.startswith("/api/") for m in ops)
    assert served == ROUTES
    assert len(GUARDED) >= 25  # (a sanity check that the list was found at all)
    sockets = {r.path for module in ROUTERS for r in module.router.routes if isinstance(r, APIWebSocketRoute)}
    assert sockets == {"/ws/live", "/ws/crew"}


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_no_token_is_401_on_every_route(client: TestClient, method: str, path: str) -> None:
    r = request(client, method, path, None)
    assert r.status_code == 401 and r.json()["detail"].startswith("missing token"), r.text
    assert r.headers["www-authenticate"] == "Bearer"
    r = request(client, method, path, "not-a-token")
    assert r.status_code == 401 and "invalid or expired token" in r.json()["detail"], r.text


@pytest.mark.parametrize(("method", "path"), [r for r in GUARDED if r not in CREW_MAY])
def test_a_crew_token_is_403_on_operator_routes(app: FastAPI, client: TestClient, method: str, path: str) -> None:
    r = request(client, method, path, sign_in(app, "crew", "MD", "MD-B2"))
    need = "admin" if (method, path) in ADMIN_ONLY else "operator or admin" if method != "GET" else None
    need = need or "operator, admin or analyst"
    assert (r.status_code, r.json()) == (403, {"detail": f"{method} {concrete(path)} needs role {need} (you are crew)"})


@pytest.mark.parametrize(
    ("method", "path"), [r for r in GUARDED if r[0] != "GET" and not r[1].startswith("/api/auth/")]
)
def test_an_analyst_cannot_change_anything(app: FastAPI, client: TestClient, method: str, path: str) -> None:
    r = request(client, method, path, sign_in(app, "analyst"))
    need = "admin" if (method, path) in ADMIN_ONLY else "operator or admin"
    assert (r.status_code, r.json()) == (
        403,
        {"detail": f"{method} {concrete(path)} needs role {need} (you are analyst)"},
    )


def test_an_analyst_reads_and_a_crew_reads_the_river(app: FastAPI, client: TestClient) -> None:
    analyst, crew = bearer(sign_in(app, "analyst")), bearer(sign_in(app, "crew", "UA", "UA-B2"))
    for path in ("/api/incidents", "/api/assets", "/api/tracks", "/api/sensors", "/api/coverage", "/api/orders"):
        assert client.get(path, headers=analyst).status_code == 200, path
    assert client.get("/api/geo/locate", params={"lon": 27.8, "lat": 48.437}, headers=crew).json()["side"] == "MD"
    assert client.get("/api/geo/layers", headers=crew).status_code == 200
    q = {"from_lon": 27.8, "from_lat": 48.437, "to_lon": 27.81565, "to_lat": 48.42668}
    assert client.get("/api/routes/eta", params=q, headers=crew).status_code == 200
    assert client.get("/api/health").status_code == 200  # open
    for path in ("/", "/openapi.json", "/docs", "/static/app.js"):
        assert client.get(path).status_code == 200, path  # open: the pages log in themselves
    assert client.get("/crew").status_code != 401


def test_operators_of_both_agencies_share_boats_and_incidents(app: FastAPI, client: TestClient) -> None:
    md, ua = bearer(sign_in(app, "operator", "MD")), bearer(sign_in(app, "operator", "UA"))
    body = {"type": "person_in_water", "lon": 28.3047, "lat": 48.1580, "reporter": "fisherman"}
    made = client.post("/api/incidents", json=body, headers=md).json()
    assert client.get(f"/api/incidents/{made['id']}", headers=ua).json()["id"] == made["id"]
    assert {a["agency"] for a in client.get("/api/assets", headers=md).json()} == {"MD", "UA"}
    assert client.get("/api/assets", headers=md).json() == client.get("/api/assets", headers=ua).json()
    order = client.post(f"/api/incidents/{made['id']}/dispatch", json={"asset_id": "UA-B3", "by": "md"}, headers=md)
    assert order.status_code == 201, order.text
    assert client.post(f"/api/orders/{order.json()['id']}/cancel", json={"by": "ua"}, headers=ua).status_code == 200


def test_a_crew_sees_only_its_own_boats_orders(app: FastAPI, client: TestClient) -> None:
    op = bearer(sign_in(app, "operator"))
    body = {"type": "person_in_water", "lon": 28.3047, "lat": 48.1580, "reporter": "fisherman"}
    iid = client.post("/api/incidents", json=body, headers=op).json()["id"]
    mine = client.post(f"/api/incidents/{iid}/dispatch", json={"asset_id": "MD-B3", "by": "op"}, headers=op).json()
    other = client.post(f"/api/incidents/{iid}/dispatch", json={"asset_id": "MD-B4", "by": "op"}, headers=op).json()
    crew = bearer(sign_in(app, "crew", "MD", "MD-B3"))
    assert [o["id"] for o in client.get("/api/orders", headers=crew).json()] == [mine["id"]]
    assert {mine["id"], other["id"]} <= {o["id"] for o in client.get("/api/orders", headers=op).json()}
    assert client.get(f"/api/orders/{mine['id']}", headers=crew).json()["asset_id"] == "MD-B3"
    r = client.get(f"/api/orders/{other['id']}", headers=crew)
    assert r.status_code == 403 and r.json()["detail"].startswith(f"order {other['id']} is for another asset")
    assert client.post(f"/api/orders/{mine['id']}/cancel", json={"by": "crew"}, headers=crew).status_code == 403
    for order in (mine, other):
        assert client.post(f"/api/orders/{order['id']}/cancel", json={"by": "op"}, headers=op).status_code == 200


# -- tokens ----------------------------------------------------------------------------------------


def test_a_token_expires_after_the_ttl(app: FastAPI, client: TestClient, clock: ManualClock) -> None:
    token = sign_in(app, "operator")
    clock.t += TTL - timedelta(seconds=1)
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    clock.t += timedelta(seconds=1)
    r = client.get("/api/auth/me", headers=bearer(token))
    assert (r.status_code, r.json()) == (401, {"detail": "invalid or expired token: log in again"})


def test_logout_revokes_only_that_token(app: FastAPI, client: TestClient) -> None:
    add_user(app, "ion", Role.OPERATOR)
    first, second = login(client, "ion").json()["token"], login(client, "ion").json()["token"]
    assert client.post("/api/auth/logout", headers=bearer(first)).json() == {"revoked": True, "username": "ion"}
    assert client.get("/api/incidents", headers=bearer(first)).status_code == 401
    assert client.post("/api/auth/logout", headers=bearer(first)).status_code == 401
    assert client.get("/api/incidents", headers=bearer(second)).status_code == 200


def test_the_live_socket_needs_a_reader_and_closes_when_the_token_goes(app: FastAPI, client: TestClient) -> None:
    for query, code, reason in [
        ("", 4401, "missing, invalid or expired token"),
        ("?token=forged", 4401, "missing, invalid or expired token"),
        (f"?token={sign_in(app, 'crew', 'MD', 'MD-B1')}", 4403, "needs role operator, admin or analyst"),
    ]:
        with client.websocket_connect("/ws/live" + query) as ws, pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert (closed.value.code, closed.value.reason) == (code, reason)
    analyst, op = sign_in(app, "analyst"), bearer(sign_in(app, "operator"))
    with client.websocket_connect(f"/ws/live?token={analyst}") as ws:
        assert ws.receive_json()["type"] == "resync"
        assert client.post("/api/auth/logout", headers=bearer(analyst)).status_code == 200
        report = {"lon": 28.3047, "lat": 48.1580, "reporter": "fisherman"}
        assert client.post("/api/incidents", json=report, headers=op).status_code == 201  # something to send
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert (closed.value.code, closed.value.reason) == (4401, "token expired or logged out: log in again")


# -- users -----------------------------------------------------------------------------------------


def test_the_admin_adds_users_whose_password_is_kept_only_as_an_argon2_hash(
    app: FastAPI, client: TestClient, users_file: Path
) -> None:
    admin = bearer(sign_in(app, "admin"))
    password = "a long crew passphrase 7"
    new = {"username": "mihai", "password": password, "role": "crew", "agency": "MD", "asset_id": "MD-B5"}
    r = client.post("/api/users", json=new, headers=admin)
    assert (r.status_code, r.json()) == (
        201,
        {"username": "mihai", "role": "crew", "agency": "MD", "asset_id": "MD-B5", "language": "en"},
    )
    text = users_file.read_text(encoding="utf-8")
    assert password not in text
    (stored,) = [u for u in json.loads(text)["users"] if u["username"] == "mihai"]
    assert stored["password_hash"].startswith("$argon2id$")
    assert PasswordHasher().verify(stored["password_hash"], password)
    assert users_file.stat().st_mode & 0o777 == 0o600
    assert client.post("/api/users", json=new, headers=admin).status_code == 409
    assert "mihai" in [u["username"] for u in client.get("/api/users", headers=admin).json()]
    short = {**new, "username": "dan", "password": "short"}
    assert client.post("/api/users", json=short, headers=admin).status_code == 422
    assert client.get("/api/users", headers=bearer(sign_in(app, "operator"))).status_code == 403


def test_language_is_switched_per_user_and_kept(app: FastAPI, client: TestClient, users_file: Path) -> None:
    add_user(app, "natalia", Role.ANALYST, Agency.UA)
    token = bearer(login(client, "natalia").json()["token"])
    assert client.patch("/api/auth/me", json={"language": "uk"}, headers=token).json()["language"] == "uk"
    assert client.get("/api/auth/me", headers=token).json()["language"] == "uk"
    assert UserStore(users_file).get("natalia") == User("natalia", Role.ANALYST, Agency.UA, language=Language.UK)
    r = client.patch("/api/auth/me", json={"language": "de"}, headers=token)
    assert r.status_code == 422 and "language" in r.json()["detail"]
    assert login(client, "natalia").json()["user"]["language"] == "uk"
