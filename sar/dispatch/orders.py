"""Orders to crews: dispatch, acknowledgement deadline, crew progress, cancel.

An order sends one asset to one incident. The crew accepts or declines within ``ack_deadline_s``;
an order not answered by then expires and, like a decline, alerts the operator on the live feed
with the next best asset proposed (``propose_next``, injected). An accepted order follows the
crew's reports forward only (en_route, on_scene, returning) to done. The asset's status in the
fleet follows its order. Every change goes on the live feed (``order`` and ``asset`` messages) and
to the listeners (the crew channel).

Not thread-safe: call it from the event loop only (the HTTP routes are ``async``).
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sar.dispatch.fleet import AssetState, AssetStatus, Fleet
from sar.incidents.book import IncidentBook
from sar.incidents.model import Incident, IncidentStatus

log = logging.getLogger(__name__)


class OrderState(StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RETURNING = "returning"
    DONE = "done"
    CANCELLED = "cancelled"


class CrewStatus(StrEnum):
    """What a crew reports about itself."""

    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RETURNING = "returning"
    AVAILABLE = "available"


OPEN_STATES = frozenset(
    {OrderState.SENT, OrderState.ACCEPTED, OrderState.EN_ROUTE, OrderState.ON_SCENE, OrderState.RETURNING}
)
# an accepted order moves forward along this line only (steps may be skipped)
_PROGRESS = (OrderState.ACCEPTED, OrderState.EN_ROUTE, OrderState.ON_SCENE, OrderState.RETURNING, OrderState.DONE)
_FROM_CREW = {
    CrewStatus.EN_ROUTE: OrderState.EN_ROUTE,
    CrewStatus.ON_SCENE: OrderState.ON_SCENE,
    CrewStatus.RETURNING: OrderState.RETURNING,
    CrewStatus.AVAILABLE: OrderState.DONE,
}
_ASSET_STATUS = {
    OrderState.SENT: AssetStatus.ASSIGNED,
    OrderState.ACCEPTED: AssetStatus.ASSIGNED,
    OrderState.EN_ROUTE: AssetStatus.EN_ROUTE,
    OrderState.ON_SCENE: AssetStatus.ON_SCENE,
    OrderState.RETURNING: AssetStatus.RETURNING,
}
_DISPATCHABLE = frozenset({AssetStatus.AVAILABLE, AssetStatus.RETURNING})


@dataclass(frozen=True)
class HistoryEntry:
    time: datetime
    state: OrderState
    by: str
    detail: str


@dataclass(frozen=True)
class Order:
    """A frozen snapshot; the book replaces it on every change."""

    id: str
    incident_id: str
    asset_id: str
    agency: str
    created_at: datetime
    deadline: datetime
    state: OrderState
    by: str
    note: str
    eta_s: float | None
    updated_at: datetime
    history: tuple[HistoryEntry, ...]

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "incident_id": self.incident_id,
            "asset_id": self.asset_id,
            "agency": self.agency,
            "state": self.state.value,
            "open": self.is_open,
            "created_at": self.created_at.isoformat(),
            "deadline": self.deadline.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "by": self.by,
            "note": self.note,
            "eta_s": self.eta_s,
            "history": [
                {"time": h.time.isoformat(), "state": h.state.value, "by": h.by, "detail": h.detail}
                for h in self.history
            ],
        }


class OrderError(Exception):
    """An order cannot be made or changed; the message is one operator-readable line."""


class UnknownOrder(OrderError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown order"


class AssetUnavailable(OrderError):
    """The asset is busy with another order or out of service."""


class IncidentNotOpen(OrderError):
    """Orders go to open incidents only."""


class OrderConflict(OrderError):
    """The order's state does not allow this (e.g. accepting an expired order)."""


@dataclass(frozen=True)
class OrderChange:
    """What listeners hear: a new order (``previous`` None) or a change of state. Declines and
    expiries carry the operator's ``alert`` and the ``proposal`` of the next asset."""

    order: Order
    previous: OrderState | None
    alert: str | None = None
    proposal: dict[str, Any] | None = None


EtaFn = Callable[[AssetState, Incident], float | None]
ProposeNext = Callable[[str, frozenset[str]], dict[str, Any] | None]
Publish = Callable[[str, Any], object]
Listener = Callable[[OrderChange], None]
Persist = Callable[[OrderChange | None, AssetState], None]  # (change or None, the asset after): commit or raise


class OrderBook:
    """All orders (open and closed). ``publish`` is the live feed's; ``eta_fn`` gives an asset's
    ETA to an incident (refreshed on every position report); ``propose_next`` the next best asset
    for an incident, not counting the excluded ones; ``persist`` (the store) is called with every
    change and the asset's state after it before anything is kept, published or sent."""

    def __init__(
        self,
        fleet: Fleet,
        incidents: IncidentBook,
        publish: Publish,
        ack_deadline_s: float = 60.0,
        eta_fn: EtaFn | None = None,
        propose_next: ProposeNext | None = None,
        persist: Persist | None = None,
    ) -> None:
        self.fleet, self.incidents, self.publish, self.persist = fleet, incidents, publish, persist
        self.ack_deadline = timedelta(seconds=ack_deadline_s)
        self.eta_fn, self.propose_next = eta_fn, propose_next
        self._orders: dict[str, Order] = {}
        self._open_by_asset: dict[str, str] = {}
        self._awaiting: set[str] = set()  # orders in state sent
        self._tried: dict[str, set[str]] = {}  # incident -> assets that declined or let an order expire
        self._listeners: list[Listener] = []
        self._count = 0

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    # -- queries ----------------------------------------------------------------------------

    def get(self, order_id: str, asset_id: str | None = None) -> Order:
        """An order; with ``asset_id``, only if it is that asset's (a crew sees its own only)."""
        order = self._orders.get(order_id)
        if order is None or (asset_id is not None and order.asset_id != asset_id):
            whose = f" for asset {asset_id}" if asset_id is not None else ""
            raise UnknownOrder(f"no order {order_id!r}{whose}")
        return order

    def list(self, open_only: bool = False) -> builtins.list[Order]:
        """Orders, oldest first."""
        return [o for o in self._orders.values() if o.is_open or not open_only]

    def open_order(self, asset_id: str) -> Order | None:
        oid = self._open_by_asset.get(asset_id)
        return self._orders[oid] if oid is not None else None

    # -- operator ---------------------------------------------------------------------------

    def dispatch(
        self, incident_id: str, asset_id: str, by: str, now: datetime, eta_s: float | None = None, note: str = ""
    ) -> Order:
        """Send an asset to an incident. Raises UnknownIncident, UnknownAsset, IncidentNotOpen or
        AssetUnavailable (busy with another order, or out of service)."""
        incident = self.incidents.get(incident_id)
        asset = self.fleet.get(asset_id)
        if incident.status is not IncidentStatus.OPEN:
            raise IncidentNotOpen(f"incident {incident_id} is closed; orders go to open incidents only")
        self._check_free(asset)
        self._count += 1
        name = f"{asset.config.call_sign} ({asset_id})"
        detail = f"{name} sent to incident {incident_id}" + (f": {note}" if note else "")
        order = Order(
            id=f"O{self._count:04d}",
            incident_id=incident_id,
            asset_id=asset_id,
            agency=asset.config.agency.value,
            created_at=now,
            deadline=now + self.ack_deadline,
            state=OrderState.SENT,
            by=by,
            note=note,
            eta_s=eta_s if eta_s is not None else self._eta(asset, incident),
            updated_at=now,
            history=(HistoryEntry(now, OrderState.SENT, by, detail),),
        )
        self._save(OrderChange(order, None), now)
        self._open_by_asset[asset_id] = order.id
        self._awaiting.add(order.id)
        self._commit(order, None, now)
        return order

    def cancel(self, order_id: str, by: str, now: datetime, reason: str = "") -> Order:
        order = self.get(order_id)
        if not order.is_open:
            raise OrderConflict(f"order {order_id} is already {order.state.value}")
        return self._move(order, OrderState.CANCELLED, by, now, reason or "cancelled by the operator")

    # -- crew -------------------------------------------------------------------------------

    def accept(self, order_id: str, by: str, now: datetime, asset_id: str | None = None) -> tuple[Order, bool]:
        """Accept an order; ``(order, applied)``: an order already accepted (by another device of
        the crew) is returned unchanged. Raises OrderConflict ("order expired") on a closed order."""
        self.tick(now)
        order = self.get(order_id, asset_id)
        if order.state is OrderState.SENT:
            return self._move(order, OrderState.ACCEPTED, by, now, "accepted by the crew"), True
        if order.state in _PROGRESS and order.state is not OrderState.DONE:
            return order, False
        raise OrderConflict(f"order {order.state.value}")

    def decline(self, order_id: str, by: str, now: datetime, reason: str, asset_id: str | None = None) -> Order:
        """Decline an order not yet accepted; the operator is alerted and the next asset proposed."""
        self.tick(now)
        order = self.get(order_id, asset_id)
        if order.state is OrderState.DECLINED:
            return order
        if order.state is not OrderState.SENT:
            state = order.state.value
            hint = "; report status available to stand down" if order.is_open else ""
            raise OrderConflict(f"order {'already ' if order.is_open else ''}{state}{hint}")
        return self._escalate(order, OrderState.DECLINED, by, now, f"declined: {reason}")

    def crew_status(
        self, asset_id: str, status: CrewStatus, by: str, now: datetime, order_id: str | None = None
    ) -> tuple[Order | None, AssetState]:
        """A crew's status report. With an open order it moves the order forward (``available`` =
        done); without one, only ``available`` and ``returning`` are meaningful (after a cancel)."""
        self.tick(now)
        order = self.get(order_id, asset_id) if order_id is not None else self.open_order(asset_id)
        if order is None:
            if status not in (CrewStatus.AVAILABLE, CrewStatus.RETURNING):
                raise OrderConflict(f"no open order: status {status.value} needs one")
            if self.fleet.get(asset_id).status is AssetStatus.OUT_OF_SERVICE:
                raise OrderConflict("asset is out of service; only the operator can put it back in service")
            return None, self._set_asset(asset_id, AssetStatus(status.value), now)
        if order.state is OrderState.SENT:
            raise OrderConflict("accept the order first")
        if not order.is_open:
            raise OrderConflict(f"order {order.state.value}")
        target = _FROM_CREW[status]
        step, current = _PROGRESS.index(target), _PROGRESS.index(order.state)
        if step < current:
            raise OrderConflict(f"order is {order.state.value}; status {status.value} would go back")
        if step > current:
            order = self._move(order, target, by, now, f"crew reports {status.value}")
        return order, self.fleet.get(asset_id)

    def position(self, asset_id: str, lon: float, lat: float, time: datetime, source: str = "crew") -> AssetState:
        """A position report; the open order's ETA is refreshed from it."""
        state = self.fleet.set_position(asset_id, lon, lat, time, source)
        self.publish("asset", state.to_dict())
        order = self.open_order(asset_id)
        if order is not None and self.eta_fn is not None:
            eta = self._eta(state, self.incidents.get(order.incident_id))
            if eta != order.eta_s:
                order = replace(order, eta_s=eta)
                self._orders[order.id] = order
                self.publish("order", order.to_dict())
        return state

    # -- restart ----------------------------------------------------------------------------

    def restore(self, orders: Iterable[Order], last_number: int) -> None:
        """Take back the orders kept before a restart (deadlines as they were: one that passed
        while the server was down expires at the next ``tick``); ids continue after ``last_number``."""
        self._count = max(self._count, last_number)
        for order in sorted(orders, key=lambda o: (o.created_at, o.id)):
            self._orders[order.id] = order
            if order.is_open:
                self._open_by_asset[order.asset_id] = order.id
            if order.state is OrderState.SENT:
                self._awaiting.add(order.id)
            if order.state in (OrderState.DECLINED, OrderState.EXPIRED):
                self._tried.setdefault(order.incident_id, set()).add(order.asset_id)

    # -- deadlines --------------------------------------------------------------------------

    def tick(self, now: datetime) -> builtins.list[Order]:
        """Expire every order not accepted or declined by its deadline; return them."""
        due = sorted(oid for oid in self._awaiting if self._orders[oid].deadline <= now)
        expired = []
        for oid in due:
            order = self._orders[oid]
            detail = f"not acknowledged within {(order.deadline - order.created_at).total_seconds():g} s"
            expired.append(self._escalate(order, OrderState.EXPIRED, "system", now, detail))
        return expired

    # -- internals --------------------------------------------------------------------------

    def _check_free(self, asset: AssetState) -> None:
        name = f"{asset.config.call_sign} ({asset.id})"
        busy = self.open_order(asset.id)
        if busy is not None:
            raise AssetUnavailable(
                f"asset {name} is busy: order {busy.id} ({busy.state.value}) for incident {busy.incident_id}"
            )
        if asset.status is AssetStatus.OUT_OF_SERVICE:
            raise AssetUnavailable(f"asset {name} is out of service")
        if asset.status not in _DISPATCHABLE:
            raise AssetUnavailable(f"asset {name} is busy ({asset.status.value})")

    def _escalate(self, order: Order, state: OrderState, by: str, now: datetime, detail: str) -> Order:
        """Decline or expiry: close the order, alert the operator, propose the next asset."""
        tried = self._tried.setdefault(order.incident_id, set())
        tried.add(order.asset_id)
        asset = self.fleet.get(order.asset_id)
        alert = f"order {order.id} to {asset.config.call_sign} ({order.asset_id}) {state.value}: {detail}"
        return self._move(order, state, by, now, detail, alert=alert, proposal=self._propose(order.incident_id))

    def _propose(self, incident_id: str) -> dict[str, Any] | None:
        if self.propose_next is None:
            return None
        busy = {o.asset_id for o in self._orders.values() if o.is_open and o.incident_id == incident_id}
        try:
            return self.propose_next(incident_id, frozenset(self._tried.get(incident_id, set()) | busy))
        except Exception:  # the alert must go out even when the recommender fails
            log.exception("propose_next failed for incident %s", incident_id)
            return None

    def _move(
        self,
        order: Order,
        state: OrderState,
        by: str,
        now: datetime,
        detail: str,
        alert: str | None = None,
        proposal: dict[str, Any] | None = None,
    ) -> Order:
        new = replace(
            order, state=state, updated_at=now, history=(*order.history, HistoryEntry(now, state, by, detail))
        )
        self._save(OrderChange(new, order.state, alert, proposal), now)
        self._awaiting.discard(order.id)
        if not new.is_open:
            self._open_by_asset.pop(order.asset_id, None)
        self._commit(new, order.state, now, alert, proposal)
        return new

    def _commit(
        self,
        order: Order,
        previous: OrderState | None,
        now: datetime,
        alert: str | None = None,
        proposal: dict[str, Any] | None = None,
    ) -> None:
        """Store the order, make the fleet follow it, publish both (the order first), tell listeners."""
        self._orders[order.id] = order
        status = _ASSET_STATUS[order.state] if order.is_open else AssetStatus.AVAILABLE
        asset = self.fleet.set_status(order.asset_id, status, now, order.id if order.is_open else None)
        data = order.to_dict()
        if alert is not None:
            data = {**data, "alert": alert, "proposal": proposal}
        self.publish("order", data)
        self.publish("asset", asset.to_dict())
        change = OrderChange(order, previous, alert, proposal)
        for listener in self._listeners:
            listener(change)

    def _save(self, change: OrderChange, now: datetime) -> None:
        """Persist a change with the asset's state after it, before anything else happens."""
        if self.persist is not None:
            order = change.order
            status = _ASSET_STATUS[order.state] if order.is_open else AssetStatus.AVAILABLE
            oid = order.id if order.is_open else None
            self.persist(change, self.fleet.preview_status(order.asset_id, status, now, oid))

    def _set_asset(self, asset_id: str, status: AssetStatus, now: datetime, order_id: str | None = None) -> AssetState:
        if self.persist is not None:
            self.persist(None, self.fleet.preview_status(asset_id, status, now, order_id))
        state = self.fleet.set_status(asset_id, status, now, order_id)
        self.publish("asset", state.to_dict())
        return state

    def _eta(self, asset: AssetState, incident: Incident) -> float | None:
        if self.eta_fn is None:
            return None
        try:
            return self.eta_fn(asset, incident)
        except Exception:  # an ETA is a convenience; the order stands without it
            log.exception("eta_fn failed for asset %s", asset.id)
            return None
