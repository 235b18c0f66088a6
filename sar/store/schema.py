"""The database schema (SQLAlchemy 2 declarative): what is kept to survive restarts and to
measure response times. The same tables on SQLite (default, WAL) and PostgreSQL.

Times are timezone-aware UTC in Python; :class:`UTCDateTime` stores them as UTC on every backend
(SQLite has no time zones) and gives them back aware. Migrations (Alembic, ``sar/store/
migrations``) create and change these tables; the models are their one definition.

Response-time stages of an incident (``incident_events.event``): ``detected``, ``alerted`` (first
shown to an operator), ``acknowledged`` (an operator opened or acted on it), ``dispatched``,
``accepted`` (by the crew), ``under_way`` (en route), ``on_scene``, ``resolved`` (closed); plus the
book's own timeline entries ``updated``, ``escalated``, ``note``, ``closed``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class Stage(StrEnum):
    """The stages between which response times are measured, in their natural order."""

    DETECTED = "detected"
    ALERTED = "alerted"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    UNDER_WAY = "under_way"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"


STAGES: tuple[Stage, ...] = tuple(Stage)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class IncidentRow(Base):
    """The latest state of an incident (replaced on every change)."""

    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(32), index=True)
    impact: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float] = mapped_column(Float)
    sar_phase: Mapped[str | None] = mapped_column(String(16))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    section: Mapped[str | None] = mapped_column(String(16), index=True)
    river_km: Mapped[float | None] = mapped_column(Float)
    side: Mapped[str | None] = mapped_column(String(4))
    agencies: Mapped[list[Any]] = mapped_column(JSON)  # agencies to notify, e.g. ["MD", "UA"]
    track_ids: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8), index=True)
    opened_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))


class IncidentEventRow(Base):
    """One entry of an incident's timeline: a response stage or a book timeline entry."""

    __tablename__ = "incident_events"
    __table_args__ = (Index("ix_incident_events_incident_time", "incident_id", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    time: Mapped[datetime] = mapped_column(index=True)
    event: Mapped[str] = mapped_column(String(16), index=True)  # a Stage value or a TimelineEvent value
    detail: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str | None] = mapped_column(String(200))  # user or rule
    asset_id: Mapped[str | None] = mapped_column(String(40))
    agency: Mapped[str | None] = mapped_column(String(4))  # the agency of the actor or asset


class OrderRow(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    asset_id: Mapped[str] = mapped_column(String(40), index=True)
    agency: Mapped[str] = mapped_column(String(4))
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
    deadline: Mapped[datetime]
    updated_at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    eta_s: Mapped[float | None] = mapped_column(Float)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the order's full to_dict()


class OrderEventRow(Base):
    """Every state change of an order (sent, accepted, declined, expired, en_route, ...)."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    time: Mapped[datetime] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")


class AssetStateRow(Base):
    """The live state of a fleet asset (its configuration stays in the fleet file)."""

    __tablename__ = "asset_states"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    status_since: Mapped[datetime]
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    position_time: Mapped[datetime]
    position_source: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[str | None] = mapped_column(String(32))


class SensorHealthEventRow(Base):
    """A sensor's status change (ok, stale, no_data) with its counters then."""

    __tablename__ = "sensor_health_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sensor_id: Mapped[str] = mapped_column(String(64), index=True)
    time: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class UserRow(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    agency: Mapped[str] = mapped_column(String(4))
    asset_id: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(4), default="en")
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class AuditRow(Base):
    """Who did what and when: logins, dispatches, closes, cancels, user changes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TrackPointRow(Base):
    """Downsampled track history (one point per track every ``storage.track_every_s``), kept
    ``storage.track_retention_days``."""

    __tablename__ = "track_points"
    __table_args__ = (Index("ix_track_points_track_time", "track_id", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    track_id: Mapped[str] = mapped_column(String(32))
    time: Mapped[datetime] = mapped_column(index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    speed_mps: Mapped[float] = mapped_column(Float)
    target_class: Mapped[str] = mapped_column(String(16))
    cooperative: Mapped[bool]
    mmsi: Mapped[int | None] = mapped_column(Integer)


class CoverageSampleRow(Base):
    """The river's coverage by the available boats at a moment (the coverage watch writes one when
    the gaps change, and at least every minute): what the reports' coverage over time is made of."""

    __tablename__ = "coverage_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(index=True)
    gap_km: Mapped[float] = mapped_column(Float)  # river km in gaps, both sections
    worst_eta_s: Mapped[float | None] = mapped_column(Float)  # None: some stretch no boat reaches
    mean_eta_s: Mapped[float | None] = mapped_column(Float)  # over the reachable stretches; None: none
    boats_available: Mapped[int] = mapped_column(Integer)


class SessionRow(Base):
    """A login token that is still valid: only its SHA-256, so a leaked table opens nothing."""

    __tablename__ = "sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
