"""The live feed behind ``/ws/live``: every message has ``type``, ``seq``, ``ts`` and ``data``.

Sequence numbers are global to the feed and increase by one per message, so a client that
reconnects with the last ``seq`` it saw gets exactly what it missed from a bounded history
(20,000 messages or 64 MB of JSON text, whichever is smaller). A
client too far behind (its ``seq`` is older than the history) first gets a ``resync`` message
with a full snapshot. A client that cannot keep up is disconnected rather than fed a partial
stream; it reconnects and resumes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

log = logging.getLogger("sar.live")

HISTORY = 20_000
HISTORY_BYTES = 64 << 20
CLIENT_QUEUE = 5_000


@dataclass(frozen=True)
class LiveMessage:
    """A message as sent: encoded to JSON text once, whatever the number of clients; the
    history keeps the text, not the objects (a tracks message of 500 tracks is ~250 KB)."""

    type: str
    seq: int
    ts: datetime
    text: str

    @classmethod
    def make(cls, type_: str, seq: int, ts: datetime, data: Any) -> LiveMessage:
        body = {"type": type_, "seq": seq, "ts": ts.isoformat(), "data": data}
        return cls(type_, seq, ts, json.dumps(body, ensure_ascii=False, separators=(",", ":")))


class ClientTooSlow(Exception):
    """A subscriber's queue overflowed; it must reconnect and resume by seq."""


M = TypeVar("M")


class Subscription(Generic[M]):
    """One client's view of a stream: a bounded queue the stream fills and the client drains;
    once it overflows, the client is cut (ClientTooSlow) and resumes by seq. Used by the live
    feed and by the crew channel."""

    def __init__(self, maxsize: int | None = None) -> None:
        self.queue: asyncio.Queue[M] = asyncio.Queue(maxsize=CLIENT_QUEUE if maxsize is None else maxsize)
        self.overflowed = False

    def offer(self, msg: M) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(msg)
        except asyncio.QueueFull:
            self.overflowed = True

    async def next(self) -> M:
        if self.overflowed and self.queue.empty():
            raise ClientTooSlow()
        return await self.queue.get()


class LiveFeed:
    """Publish from the event loop thread (or any thread: publishing is marshalled to the loop)."""

    def __init__(self, clock: Callable[[], datetime], snapshot: Callable[[], dict[str, Any]]) -> None:
        self._clock = clock
        self._snapshot = snapshot
        self._seq = 0
        self._history: deque[LiveMessage] = deque()
        self._history_bytes = 0
        self._subs: set[Subscription[LiveMessage]] = set()

    @property
    def seq(self) -> int:
        return self._seq

    def publish(self, type_: str, data: Any) -> LiveMessage:
        """Append a message (call from the event loop thread)."""
        self._seq += 1
        msg = LiveMessage.make(type_, self._seq, self._clock(), data)
        self._history.append(msg)
        self._history_bytes += len(msg.text)
        while len(self._history) > HISTORY or self._history_bytes > HISTORY_BYTES:
            self._history_bytes -= len(self._history.popleft().text)
        for sub in list(self._subs):
            sub.offer(msg)
        return msg

    def subscribe(self, since: int | None) -> tuple[Subscription[LiveMessage], list[LiveMessage]]:
        """A new subscription plus what to send first: the missed messages after ``since``, or a
        ``resync`` snapshot when ``since`` is None or older than the history."""
        sub: Subscription[LiveMessage] = Subscription()
        self._subs.add(sub)
        oldest = self._history[0].seq if self._history else self._seq + 1
        if since is not None and since >= oldest - 1 and since <= self._seq:
            backlog = [m for m in self._history if m.seq > since]
        else:
            snap = LiveMessage.make("resync", self._seq, self._clock(), self._snapshot())
            backlog = [snap]
        return sub, backlog

    def unsubscribe(self, sub: Subscription[LiveMessage]) -> None:
        self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)
