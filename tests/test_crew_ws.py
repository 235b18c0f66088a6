"""The crew channel: per-asset seq and resume, idempotent crew messages, eviction that spares the
open order; then ``/ws/crew`` against a real server process: orders reach the crew, answers and
statuses show in the API and on ``/ws/live``, unanswered orders escalate, missed orders arrive once
after a reconnect, tokens are checked, crews are kept apart, bad messages are answered; and the
crew client as a library and as ``python -m sar crew``."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from geo.river import RiverModel
from sar.crew_client import CrewClient
from sar.dispatch.crew import CrewChannel, MessageType
from sar.dispatch.fleet import Fleet, example_fleet_path, hash_token, load_fleet_file
from sar.dispatch.orders import OrderBook, OrderState
from sar.incidents.book import IncidentBook
from tests.conftest import REPO, TEST_PASSWORD, Server, http_json, login, start_server, stop_server

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
INCIDENT_AT = (28.3057, 48.1566)  # on the water at Soroca, north section km 106.92


# -- the channel, in process ----------------------------------------------------------------------


@pytest.fixture()
def channel(river: RiverModel) -> tuple[CrewChannel, OrderBook, str]:
    fleet = Fleet(load_fleet_file(example_fleet_path()).assets, T0)
    incidents = IncidentBook(river, [])
    iid = incidents.report("person_in_water", *INCIDENT_AT, T0, "fisherman", "man overboard").id
    orders = OrderBook(fleet, incidents, lambda _t, _d: None, 60.0)
    crew = CrewChannel(fleet, orders, incidents, lambda: T0)
    orders.add_listener(crew.on_order_change)
    return crew, orders, iid


def position(mid: str, lon: float = 28.29, lat: float = 48.23) -> str:
    return json.dumps({"type": "position", "id": mid, "lon": lon, "lat": lat, "time": T0.isoformat(), "accuracy_m": 8})


def test_resume_gets_every_message_after_since_and_a_fresh_one_its_open_order(
    channel: tuple[CrewChannel, OrderBook, str],
) -> None:
    crew, orders, iid = channel
    for i in range(3):
        crew.handle("MD-B3", position(f"p{i}"))  # seq 1-3: acks
    order = orders.dispatch(iid, "MD-B3", "op", T0)  # seq 4: the order
    crew.handle("MD-B3", position("p3"))  # seq 5
    resumed = crew.connect("MD-B3", since=2, epoch=crew.epoch)
    assert [m.seq for m in resumed.backlog] == [3, 4, 5] and resumed.hello.seq == 2
    assert resumed.hello.data["resumed"] and resumed.hello.data["latest_seq"] == 5
    fresh = crew.connect("MD-B3", since=None)
    assert [(m.seq, m.type) for m in fresh.backlog] == [(4, MessageType.ORDER)] and fresh.hello.seq == 0
    assert fresh.hello.data["open_order"]["id"] == order.id
    other_run = crew.connect("MD-B3", since=2, epoch="an-old-run")
    assert other_run.hello.data["reset"] and [m.seq for m in other_run.backlog] == [4]
    ahead = crew.connect("MD-B3", since=99, epoch=crew.epoch)
    assert ahead.hello.data["reset"] and [m.seq for m in ahead.backlog] == [4]
    assert crew.connect("UA-B3", since=None).backlog == []  # another asset's stream is separate
    crew.handle("MD-B3", position("p4"))
    assert resumed.sub.queue.get_nowait().seq == 6 and fresh.sub.queue.get_nowait().seq == 6  # every connection


def test_a_resent_message_id_is_applied_once_and_answered_alike(channel: tuple[CrewChannel, OrderBook, str]) -> None:
    crew, orders, iid = channel
    order = orders.dispatch(iid, "UA-B3", "op", T0)
    accept = json.dumps({"type": "accept", "id": "acc-1", "order_id": order.id})
    first, again = crew.handle("UA-B3", accept), crew.handle("UA-B3", accept)
    assert first is not None and again is not None
    assert first.type is MessageType.ACK and first.data == again.data and first.id != again.id
    assert first.data == {"ref": "acc-1", "type": "accept", "result": {"order_id": order.id, "state": "accepted",
                                                                       "applied": True}}  # fmt: skip
    assert [h.state for h in orders.get(order.id).history] == [OrderState.SENT, OrderState.ACCEPTED]
    other_device = crew.handle("UA-B3", json.dumps({"type": "accept", "id": "acc-2", "order_id": order.id}))
    assert other_device is not None and other_device.data["result"]["applied"] is False
    kinds = [m.type for m in crew.messages("UA-B3")]
    assert kinds == [MessageType.ORDER, MessageType.ORDER_UPDATE, MessageType.ACK, MessageType.ACK, MessageType.ACK]


@pytest.mark.parametrize(
    ("text", "ref", "message"),
    [
        ("{oops", None, "invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ("[1, 2]", None, "a message is a JSON object with a 'type'"),
        ('{"type": "teleport", "id": "t1"}', "t1",
         "unknown message type 'teleport'; expected one of accept, decline, status, position, hello"),
        ('{"type": "accept", "id": "a1"}', "a1", "invalid accept message: order_id: Field required"),
        ('{"type": "status", "id": "s1", "status": "fishing"}', "s1",
         "invalid status message: status: Input should be 'en_route', 'on_scene', 'returning' or 'available'"),
        ('{"type": "position", "id": "p1", "lon": 28.3, "lat": 48.2, "time": "2026-11-28T03:00:00", "accuracy_m": 5}',
         "p1", "invalid position message: time: Input should have timezone info"),
        ('{"type": "accept", "id": "a2", "order_id": "O0404"}', "a2", "no order 'O0404' for asset MD-B3"),
        ('{"type": "status", "id": "s2", "status": "on_scene"}', "s2", "no open order: status on_scene needs one"),
        (position("p9").replace(T0.isoformat(), (T0 + timedelta(hours=1)).isoformat()), "p9",
         "position time 2026-11-28T04:00:00+00:00 is in the future (server time 2026-11-28T03:00:00+00:00)"),
    ],
)  # fmt: skip
def test_bad_messages_are_answered_with_an_error(
    channel: tuple[CrewChannel, OrderBook, str], text: str, ref: str | None, message: str
) -> None:
    crew, _, _ = channel
    reply = crew.handle("MD-B3", text)
    assert reply is not None and reply.type is MessageType.ERROR
    assert reply.data["ref"] == ref and reply.data["message"] == message


def test_the_cap_evicts_oldest_messages_but_never_the_open_orders(channel: tuple[CrewChannel, OrderBook, str]) -> None:
    crew, orders, iid = channel
    crew.cap = 4
    old = orders.dispatch(iid, "MD-B2", "op", T0)
    orders.cancel(old.id, "op", T0)  # seq 1, 2: a closed order's messages may go
    order = orders.dispatch(iid, "MD-B2", "op", T0)  # seq 3: must stay while open
    for i in range(6):
        crew.handle("MD-B2", position(f"p{i}"))  # seq 4-9
    kept = crew.messages("MD-B2")
    assert [m.seq for m in kept] == [3, 7, 8, 9] and kept[0].order_id == order.id


# -- the real server ------------------------------------------------------------------------------

BOATS = {  # id: (agency, call sign, base, lon, lat, speed m/s, readiness min) -- bases of the example fleet
    "MD-B1": ("MD", "Nistru 1", "Naslavcea", 27.588039, 48.465791, 12.0, 8),
    "MD-B2": ("MD", "Nistru 2", "Otaci", 27.801931, 48.435256, 15.0, 5),
    "MD-B3": ("MD", "Nistru 3", "Cosauti", 28.287864, 48.231728, 12.0, 10),
    "MD-B4": ("MD", "Nistru 4", "Vasilcau", 28.426053, 48.13496, 5.0, 15),
    "UA-B1": ("UA", "Dnister 1", "Serebriia", 27.717626, 48.453244, 14.0, 7),
    "UA-B2": ("UA", "Dnister 2", "Mohyliv-Podilskyi", 27.796077, 48.440635, 16.0, 5),
    "UA-B3": ("UA", "Dnister 3", "Yampil", 28.289473, 48.234536, 12.0, 10),
    "MD-B5": ("MD", "Nistru 5", "Purcari", 29.877292, 46.542452, 12.0, 10),
    "UA-B4": ("UA", "Dnister 4", "UA post, south km 12", 29.928793, 46.502437, 14.0, 8),
    "MD-B6": ("MD", "Nistru 6", "Tudora", 30.040339, 46.442207, 14.0, 8),
}
OUT_OF_SERVICE = "MD-B6"


def token(asset_id: str) -> str:
    return f"crew-token-{asset_id.lower()}"


def config(path: Path, ack_deadline_s: float, ids: list[str]) -> Path:
    lines = [f"[dispatch]\nack_deadline_s = {ack_deadline_s}\n"]
    for i in ids:
        agency, call_sign, base, lon, lat, speed, ready = BOATS[i]
        lines.append(
            f'[[dispatch.fleet.assets]]\nid = "{i}"\nagency = "{agency}"\ncall_sign = "{call_sign}"\n'
            f'base = {{ name = "{base}", lon = {lon}, lat = {lat} }}\nspeed_mps = {speed}\nreadiness_min = {ready}\n'
            f'token_sha256 = "{hash_token(token(i))}"\nout_of_service = {str(i == OUT_OF_SERVICE).lower()}\n'
        )
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cfg = config(tmp_path_factory.mktemp("crew") / "c.toml", 60.0, [*BOATS])
    srv = start_server(["serve", "--config", str(cfg)])
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Crews must answer within 1 s here."""
    cfg = config(tmp_path_factory.mktemp("crew") / "fast.toml", 1.0, ["MD-B1", "MD-B3", "MD-B4"])
    srv = start_server(["serve", "--config", str(cfg)])
    yield srv
    stop_server(srv)


def call(srv: Server, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """As the server's operator."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(srv.url + path, data=data, method="POST" if body is not None else "GET",
                                 headers={"Content-Type": "application/json", **srv.headers})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def incident(srv: Server) -> str:
    status, body = call(srv, "/api/incidents", {"type": "person_in_water", "lon": INCIDENT_AT[0],
                                                "lat": INCIDENT_AT[1], "reporter": "fisherman"})  # fmt: skip
    assert status == 201, body
    return str(body["id"])


def dispatch(srv: Server, incident_id: str, asset_id: str) -> dict[str, Any]:
    status, body = call(srv, f"/api/incidents/{incident_id}/dispatch", {"asset_id": asset_id, "by": "operator md-1"})
    assert status == 201, body
    return dict(body)


def crew_socket(srv: Server, asset_id: str, query: str = "", header: bool = True) -> ClientConnection:
    url = srv.url.replace("http://", "ws://") + "/ws/crew" + query
    return connect(url, additional_headers={"Authorization": f"Bearer {token(asset_id)}"} if header else None)


def live_socket(srv: Server) -> ClientConnection:
    """The operator's /ws/live."""
    return connect(srv.url.replace("http", "ws") + f"/ws/live?token={srv.token}")


def recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return dict(json.loads(ws.recv(timeout=timeout)))


def until(ws: ClientConnection, match: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> list[dict[str, Any]]:
    """Messages up to and including the first that matches."""
    seen, deadline = [], time.monotonic() + timeout
    while True:
        seen.append(recv(ws, max(0.01, deadline - time.monotonic())))
        if match(seen[-1]):
            return seen


def nothing_within(ws: ClientConnection, seconds: float) -> bool:
    try:
        ws.recv(timeout=seconds)
    except TimeoutError:
        return True
    return False


def hello(ws: ClientConnection, last_seq: int | None = None, epoch: str | None = None) -> dict[str, Any]:
    ws.send(json.dumps({"type": "hello", "last_seq": last_seq, "epoch": epoch}))
    first = recv(ws)
    assert first["type"] == "hello", first
    return first


def send(ws: ClientConnection, **msg: Any) -> None:
    ws.send(json.dumps(msg))


def test_an_order_reaches_the_crew_and_its_progress_shows_in_the_api_and_live(server: Server) -> None:
    iid = incident(server)
    with crew_socket(server, "MD-B3") as ws, live_socket(server) as live:
        assert recv(live)["type"] == "resync"
        assert hello(ws)["data"]["asset"]["status"] == "available"
        order = dispatch(server, iid, "MD-B3")
        got = recv(ws)
        assert got["type"] == "order" and got["data"]["id"] == order["id"] and got["data"]["state"] == "sent"
        where = got["data"]["incident"]
        assert where["id"] == iid and where["river_km"] == pytest.approx(106.92, abs=0.01)
        send(ws, type="accept", id="acc-md-b3", order_id=order["id"])
        update, ack = recv(ws), recv(ws)
        assert (update["type"], update["data"]["state"]) == ("order_update", "accepted")
        assert ack["type"] == "ack" and ack["data"]["ref"] == "acc-md-b3" and ack["data"]["result"]["applied"] is True
        send(ws, type="status", id="st-1", status="en_route", order_id=order["id"])
        until(ws, lambda m: m["type"] == "ack" and m["data"]["ref"] == "st-1")
        assert call(server, f"/api/orders/{order['id']}")[1]["state"] == "en_route"
        assert order["id"] in [o["id"] for o in call(server, "/api/orders?open=true")[1]]
        asset = next(a for a in call(server, "/api/assets")[1] if a["id"] == "MD-B3")
        assert (asset["status"], asset["order_id"]) == ("en_route", order["id"])
        feed = until(
            live, lambda m: m["type"] == "asset" and (m["data"]["id"], m["data"]["status"]) == ("MD-B3", "en_route")
        )
        states = [m["data"]["state"] for m in feed if m["type"] == "order" and m["data"]["id"] == order["id"]]
        assert states == ["sent", "accepted", "en_route"]
        seqs = [m["seq"] for m in feed]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # the live feed's own seq has no gaps


def test_an_unanswered_order_escalates_at_its_deadline(fast_server: Server) -> None:
    srv = fast_server
    iid = incident(srv)
    with crew_socket(srv, "MD-B3") as ws, live_socket(srv) as live:
        recv(live)
        hello(ws)
        order = dispatch(srv, iid, "MD-B3")
        assert recv(ws)["type"] == "order"
        update = recv(ws, timeout=4.0)  # deadline 1 s, checked every 0.1 s
        assert (update["type"], update["data"]["state"]) == ("order_update", "expired")
        alert = until(live, lambda m: m["type"] == "order" and m["data"]["state"] == "expired")[-1]["data"]
        assert alert["alert"] == f"order {order['id']} to Nistru 3 (MD-B3) expired: not acknowledged within 1 s"
        # next by water: Vasilcau, 18.95 km downstream (Naslavcea, 96.3 km upstream, is far behind).
        # The person drifts towards it at 0.8 m/s: 15 min readiness, then the boat closes at
        # (5 - 0.8) + 0.8 m/s on what is left of the gap: the intercept, not the first position.
        assert alert["proposal"]["asset_id"] == "MD-B4"
        assert alert["proposal"]["eta_s"] == pytest.approx(15 * 60 + (18_954 - 0.8 * 15 * 60) / 5.0, rel=0.02)
        send(ws, type="accept", id="late-1", order_id=order["id"])
        err = until(ws, lambda m: m["type"] == "error")[-1]
        assert err["data"] == {"ref": "late-1", "type": "accept", "message": "order expired"}
    assert call(srv, f"/api/orders/{order['id']}")[1]["state"] == "expired"
    with crew_socket(srv, "MD-B4") as ws, live_socket(srv) as live:
        recv(live)
        hello(ws)
        second = dispatch(srv, iid, "MD-B4")
        recv(ws)
        send(ws, type="decline", id="dec-1", order_id=second["id"], reason="engine failure")
        declined = until(live, lambda m: m["type"] == "order" and m["data"]["state"] == "declined")[-1]["data"]
        assert declined["proposal"]["asset_id"] == "MD-B1"  # MD-B3 and MD-B4 both tried


def test_a_missed_order_arrives_exactly_once_after_a_reconnect(server: Server) -> None:
    iid = incident(server)
    with crew_socket(server, "UA-B3") as ws:
        first = hello(ws)
    epoch, last_seq = first["data"]["epoch"], first["data"]["latest_seq"]
    order = dispatch(server, iid, "UA-B3")  # the crew is away: order and cancel are missed
    assert call(server, f"/api/orders/{order['id']}/cancel", {"by": "operator ua-1", "reason": "found"})[0] == 200
    with crew_socket(server, "UA-B3", f"?since={last_seq}&epoch={epoch}") as ws:
        got = until(ws, lambda m: m["type"] == "cancel")
        n = last_seq
        assert [(m["type"], m["seq"]) for m in got] == [("hello", n), ("order", n + 1), ("cancel", n + 2)]
        assert got[0]["data"]["resumed"] is True and got[1]["data"]["id"] == order["id"]
        assert got[2]["data"]["order_id"] == order["id"] and got[2]["data"]["reason"] == "found"
        assert nothing_within(ws, 0.5)  # each once
    with crew_socket(server, "UA-B3") as ws:  # resume by a hello message: only what follows the order
        again = hello(ws, last_seq + 1, epoch)
        assert again["seq"] == last_seq + 1 and recv(ws)["type"] == "cancel" and nothing_within(ws, 0.5)


def test_a_resent_accept_is_applied_once(server: Server) -> None:
    iid = incident(server)
    with crew_socket(server, "MD-B2") as ws:
        hello(ws)
        order = dispatch(server, iid, "MD-B2")
        recv(ws)
        for _ in range(2):
            send(ws, type="accept", id="acc-once", order_id=order["id"])
        acks: list[dict[str, Any]] = []
        while len(acks) < 2:
            acks += [m for m in [recv(ws)] if m["type"] == "ack"]
        assert [a["data"] for a in acks] == [acks[0]["data"]] * 2 and acks[0]["data"]["result"]["state"] == "accepted"
        assert acks[0]["id"] != acks[1]["id"] and acks[1]["seq"] == acks[0]["seq"] + 1
    history = call(server, f"/api/orders/{order['id']}")[1]["history"]
    assert [h["state"] for h in history] == ["sent", "accepted"]


@pytest.mark.parametrize(
    ("query", "headers"),
    [("?token=not-a-crew", None), ("", None), ("", {"Authorization": "Bearer not-a-crew"})],
    ids=["bad-query-token", "no-token", "bad-header-token"],
)
def test_a_bad_token_is_refused(server: Server, query: str, headers: dict[str, str] | None) -> None:
    with connect(server.url.replace("http", "ws") + "/ws/crew" + query, additional_headers=headers) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "unknown or missing crew token")


@pytest.fixture(scope="module")
def crew_user(server: Server) -> str:
    """A login token of the crew user of UA-B3, made by the admin."""
    user = {"username": "crew-ua-b3", "password": TEST_PASSWORD, "role": "crew", "agency": "UA", "asset_id": "UA-B3"}
    status, body = http_json(server.url + "/api/users", user, server.admin_token)
    assert status == 201, body
    return login(server.url, "crew-ua-b3", TEST_PASSWORD)


def test_a_crew_user_gets_its_boats_orders_and_sees_no_other(server: Server, crew_user: str) -> None:
    iid = incident(server)
    with connect(server.url.replace("http", "ws") + f"/ws/crew?token={crew_user}") as ws:
        assert hello(ws)["data"]["asset"]["id"] == "UA-B3"
        mine = dispatch(server, iid, "UA-B3")
        assert recv(ws)["data"]["id"] == mine["id"]
        send(ws, type="accept", id="crew-user-1", order_id=mine["id"])
        until(ws, lambda m: m["type"] == "ack")
    other = dispatch(server, iid, "UA-B1")
    assert {o["id"] for o in call(server, "/api/orders?open=true")[1]} >= {mine["id"], other["id"]}
    status, listed = http_json(server.url + "/api/orders?open=true", token=crew_user)
    assert status == 200 and [o["id"] for o in listed] == [mine["id"]]
    status, body = http_json(server.url + f"/api/orders/{mine['id']}", token=crew_user)
    assert status == 200 and body["state"] == "accepted"
    assert http_json(server.url + f"/api/orders/{other['id']}", token=crew_user) == (
        403,
        {"detail": f"order {other['id']} is for another asset: a crew sees only its own boat's orders"},
    )
    assert http_json(server.url + "/api/incidents", token=crew_user) == (
        403,
        {"detail": "GET /api/incidents needs role operator, admin or analyst (you are crew)"},
    )
    for order in (mine, other):
        assert call(server, f"/api/orders/{order['id']}/cancel", {"by": "op"})[0] == 200
    logged = "".join(server.lines)
    assert "/ws/crew?token=***" in logged and crew_user not in logged  # no usable token in the server's log


@pytest.mark.parametrize(
    ("path", "who", "code", "reason"),
    [
        ("/ws/live", "", 4401, "missing, invalid or expired token"),
        ("/ws/live", "not-a-token", 4401, "missing, invalid or expired token"),
        ("/ws/live", "crew", 4403, "needs role operator, admin or analyst"),
        ("/ws/crew", "operator", 4403, "needs a crew token (you are operator)"),
    ],
)
def test_sockets_refuse_tokens_of_the_wrong_kind(
    server: Server, crew_user: str, path: str, who: str, code: int, reason: str
) -> None:
    token = {"crew": crew_user, "operator": server.token}.get(who, who)
    with connect(server.url.replace("http", "ws") + path + (f"?token={token}" if token else "")) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (code, reason)


def test_a_crew_user_needs_a_boat_of_the_fleet(server: Server) -> None:
    user = {"username": "crew-x", "password": TEST_PASSWORD, "role": "crew", "agency": "MD", "asset_id": "XX-B9"}
    assert http_json(server.url + "/api/users", user, server.admin_token) == (
        422,
        {"detail": "asset_id: no asset 'XX-B9' in the fleet"},
    )
    no_boat = {**user, "asset_id": None}
    assert http_json(server.url + "/api/users", no_boat, server.admin_token) == (
        422,
        {"detail": "a crew user needs asset_id (the boat they crew)"},
    )


def test_http_errors_are_clear(server: Server) -> None:
    iid = incident(server)
    order = dispatch(server, iid, "UA-B2")
    cases = [
        ("/api/incidents/I9999/dispatch", {"asset_id": "UA-B2", "by": "op"}, 404, "no incident 'I9999'"),
        (f"/api/incidents/{iid}/dispatch", {"asset_id": "XX-B1", "by": "op"}, 404, "no asset with id 'XX-B1'"),
        (f"/api/incidents/{iid}/dispatch", {"asset_id": "UA-B2", "by": "op"}, 409,
         f"asset Dnister 2 (UA-B2) is busy: order {order['id']} (sent) for incident {iid}"),
        (f"/api/incidents/{iid}/dispatch", {"asset_id": OUT_OF_SERVICE, "by": "op"}, 409,
         "asset Nistru 6 (MD-B6) is out of service"),
        (f"/api/incidents/{iid}/dispatch", {"asset_id": "UA-B1", "by": "op", "colour": "red"}, 422,
         "colour: Extra inputs are not permitted"),
        ("/api/orders/O9999/cancel", {"by": "op"}, 404, "no order 'O9999'"),
    ]  # fmt: skip
    for path, body, status, detail in cases:
        code, got = call(server, path, body)
        assert (code, got["detail"]) == (status, detail)
    assert call(server, "/api/orders/O9999") == (404, {"detail": "no order 'O9999'"})
    assert call(server, f"/api/orders/{order['id']}/cancel", {"by": "op", "reason": "test"})[0] == 200
    again = call(server, f"/api/orders/{order['id']}/cancel", {"by": "op"})
    assert again == (409, {"detail": f"order {order['id']} is already cancelled"})
    assert call(server, f"/api/incidents/{iid}/close", {"by": "op"})[0] == 200
    closed = call(server, f"/api/incidents/{iid}/dispatch", {"asset_id": "UA-B2", "by": "op"})
    assert closed == (409, {"detail": f"incident {iid} is closed; orders go to open incidents only"})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "http://x", "--token", "t"], "argument --url: expected ws://HOST:PORT or wss://HOST:PORT, got 'http://x'"),
        (["--url", "ws://x", "--token", "t", "--status-after", "docked:3"],
         "argument --status-after: expected STATUS:SECONDS with STATUS in en_route, on_scene, returning, available, "
         "got 'docked:3'"),
    ],
)  # fmt: skip
def test_the_crew_command_refuses_bad_arguments_in_one_line(args: list[str], message: str) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "sar", "crew", *args], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert (r.returncode, r.stderr) == (2, f"dwatch crew: error: {message}\n")


def test_a_bad_since_is_refused(server: Server) -> None:
    with crew_socket(server, "MD-B1", "?since=-1") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
        4400,
        "since must be a non-negative integer, got '-1'",
    )


def test_a_crew_that_connects_without_resuming_gets_its_open_order_then_answers(server: Server) -> None:
    iid = incident(server)
    order = dispatch(server, iid, "UA-B4")
    with crew_socket(server, "UA-B4") as ws:  # no ?since, no hello: its first message is a position
        send(
            ws, type="position", id="first-pos", lon=29.93, lat=46.50, time=datetime.now(UTC).isoformat(), accuracy_m=9
        )
        got = [recv(ws) for _ in range(3)]
        assert [m["type"] for m in got] == ["hello", "order", "ack"]
        assert got[0]["data"]["resumed"] is False and got[0]["data"]["open_order"]["id"] == order["id"]
        assert got[1]["data"]["id"] == order["id"] and got[2]["data"]["ref"] == "first-pos"
    assert call(server, f"/api/orders/{order['id']}/cancel", {"by": "op"})[0] == 200


def test_a_crew_never_sees_another_assets_order(server: Server) -> None:
    iid = incident(server)
    with (
        crew_socket(server, "UA-B2", f"?token={token('UA-B2')}", header=False) as other,
        crew_socket(server, "MD-B1") as mine,
    ):
        hello(other)
        hello(mine)
        order = dispatch(server, iid, "MD-B1")
        assert recv(mine)["data"]["id"] == order["id"]
        assert nothing_within(other, 1.0)
        send(other, type="accept", id="steal-1", order_id=order["id"])
        err = recv(other)
        assert err["type"] == "error" and err["data"]["message"] == f"no order {order['id']!r} for asset UA-B2"
    assert call(server, f"/api/orders/{order['id']}")[1]["state"] == "sent"


def test_bad_json_gets_an_error_and_the_socket_stays_open(server: Server) -> None:
    with crew_socket(server, "UA-B1") as ws:
        hello(ws)
        for text in ["{not json", "[]", '{"type": "teleport", "id": "t-1"}', b"\xff\xfe"]:
            ws.send(text)
            err = recv(ws)
            assert err["type"] == "error" and err["data"]["message"]
        lon, lat = 27.75, 48.45
        send(ws, type="position", id="pos-1", lon=lon, lat=lat, time=datetime.now(UTC).isoformat(), accuracy_m=6)
        ack = recv(ws)
        assert ack["type"] == "ack" and ack["data"]["ref"] == "pos-1"
    asset = next(a for a in call(server, "/api/assets")[1] if a["id"] == "UA-B1")
    assert asset["position"]["lon"] == lon and asset["position"]["source"] == "crew"


def test_two_devices_of_one_crew_each_get_the_stream(server: Server) -> None:
    iid = incident(server)
    phone_query = f"?token={token('MD-B4')}"
    with crew_socket(server, "MD-B4") as tablet, crew_socket(server, "MD-B4", phone_query, header=False) as phone:
        hello(tablet)
        hello(phone)
        order = dispatch(server, iid, "MD-B4")
        assert recv(tablet)["seq"] == recv(phone)["seq"]
        send(tablet, type="accept", id="tab-1", order_id=order["id"])
        seen = until(phone, lambda m: m["type"] == "ack")
        assert [(m["type"], m["data"].get("state") or m["data"].get("ref")) for m in seen] == [
            ("order_update", "accepted"),
            ("ack", "tab-1"),
        ]


def test_the_crew_client_resumes_from_its_state_file(server: Server, tmp_path: Path) -> None:
    state, ws_url = tmp_path / "crew.json", server.url.replace("http", "ws")

    async def next_of(client: CrewClient, kind: str) -> dict[str, Any]:
        while (msg := await asyncio.wait_for(client.received.get(), 10)) and msg["type"] != kind:
            pass
        return msg

    async def main() -> None:
        iid = await asyncio.to_thread(incident, server)
        out1 = io.StringIO()
        first = CrewClient(ws_url, token("MD-B5"), state_file=state, out=out1, err=io.StringIO())
        task = asyncio.create_task(first.run())
        await next_of(first, "hello")
        o1 = await asyncio.to_thread(dispatch, server, iid, "MD-B5")
        await next_of(first, "order")
        task.cancel()  # the tablet dies; the operator cancels and sends a new order meanwhile
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.to_thread(call, server, f"/api/orders/{o1['id']}/cancel", {"by": "op", "reason": "wrong boat"})
        o2 = await asyncio.to_thread(dispatch, server, iid, "MD-B5")
        out2 = io.StringIO()
        second = CrewClient(ws_url, token("MD-B5"), accept=True, state_file=state, out=out2, err=io.StringIO())
        await second.send("position", lon=29.88, lat=46.54, time=datetime.now(UTC).isoformat(), accuracy_m=5.0)
        assert len(json.loads(state.read_text())["pending"]) == 1  # kept while offline
        task = asyncio.create_task(second.run())
        assert (await next_of(second, "hello"))["data"]["resumed"] is True
        await next_of(second, "order_update")  # accepted, by this client
        while second.state.pending:
            await next_of(second, "ack")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        lines = [json.loads(x) for x in out2.getvalue().splitlines()]
        assert [(m["type"], m["data"].get("order_id") or m["data"]["id"]) for m in lines] == [
            ("cancel", o1["id"]),
            ("order", o2["id"]),
            ("order_update", o2["id"]),
        ]
        assert [json.loads(x)["type"] for x in out1.getvalue().splitlines()] == ["order"]
        assert (await asyncio.to_thread(call, server, f"/api/orders/{o2['id']}"))[1]["state"] == "accepted"

    asyncio.run(main())
    asset = next(a for a in call(server, "/api/assets")[1] if a["id"] == "MD-B5")
    assert (asset["position"]["lon"], asset["position"]["lat"]) == (29.88, 46.54)


def test_the_crew_command_accepts_and_reports_statuses(server: Server, tmp_path: Path) -> None:
    iid = incident(server)
    cmd = [sys.executable, "-m", "sar", "crew", "--url", server.url.replace("http", "ws"), "--token", token("UA-B4"),
           "--accept", "--status-after", "en_route:0.2,on_scene:0.4", "--position", "29.93,46.50",
           "--state-file", str(tmp_path / "s.json")]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        order = dispatch(server, iid, "UA-B4")
        assert proc.stdout is not None
        line = json.loads(proc.stdout.readline())
        assert (line["type"], line["data"]["id"], line["data"]["state"]) == ("order", order["id"], "sent")
        deadline = time.monotonic() + 10
        while call(server, f"/api/orders/{order['id']}")[1]["state"] != "on_scene" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [h["state"] for h in call(server, f"/api/orders/{order['id']}")[1]["history"]] == [
            "sent", "accepted", "en_route", "on_scene"]  # fmt: skip
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err


def test_the_crew_command_says_plainly_when_the_token_is_refused(server: Server) -> None:
    cmd = [sys.executable, "-m", "sar", "crew", "--url", server.url.replace("http", "ws"), "--token", "stolen"]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == (
        "dwatch crew: error: the server refused the token (close 4401: unknown or missing crew token)\n"
    )
