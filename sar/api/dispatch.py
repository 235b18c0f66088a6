"""Dispatch over HTTP: send an asset to an incident, follow and cancel orders, see the fleet.

The routes are ``async`` so the order book is only ever touched from the event loop (the crew
socket and the deadline ticker run there too). Also here: the wiring of the order book and the
crew channel, the deadline ticker, and the plain ETA/proposal functions used until the
recommender is wired.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from geo.errors import GeoError
from geo.routing import RouteGraph
from sar.api.security import ANYONE, OPERATIONAL, READERS, CurrentUser, allow
from sar.auth.users import Role, User
from sar.dispatch.crew import CrewChannel
from sar.dispatch.fleet import AssetKind, AssetState, AssetStatus, Fleet, UnknownAsset
from sar.dispatch.orders import (
    AssetUnavailable,
    EtaFn,
    IncidentNotOpen,
    OrderBook,
    OrderConflict,
    OrderError,
    ProposeNext,
    UnknownOrder,
)
from sar.incidents.book import IncidentBook
from sar.incidents.model import Incident, UnknownIncident
from sar.live import LiveFeed
from sar.periodic import Periodic
from sensors.adapter import Clock

log = logging.getLogger(__name__)
router = APIRouter(tags=["dispatch"], dependencies=[allow(ANYONE, OPERATIONAL)])  # orders: crews see their own


def _orders(request: Request) -> OrderBook:
    orders: OrderBook = request.app.state.orders
    return orders


def _fleet(request: Request) -> Fleet:
    fleet: Fleet = request.app.state.fleet
    return fleet


Orders = Annotated[OrderBook, Depends(_orders)]
FleetDep = Annotated[Fleet, Depends(_fleet)]


class DispatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset_id: str = Field(min_length=1, max_length=40)
    by: str = Field(min_length=1, max_length=200, description="the operator who sends it")
    note: str = Field(default="", max_length=2000)
    eta_s: float | None = Field(default=None, ge=0, allow_inf_nan=False, description="default: by water, computed")


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str = Field(min_length=1, max_length=200)
    reason: str = Field(default="", max_length=2000)


def _error(exc: Exception) -> HTTPException:
    if isinstance(exc, UnknownIncident | UnknownAsset | UnknownOrder):
        return HTTPException(404, str(exc))
    if isinstance(exc, AssetUnavailable | IncidentNotOpen | OrderConflict):
        return HTTPException(409, str(exc))
    return HTTPException(400, str(exc))


@router.post("/api/incidents/{incident_id}/dispatch", status_code=201)
async def dispatch(incident_id: str, body: DispatchIn, request: Request, orders: Orders) -> dict[str, Any]:
    """Send an asset to an incident; the crew must accept within the ack deadline."""
    try:
        order = orders.dispatch(
            incident_id, body.asset_id, body.by, request.app.state.clock.now(), eta_s=body.eta_s, note=body.note
        )
    except (OrderError, UnknownIncident, UnknownAsset) as exc:
        raise _error(exc) from None
    return order.to_dict()


@router.get("/api/orders")
async def list_orders(
    orders: Orders,
    user: CurrentUser,
    open_only: Annotated[bool, Query(alias="open", description="open orders only")] = False,
) -> list[dict[str, Any]]:
    """Orders, oldest first; a crew sees only its own boat's."""
    return [o.to_dict() for o in orders.list(open_only) if _may_see(user, o.asset_id)]


@router.get("/api/orders/{order_id}")
async def get_order(order_id: str, orders: Orders, user: CurrentUser) -> dict[str, Any]:
    try:
        order = orders.get(order_id)
    except OrderError as exc:
        raise _error(exc) from None
    if not _may_see(user, order.asset_id):
        raise HTTPException(403, f"order {order.id} is for another asset: a crew sees only its own boat's orders")
    return order.to_dict()


def _may_see(user: User, asset_id: str) -> bool:
    return user.role is not Role.CREW or user.asset_id == asset_id


@router.post("/api/orders/{order_id}/cancel")
async def cancel_order(order_id: str, body: CancelIn, request: Request, orders: Orders) -> dict[str, Any]:
    """The operator cancels an open order; the crew gets a ``cancel`` message."""
    try:
        return orders.cancel(order_id, body.by, request.app.state.clock.now(), body.reason).to_dict()
    except OrderError as exc:
        raise _error(exc) from None


@router.get("/api/assets", dependencies=[allow(READERS)])
async def assets(fleet: FleetDep) -> list[dict[str, Any]]:
    """Every asset with its live state (status, position, open order)."""
    return [a.to_dict() for a in sorted(fleet.all(), key=lambda a: a.id)]


# -- wiring --------------------------------------------------------------------------------


def build(
    fleet: Fleet,
    book: IncidentBook,
    feed: LiveFeed,
    routes: RouteGraph,
    clock: Clock,
    ack_deadline_s: float,
    propose_next: ProposeNext | None = None,
) -> tuple[OrderBook, CrewChannel]:
    """The order book (publishing on the live feed) and the crew channel listening to it; the
    next asset after a decline or expiry comes from ``propose_next`` (the recommender in the
    app), else the nearest available boat by water."""
    proposer = propose_next or nearest_by_water(fleet, book, routes)
    orders = OrderBook(fleet, book, feed.publish, ack_deadline_s, water_eta(routes), proposer)
    crew = CrewChannel(fleet, orders, book, clock.now)
    orders.add_listener(crew.on_order_change)
    return orders, crew


class DeadlineTicker(Periodic):
    """Runs ``OrderBook.tick`` every ``period_s`` in the app's lifespan (expiry of unanswered orders)."""

    def __init__(self, orders: OrderBook, clock: Clock, period_s: float = 0.1) -> None:
        super().__init__("order-deadlines", period_s, lambda: orders.tick(clock.now()), log, "order deadline tick")


def water_eta(routes: RouteGraph) -> EtaFn:
    """ETA by water from the asset's position at its speed, plus its readiness while still at
    base; None where there is no route (another section, a dam, off the river)."""

    def eta(asset: AssetState, incident: Incident) -> float | None:
        p = asset.position
        try:
            route = routes.eta((p.lon, p.lat), (incident.lon, incident.lat), asset.config.speed_mps)
        except GeoError:
            return None
        ready_s = asset.config.readiness_min * 60.0 if asset.at_base else 0.0
        return round(ready_s + route.eta_s, 1)

    return eta


def nearest_by_water(fleet: Fleet, incidents: IncidentBook, routes: RouteGraph) -> ProposeNext:
    """A plain proposer until the recommender is wired: the available boat with the shortest
    ETA by water (readiness included), not counting the excluded assets."""
    eta = water_eta(routes)

    def propose(incident_id: str, exclude: frozenset[str]) -> dict[str, Any] | None:
        incident = incidents.get(incident_id)
        best: tuple[float, AssetState] | None = None
        for asset in fleet.all():
            if asset.id in exclude or asset.status is not AssetStatus.AVAILABLE or asset.config.kind != AssetKind.BOAT:
                continue
            eta_s = eta(asset, incident)
            if eta_s is not None and (best is None or eta_s < best[0]):
                best = (eta_s, asset)
        if best is None:
            return None
        eta_s, asset = best
        c = asset.config
        return {"asset_id": c.id, "call_sign": c.call_sign, "agency": c.agency.value, "eta_s": eta_s}

    return propose
