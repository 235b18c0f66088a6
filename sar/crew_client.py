"""``dwatch crew``: a crew's client for ``/ws/crew``, as a command and as a library (:class:`CrewClient`).

Prints every order message (``order``, ``order_update``, ``cancel``) as one JSON line on stdout;
optionally accepts new orders, reports statuses some seconds after accepting, and reports a fixed
position. The state file keeps the server run (``epoch``), ``last_seq`` and the outgoing messages
not yet answered, so a dropped connection or a restart resumes where it stopped and resends what
the server has not acknowledged (the server applies each message id once). Messages already seen
(by ``seq`` and ``id``) are skipped. Only the standard library is imported until it connects.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

STATUSES = ("en_route", "on_scene", "returning", "available")
ORDER_TYPES = ("order", "order_update", "cancel")
CLOSED_STATES = frozenset({"declined", "expired", "done", "cancelled"})
FATAL_CLOSE = {
    4401: "the server refused the token",
    4403: "the token is not a crew's",
    4400: "the server refused the request",
}
SEEN_IDS = 1000
EXIT_USAGE = 2


class CrewClientError(Exception):
    """Cannot go on (token refused, unreadable state file); the message is one line."""


@dataclass
class CrewState:
    """What survives a restart: the server run, the last seq seen, unanswered outgoing messages."""

    epoch: str | None = None
    last_seq: int = 0
    pending: list[dict[str, Any]] = field(default_factory=list)
    seen: deque[str] = field(default_factory=lambda: deque(maxlen=SEEN_IDS))

    @classmethod
    def load(cls, path: Path | None) -> CrewState:
        if path is None or not path.exists():
            return cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(raw["epoch"], int(raw["last_seq"]), list(raw["pending"]), deque(raw["seen"], maxlen=SEEN_IDS))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CrewClientError(f"state file {path} is unreadable ({exc}); move it away to start afresh") from None

    def save(self, path: Path | None) -> None:
        """Write atomically (a crash never leaves half a file)."""
        if path is None:
            return
        body = {"epoch": self.epoch, "last_seq": self.last_seq, "pending": self.pending, "seen": list(self.seen)}
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(body), encoding="utf-8")
        os.replace(tmp, path)


def crew_url(url: str) -> str:
    """``ws://host:port`` (or a full ``.../ws/crew`` URL) -> the crew socket URL; ValueError if bad."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"expected ws://HOST:PORT or wss://HOST:PORT, got {url!r}")
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path if path.endswith("/ws/crew") else path + "/ws/crew", "", ""))


class CrewClient:
    """Connects, streams, reconnects with back-off; ``run()`` until cancelled. Every new message
    from the server goes to ``received`` (for library users) after it is handled."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        accept: bool = False,
        status_after: Sequence[tuple[str, float]] = (),
        position: tuple[float, float] | None = None,
        state_file: Path | None = None,
        out: TextIO | None = None,
        err: TextIO | None = None,
        backoff_s: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self.url, self.token = crew_url(url), token
        self.accept, self.status_after, self.position = accept, list(status_after), position
        self.state_file = state_file
        self.state = CrewState.load(state_file)
        self.out, self.err = out or sys.stdout, err or sys.stderr
        self.backoff_s = backoff_s
        self.orders: dict[str, str] = {}  # order id -> last state seen
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.connections = 0
        self._ws: ClientConnection | None = None
        self._timers: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Forever: connect, stream, and on a drop wait (0.5 s doubling to 30 s) and resume.
        Raises CrewClientError when the server refuses the token."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, WebSocketException

        delay = self.backoff_s[0]
        try:
            while True:
                before = self.connections
                try:
                    async with connect(self._uri(), additional_headers=self._headers(), open_timeout=10) as ws:
                        await self._session(ws)
                        reason = f"closed ({ws.close_code} {ws.close_reason})"
                except (OSError, TimeoutError, InvalidHandshake, WebSocketException) as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                if self.connections > before:
                    delay = self.backoff_s[0]  # it was up: start the back-off afresh
                self._log(f"connection {reason}; retrying in {delay:g} s")
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_s[1])
        finally:
            for t in self._timers:
                t.cancel()

    async def send(self, type_: str, **fields: Any) -> str:
        """Queue a message (kept in the state file until answered) and send it if connected."""
        msg = {"type": type_, "id": str(uuid.uuid4()), **fields}
        self.state.pending.append(msg)
        self._save()
        await self._transmit(msg)
        return str(msg["id"])

    # -- internals --------------------------------------------------------------------------

    def _uri(self) -> str:
        if self.state.epoch is None:
            return self.url
        return self.url + "?" + urlencode({"since": self.state.last_seq, "epoch": self.state.epoch})

    def _headers(self) -> list[tuple[str, str]]:
        return [("Authorization", f"Bearer {self.token}")]

    async def _session(self, ws: ClientConnection) -> None:
        from websockets.exceptions import ConnectionClosed

        self._ws = ws
        try:
            if self.state.epoch is None:  # nothing to resume: say so at once (the server need not wait)
                await ws.send(json.dumps({"type": "hello", "last_seq": None}))
            async for text in ws:
                await self._on_message(json.loads(text))
        except ConnectionClosed:
            pass
        finally:
            self._ws = None
        if ws.close_code in FATAL_CLOSE:
            raise CrewClientError(f"{FATAL_CLOSE[ws.close_code]} (close {ws.close_code}: {ws.close_reason})")

    async def _transmit(self, msg: dict[str, Any]) -> None:
        from websockets.exceptions import ConnectionClosed

        if self._ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await self._ws.send(json.dumps(msg))

    async def _on_message(self, msg: dict[str, Any]) -> None:
        if msg["type"] == "hello":
            await self._on_hello(msg)
            return
        if msg["seq"] <= self.state.last_seq or msg["id"] in self.state.seen:
            return  # already handled (a resumed backlog may repeat what arrived before a drop)
        self.state.last_seq = msg["seq"]
        self.state.seen.append(msg["id"])
        self._save()
        data = msg["data"]
        if msg["type"] in ORDER_TYPES:
            self.out.write(json.dumps(msg, ensure_ascii=False) + "\n")
            self.out.flush()
            order_id = data["order_id"] if msg["type"] == "cancel" else data["id"]
            self.orders[order_id] = "cancelled" if msg["type"] == "cancel" else data["state"]
            if msg["type"] == "order" and self.accept and data["state"] == "sent":
                await self.send("accept", order_id=order_id)
        elif msg["type"] in ("ack", "error"):
            self._on_reply(msg["type"], data)
        await self.received.put(msg)

    async def _on_hello(self, msg: dict[str, Any]) -> None:
        data = msg["data"]
        if data["reset"] or (self.state.epoch is not None and data["epoch"] != self.state.epoch):
            # a new server run: its order ids and seqs are new; answers about old orders are moot
            self.state.pending = [m for m in self.state.pending if "order_id" not in m]
        self.state.epoch = data["epoch"]
        self.state.last_seq = msg["seq"]
        self._save()
        self.connections += 1
        for pending in list(self.state.pending):
            await self._transmit(pending)
        if self.position is not None:
            await self._report_position()
        await self.received.put(msg)

    def _on_reply(self, kind: str, data: dict[str, Any]) -> None:
        ours = next((m for m in self.state.pending if m["id"] == data.get("ref")), None)
        if kind == "error":
            self._log(f"server: {data['message']}")
        if ours is None:
            return  # a reply to another device of the crew, or already handled
        self.state.pending.remove(ours)
        self._save()
        if kind == "ack" and ours["type"] == "accept" and data["result"].get("applied"):
            for status, after_s in self.status_after:
                task = asyncio.create_task(self._status_later(ours["order_id"], status, after_s))
                self._timers.add(task)
                task.add_done_callback(self._timers.discard)

    async def _status_later(self, order_id: str, status: str, after_s: float) -> None:
        await asyncio.sleep(after_s)
        if self.orders.get(order_id) in CLOSED_STATES:
            return
        if self.position is not None:
            await self._report_position()
        await self.send("status", status=status, order_id=order_id)

    async def _report_position(self) -> None:
        assert self.position is not None
        lon, lat = self.position
        await self.send("position", lon=lon, lat=lat, time=datetime.now(UTC).isoformat(), accuracy_m=10.0)

    def _save(self) -> None:
        self.state.save(self.state_file)

    def _log(self, text: str) -> None:
        self.err.write(f"dwatch crew: {text}\n")
        self.err.flush()


# -- command line -------------------------------------------------------------------------------


def _url_arg(text: str) -> str:
    try:
        return crew_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{what}: seconds must be a number >= 0, got {text!r}")
    return value


def parse_status_after(text: str) -> list[tuple[str, float]]:
    """``en_route:5,on_scene:30`` -> [("en_route", 5.0), ("on_scene", 30.0)] (seconds after accepting)."""
    steps = []
    for item in text.split(","):
        status, sep, seconds = item.strip().partition(":")
        if not sep or status not in STATUSES:
            raise argparse.ArgumentTypeError(
                f"expected STATUS:SECONDS with STATUS in {', '.join(STATUSES)}, got {item!r}"
            )
        steps.append((status, _seconds(seconds, status)))
    return steps


def parse_lonlat(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        lon, lat = (float(p) for p in parts) if len(parts) == 2 else (math.nan, math.nan)
    except ValueError:
        lon = lat = math.nan
    if not (math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
        raise argparse.ArgumentTypeError(f"expected LON,LAT in degrees (e.g. 28.30,48.16), got {text!r}")
    return lon, lat


def add_arguments(p: argparse.ArgumentParser) -> None:
    token = os.environ.get("DWATCH_CREW_TOKEN")
    p.add_argument("--url", required=True, type=_url_arg, help="the server, e.g. ws://127.0.0.1:8000")
    p.add_argument(
        "--token", default=token, required=token is None, help="the crew's token (default: $DWATCH_CREW_TOKEN)"
    )
    p.add_argument("--accept", action="store_true", help="accept every new order")
    p.add_argument(
        "--status-after",
        type=parse_status_after,
        default=[],
        metavar="STATUS:S,...",
        help="report these statuses S seconds after accepting, e.g. en_route:5,on_scene:30",
    )
    p.add_argument("--position", type=parse_lonlat, metavar="LON,LAT", help="report this position on connecting")
    p.add_argument("--state-file", type=Path, help="keep last seq and unsent messages here (resume after restart)")


def run_cli(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run until Ctrl-C (exit 0); a refused token or bad state file exits 2 with one line."""
    err = err or sys.stderr
    try:
        client = CrewClient(
            args.url,
            args.token,
            accept=args.accept,
            status_after=args.status_after,
            position=args.position,
            state_file=args.state_file,
            out=out,
            err=err,
        )
        asyncio.run(client.run())
    except CrewClientError as exc:
        err.write(f"dwatch crew: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 0
    return 0
