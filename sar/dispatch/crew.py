"""The crew channel behind ``/ws/crew``: per asset an ordered outbox, and crew messages applied once.

Every server->crew message (``order``, ``order_update``, ``cancel``, ``ack``, ``error``) goes into
the asset's outbox with the next per-asset ``seq`` and a uuid ``id``, and to every connection of
that crew. A connection that resumes from ``since`` gets every kept message after it, in order;
messages of an open order are never evicted (the cap drops the oldest other messages first). A
``hello`` opens every connection and is not kept: its ``seq`` is where the backlog starts.

Crew->server messages carry a client-made ``id``; each id is applied once and its reply kept, so a
resent message gets the same ``ack`` or ``error`` again. Bad messages get an ``error``; nothing a
crew sends raises. Not thread-safe: call from the event loop only.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from sar.dispatch.fleet import Fleet
from sar.dispatch.orders import CrewStatus, Order, OrderBook, OrderChange, OrderError, OrderState
from sar.incidents.book import IncidentBook
from sar.incidents.model import IncidentError
from sar.live import Subscription

OUTBOX_CAP = 10_000  # messages kept per asset
CLIENT_QUEUE = 2_000  # a connection this far behind is cut and resumes by seq
REPLIES_KEPT = 5_000  # client message ids remembered per asset (idempotency)
FUTURE_TOLERANCE = timedelta(minutes=5)  # a crew device clock may run ahead this much


class MessageType(StrEnum):
    HELLO = "hello"
    ORDER = "order"
    ORDER_UPDATE = "order_update"
    CANCEL = "cancel"
    ACK = "ack"
    ERROR = "error"


@dataclass(frozen=True)
class CrewMessage:
    """A server->crew message, encoded once. ``order_id`` ties it to an order (for eviction)."""

    seq: int
    id: str
    type: MessageType
    ts: datetime
    data: Any
    order_id: str | None
    text: str

    @classmethod
    def make(cls, type_: MessageType, seq: int, ts: datetime, data: Any, order_id: str | None = None) -> CrewMessage:
        mid = str(uuid.uuid4())
        body = {"type": type_.value, "seq": seq, "id": mid, "ts": ts.isoformat(), "data": data}
        return cls(seq, mid, type_, ts, data, order_id, json.dumps(body, ensure_ascii=False, separators=(",", ":")))


CrewSubscription = Subscription[CrewMessage]  # one connection's queue: the outbox fills it, the socket drains it


@dataclass
class _Outbox:
    seq: int = 0
    messages: list[CrewMessage] = field(default_factory=list)
    subs: set[CrewSubscription] = field(default_factory=set)
    replies: OrderedDict[str, tuple[MessageType, dict[str, Any]]] = field(default_factory=OrderedDict)


@dataclass(frozen=True)
class Connection:
    """What a new connection sends first (``hello``, then ``backlog``), then ``sub``'s messages."""

    sub: CrewSubscription
    hello: CrewMessage
    backlog: list[CrewMessage]


# -- crew -> server messages -------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=100, description="client-made, unique per message (a uuid)")


class HelloIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["hello"]
    id: str | None = Field(default=None, max_length=100)
    last_seq: int | None = Field(default=None, ge=0)
    epoch: str | None = Field(default=None, max_length=100)


class AcceptIn(_In):
    type: Literal["accept"]
    order_id: str = Field(min_length=1, max_length=40)


class DeclineIn(_In):
    type: Literal["decline"]
    order_id: str = Field(min_length=1, max_length=40)
    reason: str = Field(min_length=1, max_length=500)


class StatusIn(_In):
    type: Literal["status"]
    status: CrewStatus
    order_id: str | None = Field(default=None, min_length=1, max_length=40)


class PositionIn(_In):
    type: Literal["position"]
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    time: AwareDatetime
    accuracy_m: float = Field(ge=0, le=100_000, allow_inf_nan=False)


CrewIn = Annotated[HelloIn | AcceptIn | DeclineIn | StatusIn | PositionIn, Field(discriminator="type")]
_IN: TypeAdapter[HelloIn | AcceptIn | DeclineIn | StatusIn | PositionIn] = TypeAdapter(CrewIn)
IN_TYPES = ("accept", "decline", "status", "position", "hello")


class BadMessage(ValueError):
    """A crew message that cannot be read; ``ref`` is its id when one could be read."""

    def __init__(self, message: str, ref: str | None) -> None:
        super().__init__(message)
        self.ref = ref


def parse(text: str) -> HelloIn | AcceptIn | DeclineIn | StatusIn | PositionIn:
    """Read one crew message; raise BadMessage with a one-line reason."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise BadMessage(f"invalid JSON: {exc}", None) from None
    if not isinstance(raw, dict):
        raise BadMessage("a message is a JSON object with a 'type'", None)
    ref = raw.get("id") if isinstance(raw.get("id"), str) else None
    if raw.get("type") not in IN_TYPES:
        raise BadMessage(f"unknown message type {raw.get('type')!r}; expected one of {', '.join(IN_TYPES)}", ref)
    try:
        return _IN.validate_python(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'message'}: {e['msg']}" for e in exc.errors())
        raise BadMessage(f"invalid {raw['type']} message: {problems}", ref) from None


class CrewChannel:
    """Outboxes of every asset, connections, and the application of crew messages."""

    def __init__(
        self,
        fleet: Fleet,
        orders: OrderBook,
        incidents: IncidentBook,
        clock: Callable[[], datetime],
        cap: int = OUTBOX_CAP,
    ) -> None:
        self.fleet, self.orders, self.incidents, self.clock, self.cap = fleet, orders, incidents, clock, cap
        self.epoch = uuid.uuid4().hex[:12]  # a new server run starts new seqs: clients must not resume across
        self._boxes: dict[str, _Outbox] = {}

    # -- server -> crew ---------------------------------------------------------------------

    def on_order_change(self, change: OrderChange) -> None:
        """OrderBook listener: the order, its updates and its cancellation go to the crew."""
        order = change.order
        if change.previous is None:
            self.send(
                order.asset_id, MessageType.ORDER, {**order.to_dict(), "incident": self._incident(order)}, order.id
            )
        elif order.state is OrderState.CANCELLED:
            reason = order.history[-1].detail
            data = {"order_id": order.id, "by": order.history[-1].by, "reason": reason, "order": order.to_dict()}
            self.send(order.asset_id, MessageType.CANCEL, data, order.id)
        else:
            self.send(order.asset_id, MessageType.ORDER_UPDATE, order.to_dict(), order.id)

    def send(self, asset_id: str, type_: MessageType, data: Any, order_id: str | None = None) -> CrewMessage:
        """Append to the asset's outbox and offer to its connections."""
        box = self._box(asset_id)
        box.seq += 1
        msg = CrewMessage.make(type_, box.seq, self.clock(), data, order_id)
        box.messages.append(msg)
        if len(box.messages) > self.cap:
            self._evict(asset_id, box)
        for sub in list(box.subs):
            sub.offer(msg)
        return msg

    def messages(self, asset_id: str) -> list[CrewMessage]:
        """The asset's kept messages, oldest first."""
        return list(self._box(asset_id).messages)

    def connect(self, asset_id: str, since: int | None, epoch: str | None = None) -> Connection:
        """Subscribe a connection. ``since`` from this server run: every kept message after it.
        No ``since`` (or one from another run, or ahead of this run): the open order's messages."""
        box = self._box(asset_id)
        sub = CrewSubscription(CLIENT_QUEUE)
        box.subs.add(sub)
        reset = since is not None and ((epoch is not None and epoch != self.epoch) or since > box.seq)
        open_order = self.orders.open_order(asset_id)
        if since is not None and not reset:
            backlog = [m for m in box.messages if m.seq > since]
            start = since
        else:
            backlog = [m for m in box.messages if open_order is not None and m.order_id == open_order.id]
            start = 0
        hello = {
            "asset": self.fleet.get(asset_id).to_dict(),
            "epoch": self.epoch,
            "latest_seq": box.seq,
            "oldest_seq": box.messages[0].seq if box.messages else box.seq + 1,
            "resumed": since is not None and not reset,
            "reset": reset,
            "open_order": open_order.to_dict() if open_order is not None else None,
        }
        return Connection(sub, CrewMessage.make(MessageType.HELLO, start, self.clock(), hello), backlog)

    def disconnect(self, asset_id: str, sub: CrewSubscription) -> None:
        self._box(asset_id).subs.discard(sub)

    # -- crew -> server ---------------------------------------------------------------------

    def handle(self, asset_id: str, text: str) -> CrewMessage | None:
        """Apply one crew message and queue the reply (``ack`` or ``error``); a resent id gets
        its first reply again. A ``hello`` after the first message is ignored (None)."""
        try:
            msg = parse(text)
        except BadMessage as exc:
            return self.send(asset_id, MessageType.ERROR, {"ref": exc.ref, "message": str(exc)})
        if isinstance(msg, HelloIn):
            return None
        box = self._box(asset_id)
        reply = box.replies.get(msg.id)
        if reply is None:
            reply = self._apply(asset_id, msg)
            box.replies[msg.id] = reply
            if len(box.replies) > REPLIES_KEPT:
                box.replies.popitem(last=False)
        return self.send(asset_id, *reply)

    def _apply(self, asset_id: str, msg: AcceptIn | DeclineIn | StatusIn | PositionIn) -> tuple[MessageType, Any]:
        now, by = self.clock(), f"crew:{asset_id}"
        try:
            result = self._result(asset_id, msg, now, by)
        except (OrderError, IncidentError) as exc:
            return MessageType.ERROR, {"ref": msg.id, "type": msg.type, "message": str(exc)}
        return MessageType.ACK, {"ref": msg.id, "type": msg.type, "result": result}

    def _result(
        self, asset_id: str, msg: AcceptIn | DeclineIn | StatusIn | PositionIn, now: datetime, by: str
    ) -> dict[str, Any]:
        if isinstance(msg, AcceptIn):
            order, applied = self.orders.accept(msg.order_id, by, now, asset_id)
            return {"order_id": order.id, "state": order.state.value, "applied": applied}
        if isinstance(msg, DeclineIn):
            order = self.orders.decline(msg.order_id, by, now, msg.reason, asset_id)
            return {"order_id": order.id, "state": order.state.value}
        if isinstance(msg, StatusIn):
            maybe, asset = self.orders.crew_status(asset_id, msg.status, by, now, msg.order_id)
            return {
                "order_id": maybe.id if maybe else None,
                "state": maybe.state.value if maybe else None,
                "asset_status": asset.status.value,
            }
        if msg.time > now + FUTURE_TOLERANCE:
            raise OrderError(f"position time {msg.time.isoformat()} is in the future (server time {now.isoformat()})")
        asset = self.orders.position(asset_id, msg.lon, msg.lat, msg.time)
        current = self.orders.open_order(asset_id)
        return {"asset_status": asset.status.value, "eta_s": current.eta_s if current else None}

    # -- internals --------------------------------------------------------------------------

    def _box(self, asset_id: str) -> _Outbox:
        box = self._boxes.get(asset_id)
        if box is None:
            self.fleet.get(asset_id)  # raises UnknownAsset
            box = self._boxes[asset_id] = _Outbox()
        return box

    def _evict(self, asset_id: str, box: _Outbox) -> None:
        """Drop the oldest message that belongs to no open order (never the open order's)."""
        open_order = self.orders.open_order(asset_id)
        keep = open_order.id if open_order is not None else None
        for i, m in enumerate(box.messages):
            if m.order_id is None or m.order_id != keep:
                del box.messages[i]
                return

    def _incident(self, order: Order) -> dict[str, Any]:
        """What the crew needs to know of the incident to go there."""
        i = self.incidents.get(order.incident_id)
        return {
            "id": i.id,
            "type": i.type.value,
            "title": i.title,
            "impact": i.impact.value,
            "sar_phase": i.sar_phase.value if i.sar_phase else None,
            "lon": i.lon,
            "lat": i.lat,
            "section": i.section,
            "river_km": i.river_km,
            "side": i.side,
        }
