"""The store: write-through persistence of everything a restart must not lose, and the response
stages that reports measure.

The incident and order books call :meth:`Store.incident_changed` / :meth:`Store.order_changed`
inside their change methods *before* they keep or publish the change: one transaction per change
(the row, its new timeline or history entries, the asset's state, the response stages reached,
the audit entry), committed durably before anyone is told. A failed commit raises
:class:`StoreError` and the change does not happen (the HTTP edge answers 503).

Response stages (``incident_events.event``, each at most once per incident, none after
``resolved``): ``detected`` (the book's own first timeline entry), ``alerted``, ``acknowledged``,
``dispatched``, ``accepted``, ``under_way``, ``on_scene``, ``resolved``.

Call the write hooks from the event loop; :meth:`add_track_points` and
:meth:`delete_track_points` may run in a worker thread (they touch no shared state).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from sar.auth.sessions import Grant
from sar.dispatch.coverage import Coverage
from sar.dispatch.fleet import AssetState
from sar.dispatch.orders import Order, OrderChange, OrderState
from sar.incidents.model import Incident, IncidentStatus
from sar.store import convert, load
from sar.store.actor import actor_agency, actor_name
from sar.store.config import StorageSettings
from sar.store.engine import ServerLock, StoreError, describe, make_engine, make_folder, safe_url
from sar.store.load import Restored
from sar.store.migrate import upgrade
from sar.store.schema import (
    AssetStateRow,
    AuditRow,
    CoverageSampleRow,
    IncidentEventRow,
    IncidentRow,
    OrderEventRow,
    OrderRow,
    SensorHealthEventRow,
    SessionRow,
    Stage,
    TrackPointRow,
)
from sensors.adapter import SensorHealth

log = logging.getLogger("sar.store")

_ORDER_STAGE = {
    OrderState.ACCEPTED: Stage.ACCEPTED,
    OrderState.EN_ROUTE: Stage.UNDER_WAY,
    OrderState.ON_SCENE: Stage.ON_SCENE,
}


class Store:
    def __init__(self, settings: StorageSettings, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.engine = make_engine(settings)  # lazy: nothing is touched before open()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.opened = False
        self._lock: ServerLock | None = None
        self._stages: dict[str, set[str]] = {}  # stages reached per incident (restored or made here)
        self._positions: dict[str, tuple[float, float, datetime, str]] = {}
        self._etas: dict[str, float | None] = {}
        self._sensors: dict[str, str] = {}

    @property
    def where(self) -> str:
        """The database, password hidden."""
        return safe_url(str(self.engine.url))

    def open(self, *, server: bool = False) -> None:
        """Migrate to the newest schema; a server first takes the one-server lock."""
        make_folder(self.engine)
        if server:
            self._lock = ServerLock(self.engine)
            self._lock.acquire()
        upgrade(self.engine)
        self.opened = True

    def close(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        self.engine.dispose()
        self.opened = False

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One committed transaction; a database error becomes StoreError (rolled back)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"storage failed ({self.where}): {describe(exc)}") from exc

    # -- write-through hooks ------------------------------------------------------------------

    def incident_changed(self, new: Incident, old: Incident | None) -> None:
        """IncidentBook hook: the incident's row and its new timeline entries; ``resolved`` when
        it closes (``acknowledged`` too when an operator closes it first)."""
        entries = new.timeline[len(old.timeline) :] if old is not None else new.timeline
        pending: dict[str, set[str]] = {new.id: {Stage.DETECTED.value}} if old is None else {}
        with self.transaction() as conn:
            values = convert.incident_values(new)
            if old is None:
                conn.execute(insert(IncidentRow).values(values))
            else:
                conn.execute(update(IncidentRow).where(IncidentRow.id == new.id).values(values))
            rows = convert.timeline_values(new, entries)
            if new.status is IncidentStatus.CLOSED and (old is None or old.status is IncidentStatus.OPEN):
                rows += self._closing(conn, pending, new)
            if rows:
                conn.execute(insert(IncidentEventRow), rows)
            if old is None and new.source.startswith("report:"):
                who = new.source.removeprefix("report:")
                self._audit(conn, "report", new.id, {"type": new.type.value, "reporter": who}, actor_name(who))
        self._reached(pending)

    def _closing(self, conn: Connection, pending: dict[str, set[str]], new: Incident) -> list[dict[str, Any]]:
        assert new.closed_at is not None and new.closed_by is not None
        rows = []
        by_operator = new.closed_by.startswith("operator:")
        who = actor_name(new.closed_by.removeprefix("operator:")) if by_operator else new.closed_by
        if by_operator:
            ack = self._stage(conn, pending, new.id, Stage.ACKNOWLEDGED, new.closed_at, who, None, actor_agency())
            rows += [ack] if ack else []
            detail = {"by": new.closed_by, "detail": new.timeline[-1].detail}
            self._audit(conn, "close", new.id, detail, who, new.closed_at)
        done = self._stage(conn, pending, new.id, Stage.RESOLVED, new.closed_at, who, None, actor_agency())
        return rows + ([done] if done else [])

    def order_changed(self, change: OrderChange | None, asset: AssetState) -> None:
        """OrderBook hook: the order, its new history entry, the asset's state, the stages
        (``dispatched`` and maybe ``acknowledged``, ``accepted``, ``under_way``, ``on_scene``)
        and the audit of a dispatch or cancel. ``change`` None: the asset alone changed."""
        pending: dict[str, set[str]] = {}
        with self.transaction() as conn:
            if change is not None:
                self._order(conn, pending, change)
            self._upsert(conn, AssetStateRow, convert.asset_values(asset))
        self._positions[asset.id] = _where(asset)
        self._reached(pending)

    def _order(self, conn: Connection, pending: dict[str, set[str]], change: OrderChange) -> None:
        order, last = change.order, change.order.history[-1]
        if change.previous is None:
            conn.execute(insert(OrderRow).values(convert.order_values(order)))
        else:
            conn.execute(update(OrderRow).where(OrderRow.id == order.id).values(convert.order_values(order)))
        self._etas[order.id] = order.eta_s
        conn.execute(insert(OrderEventRow).values(convert.history_values(order.id, last)))
        rows = []
        iid, asset, agency = order.incident_id, order.asset_id, order.agency
        if change.previous is None:
            who = actor_name(order.by)
            rows.append(self._stage(conn, pending, iid, Stage.ACKNOWLEDGED, last.time, who, None, actor_agency()))
            rows.append(self._stage(conn, pending, iid, Stage.DISPATCHED, last.time, who, asset, agency))
            detail = {"incident_id": iid, "asset_id": asset, "by": order.by}
            self._audit(conn, "dispatch", order.id, detail, who, last.time)
        elif order.state in _ORDER_STAGE:
            rows.append(self._stage(conn, pending, iid, _ORDER_STAGE[order.state], last.time, last.by, asset, agency))
        elif order.state is OrderState.CANCELLED:
            detail = {"incident_id": iid, "asset_id": asset, "by": last.by, "reason": last.detail}
            self._audit(conn, "cancel", order.id, detail, actor_name(last.by), last.time)
        found = [r for r in rows if r is not None]
        if found:
            conn.execute(insert(IncidentEventRow), found)

    def record_stage(
        self,
        incident_id: str,
        stage: Stage,
        time: datetime,
        actor: str | None = None,
        asset_id: str | None = None,
        agency: str | None = None,
    ) -> bool:
        """Record a stage if the incident has not reached it (nor been resolved); True if written."""
        pending: dict[str, set[str]] = {}
        with self.transaction() as conn:
            row = self._stage(conn, pending, incident_id, stage, time, actor, asset_id, agency)
            if row is not None:
                conn.execute(insert(IncidentEventRow).values(row))
        self._reached(pending)
        return row is not None

    def stages(self, incident_id: str) -> list[dict[str, Any]]:
        """The incident's response stages in time order, each with the seconds since the one
        before and since detection (None where there is no such stage)."""
        t = IncidentEventRow
        q = (
            select(t.event, t.time, t.actor, t.asset_id, t.agency)
            .where(t.incident_id == incident_id, t.event.in_([s.value for s in Stage]))
            .order_by(t.time, t.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        detected = next((r.time for r in rows if r.event == Stage.DETECTED.value), None)
        out, previous = [], None
        for r in rows:
            out.append(
                {
                    "stage": r.event,
                    "time": r.time.isoformat(),
                    "actor": r.actor,
                    "asset_id": r.asset_id,
                    "agency": r.agency,
                    "since_previous_s": None if previous is None else (r.time - previous).total_seconds(),
                    "since_detected_s": None if detected is None else (r.time - detected).total_seconds(),
                }
            )
            previous = r.time
        return out

    def save_session(self, grant: Grant) -> None:
        """Keep a login grant (token SHA-256, user, expiry); expired ones are dropped meanwhile."""
        with self.transaction() as conn:
            conn.execute(delete(SessionRow).where(SessionRow.expires_at <= self.clock()))
            conn.execute(
                insert(SessionRow).values(
                    token_sha256=grant.token_sha256, username=grant.username, expires_at=grant.expires_at
                )
            )

    def delete_session(self, digest: str) -> None:
        with self.transaction() as conn:
            conn.execute(delete(SessionRow).where(SessionRow.token_sha256 == digest))

    def load_sessions(self) -> list[Grant]:
        """The kept grants that have not expired."""
        q = select(SessionRow.username, SessionRow.expires_at, SessionRow.token_sha256).where(
            SessionRow.expires_at > self.clock()
        )
        with self.engine.connect() as conn:
            return [Grant(r.username, r.expires_at, r.token_sha256) for r in conn.execute(q)]

    def has_stage(self, incident_id: str, stage: Stage) -> bool:
        return stage.value in self._stages.get(incident_id, set())

    def audit(
        self, action: str, target: str | None, detail: dict[str, Any], actor: str, time: datetime | None = None
    ) -> None:
        with self.transaction() as conn:
            self._audit(conn, action, target, detail, actor, time)

    def put_assets(self, states: Sequence[AssetState]) -> None:
        """Every asset's state as it is now (at start: the rows the periodic updates change)."""
        with self.transaction() as conn:
            for s in states:
                self._upsert(conn, AssetStateRow, convert.asset_values(s))
                self._positions[s.id] = _where(s)

    # -- periodic ------------------------------------------------------------------------------

    def sensor_health(self, health: Sequence[SensorHealth], time: datetime) -> int:
        """A row per sensor whose status changed since the last one kept (or the first seen)."""
        changed = [h for h in health if self._sensors.get(h.sensor_id) != h.status.value]
        if not changed:
            return 0
        rows = [
            {"sensor_id": h.sensor_id, "time": time, "status": h.status.value, "detail": _health_detail(h)}
            for h in changed
        ]
        with self.transaction() as conn:
            conn.execute(insert(SensorHealthEventRow), rows)
        self._sensors.update({h.sensor_id: h.status.value for h in changed})
        return len(rows)

    def asset_positions(self, states: Sequence[AssetState]) -> int:
        """Positions that moved since last kept (AIS, MAVLink and crew reports arrive often), of
        the assets whose row exists (written by ``put_assets`` or an order change)."""
        moved = [s for s in states if s.id in self._positions and self._positions[s.id] != _where(s)]
        if not moved:
            return 0
        with self.transaction() as conn:
            for s in moved:
                p = s.position
                values = {"lon": p.lon, "lat": p.lat, "position_time": p.time, "position_source": p.source}
                conn.execute(update(AssetStateRow).where(AssetStateRow.id == s.id).values(values))
        self._positions.update({s.id: _where(s) for s in moved})
        return len(moved)

    def order_etas(self, orders: Sequence[Order]) -> int:
        """ETAs refreshed from position reports (no state change, so no history entry)."""
        changed = [o for o in orders if o.id in self._etas and self._etas[o.id] != o.eta_s]
        if not changed:
            return 0
        with self.transaction() as conn:
            for o in changed:
                conn.execute(update(OrderRow).where(OrderRow.id == o.id).values(eta_s=o.eta_s, data=o.to_dict()))
        self._etas.update({o.id: o.eta_s for o in changed})
        return len(changed)

    def coverage_sample(self, time: datetime, coverage: Coverage, boats_available: int) -> None:
        """One coverage sample (the coverage watch decides when): the river km in gaps, the worst
        and the length-weighted mean ETA over the stretches (worst None: some stretch unreachable;
        mean over the reachable ones, None when there are none)."""
        values = {"time": time, **coverage_figures(coverage), "boats_available": boats_available}
        with self.transaction() as conn:
            conn.execute(insert(CoverageSampleRow).values(values))

    def add_track_points(self, rows: Sequence[dict[str, Any]]) -> int:
        if rows:
            with self.transaction() as conn:
                conn.execute(insert(TrackPointRow).values(list(rows)))  # one statement, one round trip
        return len(rows)

    def delete_track_points(self, before: datetime) -> int:
        with self.transaction() as conn:
            return int(conn.execute(delete(TrackPointRow).where(TrackPointRow.time < before)).rowcount)

    # -- restore -------------------------------------------------------------------------------

    def restore(self, now: datetime) -> Restored:
        """Open incidents, closed ones of the last ``closed_restore_days``, those with an open
        order; their orders and every open order; every asset state; the highest ids given."""
        try:
            with Session(self.engine) as s:
                kept = load.kept(s, now - timedelta(days=self.settings.closed_restore_days))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read {self.where}: {describe(exc)}") from None
        self._stages, self._sensors = kept.stages, kept.sensors
        self._etas = {o.id: o.eta_s for o in kept.orders}
        return kept

    # -- internals -----------------------------------------------------------------------------

    def _stage(
        self,
        conn: Connection,
        pending: dict[str, set[str]],
        incident_id: str,
        stage: Stage,
        time: datetime,
        actor: str | None,
        asset_id: str | None,
        agency: str | None,
    ) -> dict[str, Any] | None:
        """The row of a stage not yet reached (none after ``resolved``), noted as pending."""
        if incident_id not in self._stages:
            found = conn.execute(select(IncidentEventRow.event).where(IncidentEventRow.incident_id == incident_id))
            self._stages[incident_id] = {e for e in found.scalars() if e in load.STAGE_NAMES}
        reached = self._stages[incident_id] | pending.get(incident_id, set())
        if stage.value in reached or (stage is not Stage.RESOLVED and Stage.RESOLVED.value in reached):
            return None
        pending.setdefault(incident_id, set()).add(stage.value)
        return {
            "incident_id": incident_id,
            "time": time,
            "event": stage.value,
            "detail": "",
            "actor": actor,
            "asset_id": asset_id,
            "agency": agency,
        }

    def _reached(self, pending: dict[str, set[str]]) -> None:
        """After the commit: the stages written are reached."""
        for iid, stages in pending.items():
            self._stages.setdefault(iid, set()).update(stages)

    def _audit(
        self,
        conn: Connection,
        action: str,
        target: str | None,
        detail: dict[str, Any],
        actor: str,
        time: datetime | None = None,
    ) -> None:
        values = {"time": time or self.clock(), "actor": actor[:200], "action": action, "target": target}
        conn.execute(insert(AuditRow).values(**values, detail=detail))

    def _upsert(self, conn: Connection, model: type[AssetStateRow], values: dict[str, Any]) -> None:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(model).values(values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={k: v for k, v in values.items()}))


def coverage_figures(coverage: Coverage) -> dict[str, float | None]:
    """``gap_km``, ``worst_eta_s`` and ``mean_eta_s`` of a coverage, as stored in a sample."""
    st = coverage.stretches
    reach = [(s.to_km - s.from_km, s.eta_s) for s in st if s.eta_s is not None]
    length_km = sum(k for k, _ in reach)
    return {
        "gap_km": sum(s.to_km - s.from_km for s in st if s.gap),
        "worst_eta_s": max((e for _, e in reach), default=None) if len(reach) == len(st) else None,
        "mean_eta_s": sum(k * e for k, e in reach) / length_km if length_km > 0 else None,
    }


def _where(s: AssetState) -> tuple[float, float, datetime, str]:
    p = s.position
    return p.lon, p.lat, p.time, p.source


def _health_detail(h: SensorHealth) -> dict[str, Any]:
    return {
        "kind": h.kind.value,
        "agency": h.agency,
        "last_message_at": h.last_message_at.isoformat() if h.last_message_at else None,
        "rate_per_s": round(h.rate_per_s, 3),
        "accepted": h.accepted,
        "rejected": dict(h.rejected),
    }
