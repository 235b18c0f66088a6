"""Domain values <-> table rows: incidents with their timelines, orders with their history, asset
states. Pure functions; the store decides when to write and read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sar.dispatch.fleet import AssetState, AssetStatus, Position
from sar.dispatch.orders import HistoryEntry, Order, OrderState
from sar.incidents.model import (
    Impact,
    Incident,
    IncidentStatus,
    IncidentType,
    SarPhase,
    TimelineEntry,
    TimelineEvent,
)
from sar.store.schema import AssetStateRow, IncidentEventRow, IncidentRow, OrderEventRow, OrderRow

TIMELINE_EVENTS = frozenset(e.value for e in TimelineEvent)


def incident_values(i: Incident) -> dict[str, Any]:
    return {
        "id": i.id,
        "type": i.type.value,
        "impact": i.impact.value,
        "confidence": i.confidence,
        "sar_phase": i.sar_phase.value if i.sar_phase else None,
        "lon": i.lon,
        "lat": i.lat,
        "section": i.section,
        "river_km": i.river_km,
        "side": i.side,
        "agencies": sorted(i.agencies_to_notify),
        "track_ids": list(i.track_ids),
        "status": i.status.value,
        "opened_at": i.opened_at,
        "updated_at": i.updated_at,
        "closed_at": i.closed_at,
        "closed_by": i.closed_by,
        "title": i.title,
        "source": i.source,
    }


def timeline_values(i: Incident, entries: Iterable[TimelineEntry]) -> list[dict[str, Any]]:
    """Timeline entries as ``incident_events`` rows; who raised or closed it as the actor."""
    actor = {TimelineEvent.DETECTED: i.source, TimelineEvent.CLOSED: i.closed_by}
    return [
        {
            "incident_id": i.id,
            "time": e.time,
            "event": e.event.value,
            "detail": e.detail,
            "actor": actor.get(e.event),
            "asset_id": None,
            "agency": None,
        }
        for e in entries
    ]


def incident_from(row: IncidentRow, events: Iterable[IncidentEventRow]) -> Incident:
    """An incident from its row and its ``incident_events`` (timeline entries only are kept)."""
    timeline = tuple(
        TimelineEntry(e.time, TimelineEvent(e.event), e.detail) for e in events if e.event in TIMELINE_EVENTS
    )
    return Incident(
        id=row.id,
        type=IncidentType(row.type),
        impact=Impact(row.impact),
        confidence=row.confidence,
        sar_phase=SarPhase(row.sar_phase) if row.sar_phase else None,
        lon=row.lon,
        lat=row.lat,
        section=row.section,
        river_km=row.river_km,
        side=row.side,
        agencies_to_notify=frozenset(str(a) for a in row.agencies),
        track_ids=tuple(str(t) for t in row.track_ids),
        status=IncidentStatus(row.status),
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        title=row.title,
        source=row.source,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        timeline=timeline,
    )


def order_values(o: Order) -> dict[str, Any]:
    return {
        "id": o.id,
        "incident_id": o.incident_id,
        "asset_id": o.asset_id,
        "agency": o.agency,
        "state": o.state.value,
        "created_at": o.created_at,
        "deadline": o.deadline,
        "updated_at": o.updated_at,
        "by": o.by,
        "note": o.note,
        "eta_s": o.eta_s,
        "data": o.to_dict(),
    }


def history_values(order_id: str, h: HistoryEntry) -> dict[str, Any]:
    return {"order_id": order_id, "time": h.time, "state": h.state.value, "by": h.by, "detail": h.detail}


def order_from(row: OrderRow, events: Iterable[OrderEventRow]) -> Order:
    return Order(
        id=row.id,
        incident_id=row.incident_id,
        asset_id=row.asset_id,
        agency=row.agency,
        created_at=row.created_at,
        deadline=row.deadline,
        state=OrderState(row.state),
        by=row.by,
        note=row.note,
        eta_s=row.eta_s,
        updated_at=row.updated_at,
        history=tuple(HistoryEntry(e.time, OrderState(e.state), e.by, e.detail) for e in events),
    )


def asset_values(s: AssetState) -> dict[str, Any]:
    p = s.position
    return {
        "id": s.id,
        "status": s.status.value,
        "status_since": s.status_since,
        "lon": p.lon,
        "lat": p.lat,
        "position_time": p.time,
        "position_source": p.source,
        "order_id": s.order_id,
    }


@dataclass(frozen=True)
class StoredAsset:
    """An asset's live state as kept (its configuration comes from the fleet file)."""

    id: str
    status: AssetStatus
    status_since: datetime
    position: Position
    order_id: str | None


def stored_asset(row: AssetStateRow) -> StoredAsset:
    position = Position(row.lon, row.lat, row.position_time, row.position_source)
    return StoredAsset(row.id, AssetStatus(row.status), row.status_since, position, row.order_id)
