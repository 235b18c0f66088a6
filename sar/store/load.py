"""Reading back what a restarting server needs (see :meth:`sar.store.store.Store.restore`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from sar.dispatch.orders import OPEN_STATES, Order
from sar.incidents.model import Incident
from sar.store import convert
from sar.store.schema import (
    STAGES,
    AssetStateRow,
    IncidentEventRow,
    IncidentRow,
    OrderEventRow,
    OrderRow,
    SensorHealthEventRow,
)

OPEN = [s.value for s in OPEN_STATES]
STAGE_NAMES = frozenset(s.value for s in STAGES)


@dataclass(frozen=True)
class Restored:
    """What a restarting server gets back."""

    incidents: list[Incident]
    orders: list[Order]
    assets: list[convert.StoredAsset]
    last_incident: int  # the highest incident number ever given (I0042 -> 42)
    last_order: int
    stages: dict[str, set[str]]  # the response stages each restored incident has reached
    sensors: dict[str, str]  # each sensor's last kept status


def kept(s: Session, closed_since: datetime) -> Restored:
    """Incidents open, closed since ``closed_since`` or with an open order (timelines included),
    their orders and every open order (with history), every asset state, the id counters."""
    with_open_order = select(OrderRow.incident_id).where(OrderRow.state.in_(OPEN))
    keep = or_(IncidentRow.status == "open", IncidentRow.closed_at >= closed_since, IncidentRow.id.in_(with_open_order))
    ids = select(IncidentRow.id).where(keep)
    events = _grouped(
        s.scalars(
            select(IncidentEventRow)
            .where(IncidentEventRow.incident_id.in_(ids))
            .order_by(IncidentEventRow.time, IncidentEventRow.id)
        ),
        lambda e: e.incident_id,
    )
    rows = s.scalars(select(IncidentRow).where(keep).order_by(IncidentRow.opened_at, IncidentRow.id))
    return Restored(
        incidents=[convert.incident_from(r, events.get(r.id, [])) for r in rows],
        orders=_orders(s, or_(OrderRow.incident_id.in_(ids), OrderRow.state.in_(OPEN))),
        assets=[convert.stored_asset(r) for r in s.scalars(select(AssetStateRow).order_by(AssetStateRow.id))],
        last_incident=_highest(s.scalars(select(IncidentRow.id).where(IncidentRow.id.like("I%"))), "I"),
        last_order=_highest(s.scalars(select(OrderRow.id).where(OrderRow.id.like("O%"))), "O"),
        stages={i: {e.event for e in evs if e.event in STAGE_NAMES} for i, evs in events.items()},
        sensors=_last_sensor_status(s),
    )


def _orders(s: Session, chosen: ColumnElement[bool]) -> list[Order]:
    order_ids: Select[tuple[str]] = select(OrderRow.id).where(chosen)
    history = _grouped(
        s.scalars(
            select(OrderEventRow)
            .where(OrderEventRow.order_id.in_(order_ids))
            .order_by(OrderEventRow.time, OrderEventRow.id)
        ),
        lambda e: e.order_id,
    )
    rows = s.scalars(select(OrderRow).where(chosen).order_by(OrderRow.created_at, OrderRow.id))
    return [convert.order_from(r, history.get(r.id, [])) for r in rows]


def _grouped(rows: Iterable[Any], key: Callable[[Any], str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for r in rows:
        out.setdefault(key(r), []).append(r)
    return out


def _highest(ids: Iterable[str], prefix: str) -> int:
    """The highest number of ids like ``I0042`` (numerically: ``I10000`` is above ``I9999``)."""
    numbers = [int(i[len(prefix) :]) for i in ids if i[len(prefix) :].isdigit()]
    return max(numbers, default=0)


def _last_sensor_status(s: Session) -> dict[str, str]:
    """Each sensor's last kept status (rows are appended: the highest id is the latest)."""
    last = select(func.max(SensorHealthEventRow.id)).group_by(SensorHealthEventRow.sensor_id)
    rows = s.execute(
        select(SensorHealthEventRow.sensor_id, SensorHealthEventRow.status).where(SensorHealthEventRow.id.in_(last))
    )
    return {sensor: status for sensor, status in rows}
