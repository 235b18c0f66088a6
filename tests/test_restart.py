"""A real server on a SQLite file and on the real PostgreSQL, killed with SIGKILL right after a
dispatch was answered 201, after a crew's accept was acknowledged, and after a status change was
acknowledged, then started again on the same database: every incident, order, acknowledgement and
status change is there with the same ids, times and deadlines; ids go on without reuse; the crew
reconnects, gets its open order again and carries on; an order whose deadline passed while the
server was down expires at once, with the operators' alert; a second server on the same
database is refused."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from sar.dispatch.fleet import hash_token
from sar.store.config import StorageSettings
from sar.store.store import Store
from tests.conftest import REPO, Server, http_json, start_server
from tests.test_store import SOROCA, db_url, stages  # noqa: F401  (db_url: the fixture)

BOATS = {  # bases of the example fleet
    "MD-B3": ("MD", "Nistru 3", "Cosauti", 28.287864, 48.231728),
    "UA-B3": ("UA", "Dnister 3", "Yampil", 28.289473, 48.234536),
}


def config(path: Path, ack_deadline_s: float) -> Path:
    lines = [f"[dispatch]\nack_deadline_s = {ack_deadline_s}\n"]
    for i, (agency, call_sign, base, lon, lat) in BOATS.items():
        lines.append(
            f'[[dispatch.fleet.assets]]\nid = "{i}"\nagency = "{agency}"\ncall_sign = "{call_sign}"\n'
            f'base = {{ name = "{base}", lon = {lon}, lat = {lat} }}\nspeed_mps = 12.0\n'
            f'token_sha256 = "{hash_token(token(i))}"\n'
        )
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def token(asset_id: str) -> str:
    return f"crew-token-{asset_id.lower()}"


def start(cfg: Path, url: str) -> Server:
    return start_server(["serve", "--config", str(cfg)], env={"DWATCH_STORAGE__URL": url})


def kill(srv: Server) -> str:
    """SIGKILL: no shutdown, no flush, no goodbye."""
    srv.process.kill()
    srv.process.wait(10)
    if srv.reader is not None:
        srv.reader.join(10)
    return "".join(srv.lines)


def api(srv: Server, path: str, body: Any = None) -> Any:
    status, got = http_json(srv.url + path, body, srv.token)
    assert status in (200, 201), (status, got)
    return got


class Crew:
    """A crew device that keeps its epoch and last seq like ``dwatch crew`` does."""

    def __init__(self, asset_id: str) -> None:
        self.asset_id, self.epoch, self.last_seq = asset_id, "", 0
        self.ws: ClientConnection | None = None

    @contextlib.contextmanager
    def connected(self, srv: Server) -> Iterator[list[dict[str, Any]]]:
        """Connect (resuming when it has an epoch); yields the hello and the backlog's first message."""
        query = f"?since={self.last_seq}&epoch={self.epoch}" if self.epoch else ""
        url = srv.url.replace("http://", "ws://") + "/ws/crew" + query
        with connect(url, additional_headers={"Authorization": f"Bearer {token(self.asset_id)}"}) as self.ws:
            if not self.epoch:
                self.ws.send(json.dumps({"type": "hello", "last_seq": None}))
            hello = self.recv()
            self.epoch = hello["data"]["epoch"]
            yield [hello, self.recv()] if hello["data"]["open_order"] else [hello]

    def recv(self) -> dict[str, Any]:
        assert self.ws is not None
        msg = dict(json.loads(self.ws.recv(timeout=10)))
        self.last_seq = msg["seq"]
        return msg

    def until(self, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while not match(msg := self.recv()):
            pass
        return msg

    def say(self, **msg: Any) -> dict[str, Any]:
        """Send and wait for the server's ack (the crew's 'it is done')."""
        assert self.ws is not None
        self.ws.send(json.dumps(msg))
        reply = self.until(lambda m: m["type"] in ("ack", "error") and m["data"]["ref"] == msg["id"])
        assert reply["type"] == "ack", reply
        return reply


def time_of(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.slow
def test_sigkill_mid_dispatch_loses_nothing(tmp_path: Path, db_url: str) -> None:  # noqa: F811
    cfg, quick = config(tmp_path / "c.toml", 120.0), config(tmp_path / "quick.toml", 2.0)
    crew = Crew("MD-B3")
    srv = start(cfg, db_url)
    with connect(srv.url.replace("http", "ws") + f"/ws/live?token={srv.token}") as live:
        live.recv(timeout=10)  # resync: an operator is watching
        incident = api(srv, "/api/incidents", {"type": "person_in_water", "lon": SOROCA[0], "lat": SOROCA[1],
                                               "reporter": "fisherman"})  # fmt: skip
    iid = incident["id"]
    seen = api(srv, f"/api/incidents/{iid}")  # acknowledged by the operator
    with crew.connected(srv):
        order = api(srv, f"/api/incidents/{iid}/dispatch", {"asset_id": "MD-B3", "by": "operator md-1"})
        kill(srv)  # 1: right after the 201

    srv = start(cfg, db_url)
    assert api(srv, f"/api/incidents/{iid}") == seen
    assert api(srv, f"/api/orders/{order['id']}") == order  # same id, state, deadline, history
    md_b3 = next(a for a in api(srv, "/api/assets") if a["id"] == "MD-B3")
    assert (md_b3["status"], md_b3["order_id"]) == ("assigned", order["id"])
    with crew.connected(srv) as (hello, offered):
        assert hello["data"]["reset"] is True and hello["data"]["open_order"]["id"] == order["id"]
        assert (offered["type"], offered["data"]["id"], offered["data"]["state"]) == ("order", order["id"], "sent")
        assert offered["data"]["deadline"] == order["deadline"]
        crew.say(type="accept", id="acc-1", order_id=order["id"])
        kill(srv)  # 2: right after the accept was acknowledged

    srv = start(cfg, db_url)
    accepted = api(srv, f"/api/orders/{order['id']}")
    assert [h["state"] for h in accepted["history"]] == ["sent", "accepted"]
    assert accepted["history"][0] == order["history"][0]
    with crew.connected(srv) as (_, offered):
        assert (offered["data"]["id"], offered["data"]["state"]) == (order["id"], "accepted")
        crew.say(type="status", id="st-1", status="en_route")
        kill(srv)  # 3: right after the status change was acknowledged

    srv = start(cfg, db_url)
    under_way = api(srv, f"/api/orders/{order['id']}")
    assert under_way["state"] == "en_route" and under_way["history"][:2] == accepted["history"]
    assert next(a for a in api(srv, "/api/assets") if a["id"] == "MD-B3")["status"] == "en_route"
    with crew.connected(srv) as (_, offered):
        assert offered["data"]["state"] == "en_route"
        crew.say(type="status", id="st-2", status="on_scene")
    second = api(srv, "/api/incidents", {"type": "manual", "lon": SOROCA[0], "lat": SOROCA[1], "reporter": "patrol"})
    assert second["id"] == "I0002"  # no id is given twice
    env = {**os.environ, "DWATCH_STORAGE__URL": db_url}
    serve = [sys.executable, "-m", "sar", "serve", "--config", str(cfg)]
    refused = subprocess.run(serve, cwd=REPO, text=True, capture_output=True, timeout=120, env=env)
    assert refused.returncode == 2 and refused.stderr.splitlines() == [
        f"dwatch: error: another dwatch server is running on {db_url}: stop it first"
    ]
    closed = api(srv, f"/api/incidents/{iid}/close", {"by": "operator md-1", "reason": "rescued"})
    kill(srv)

    srv = start(quick, db_url)  # crews must answer within 2 s now
    late = api(srv, f"/api/incidents/{second['id']}/dispatch", {"asset_id": "UA-B3", "by": "operator md-1"})
    assert late["id"] == "O0002"
    kill(srv)  # down for longer than the order's deadline

    srv = start(cfg, db_url)
    expired = api(srv, f"/api/orders/{late['id']}")
    last = expired["history"][-1]
    assert (expired["state"], expired["deadline"]) == ("expired", late["deadline"])
    assert (last["by"], last["detail"]) == ("system", "not acknowledged within 2 s")
    assert time_of(last["time"]) >= time_of(late["deadline"])
    with connect(srv.url.replace("http", "ws") + f"/ws/live?since=0&token={srv.token}") as live:
        alert = None
        while alert is None:
            msg = json.loads(live.recv(timeout=10))
            alert = msg["data"].get("alert") if msg["type"] == "order" else None
    assert alert.startswith(f"order {late['id']} to Dnister 3 (UA-B3) expired: not acknowledged within 2 s")
    assert api(srv, f"/api/incidents/{iid}") == closed
    kill(srv)

    db = Store(StorageSettings(url=db_url))
    got = stages(db, iid)
    times = {event: t for event, t, *_ in got}
    assert [e for e, *_ in got] == ["detected", "alerted", "acknowledged", "dispatched", "accepted", "under_way",
                                    "on_scene", "closed", "resolved"]  # fmt: skip
    assert times["dispatched"] == time_of(order["created_at"])
    assert times["accepted"] == time_of(accepted["history"][1]["time"])
    assert times["under_way"] == time_of(under_way["history"][2]["time"])
    assert times["resolved"] == time_of(closed["closed_at"])
    db.engine.dispose()
