"""Ties a :class:`Store` to a built app: lock and migrate, restore what the last run kept, hook the
incident and order books, record stages at the HTTP edge. Called once by ``create_app``.

Restore rules (see ``docs/storage.md``): incidents (open ones, closed ones of the last
``closed_restore_days``, and any with an open order) with their timelines; their orders and every
open order with its deadline (one that passed while the server was down expires at the first
tick of the deadline ticker, with the operators' alert); asset states; the id counters (no id is
given twice). Each open order is offered again on its crew's channel, whose sequence numbers
restart with the new server run (``epoch``): a crew that reconnects gets ``reset`` and its open
order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sar.dispatch.crew import CrewChannel
from sar.dispatch.fleet import Fleet, UnknownAsset
from sar.dispatch.orders import OrderBook, OrderChange
from sar.incidents.book import IncidentBook
from sar.store.engine import StoreError
from sar.store.http import StoreMiddleware
from sar.store.keeper import Keeper
from sar.store.store import Store

log = logging.getLogger("sar.store")


@dataclass(frozen=True)
class RestoreSummary:
    incidents: int
    open_incidents: int
    orders: int
    open_orders: int
    assets: int
    last_incident: int
    last_order: int

    def line(self) -> str:
        return (
            f"restored {self.incidents} incidents ({self.open_incidents} open), {self.orders} orders "
            f"({self.open_orders} open), {self.assets} asset states"
        )


def attach_store(app: FastAPI, store: Store) -> Keeper:
    """Open ``store`` for this server and wire it in; returns the keeper for the app's lifespan.
    Raises StoreError (another server holds the database, unreachable, not migratable)."""
    st = app.state
    store.clock = st.clock.now
    store.open(server=True)
    summary = restore(store, st.book, st.orders, st.fleet, st.crew)
    st.store, st.restored = store, summary
    st.coverage_watch.record = store.coverage_sample  # coverage over time, for the reports
    sessions = st.auth.sessions  # logins survive a restart
    sessions.load(store.load_sessions())
    sessions.on_issue, sessions.on_revoke = store.save_session, store.delete_session
    app.add_middleware(StoreMiddleware, store=store)
    app.add_exception_handler(StoreError, _unavailable)
    return Keeper(store, st.pipeline.tracker.tracks, st.hub.health, st.fleet, st.orders, st.clock)


def restore(store: Store, book: IncidentBook, orders: OrderBook, fleet: Fleet, crew: CrewChannel) -> RestoreSummary:
    """Put the kept state back into the books and the fleet, then hook them to the store."""
    now = store.clock()
    kept = store.restore(now)
    book.persist = store.incident_changed
    book.restore(kept.incidents, kept.last_incident, now)
    for a in kept.assets:
        try:
            fleet.restore(a.id, a.status, a.status_since, a.position, a.order_id)
        except UnknownAsset:
            log.warning("asset %s is kept in storage but no longer in the fleet: ignored", a.id)
    known = {a.id for a in fleet.all()}
    chosen = [o for o in kept.orders if o.asset_id in known or not o.is_open]
    orders.restore(chosen, kept.last_order)
    orders.persist = store.order_changed
    store.put_assets(fleet.all())
    reoffered = orders.list(open_only=True)
    for order in reoffered:
        crew.on_order_change(OrderChange(order, None))
    return RestoreSummary(
        incidents=len(kept.incidents),
        open_incidents=sum(1 for i in kept.incidents if i.status.value == "open"),
        orders=len(chosen),
        open_orders=len(reoffered),
        assets=len(kept.assets),
        last_incident=kept.last_incident,
        last_order=kept.last_order,
    )


async def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """Not stored, so not done: the client may retry."""
    return JSONResponse(status_code=503, content={"detail": str(exc)})
