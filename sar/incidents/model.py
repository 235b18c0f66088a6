"""Incidents an operator must act on, the findings rules raise, and the rule protocol.

An :class:`Incident` is a frozen snapshot; the book replaces it on every change. Impact follows
EUROSUR event grading (low/medium/high), the SAR phase the IAMSAR phases
(uncertainty/alert/distress).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sar.tracking.model import Track


class IncidentType(StrEnum):
    BORDER_CROSSING = "border_crossing"
    PERSON_IN_WATER = "person_in_water"
    RENDEZVOUS = "rendezvous"
    LOITERING = "loitering"
    DARK_TARGET = "dark_target"
    MANUAL = "manual"


class Impact(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return _IMPACT_RANK[self]


class SarPhase(StrEnum):
    UNCERTAINTY = "uncertainty"
    ALERT = "alert"
    DISTRESS = "distress"

    @property
    def rank(self) -> int:
        return _PHASE_RANK[self]


_IMPACT_RANK = {Impact.LOW: 0, Impact.MEDIUM: 1, Impact.HIGH: 2}
_PHASE_RANK = {SarPhase.UNCERTAINTY: 0, SarPhase.ALERT: 1, SarPhase.DISTRESS: 2}


class IncidentStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class TimelineEvent(StrEnum):
    DETECTED = "detected"
    UPDATED = "updated"
    ESCALATED = "escalated"
    CLOSED = "closed"
    NOTE = "note"


@dataclass(frozen=True)
class TimelineEntry:
    time: datetime
    event: TimelineEvent
    detail: str


@dataclass(frozen=True)
class Incident:
    """One real event. ``closed_by`` is ``rule:<name>`` or ``operator:<who>``; ``source`` is the
    rule that raised it or ``report:<who>`` for a manual report."""

    id: str
    type: IncidentType
    impact: Impact
    confidence: float
    sar_phase: SarPhase | None
    lon: float
    lat: float
    section: str | None
    river_km: float | None
    side: str | None
    agencies_to_notify: frozenset[str]
    track_ids: tuple[str, ...]
    status: IncidentStatus
    opened_at: datetime
    updated_at: datetime
    title: str
    source: str
    closed_at: datetime | None = None
    closed_by: str | None = None
    timeline: tuple[TimelineEntry, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the API and the live feed (ISO times, sorted agencies)."""

        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t is not None else None

        return {
            "id": self.id,
            "type": self.type.value,
            "impact": self.impact.value,
            "confidence": self.confidence,
            "sar_phase": self.sar_phase.value if self.sar_phase else None,
            "lon": self.lon,
            "lat": self.lat,
            "section": self.section,
            "river_km": self.river_km,
            "side": self.side,
            "agencies_to_notify": sorted(self.agencies_to_notify),
            "track_ids": list(self.track_ids),
            "status": self.status.value,
            "opened_at": iso(self.opened_at),
            "updated_at": iso(self.updated_at),
            "closed_at": iso(self.closed_at),
            "closed_by": self.closed_by,
            "title": self.title,
            "source": self.source,
            "timeline": [{"time": iso(e.time), "event": e.event.value, "detail": e.detail} for e in self.timeline],
        }


@dataclass(frozen=True)
class Finding:
    """What a rule says about one event at one evaluation.

    ``key`` is stable for the whole event (the book keeps one incident per key); a rule reports
    the event on every evaluation while it lasts, and once with ``ended=True`` when it is over.
    ``sides`` are the sides of the tracks involved; ``side`` overrides the side of the position
    (a crossing is on the side it entered, although its point is on the axis).
    """

    rule: str
    key: str
    type: IncidentType
    impact: Impact
    confidence: float
    lon: float
    lat: float
    title: str
    track_ids: tuple[str, ...] = ()
    sar_phase: SarPhase | None = None
    sides: frozenset[str] = frozenset()
    side: str | None = None
    ended: bool = False
    detail: str = ""


class Rule(Protocol):
    """A pluggable incident rule. It may keep state between calls (per-track history)."""

    name: str

    def evaluate(self, now: datetime, tracks: Sequence[Track]) -> list[Finding]: ...


class IncidentError(Exception):
    """Base class of the book's errors; the message is one operator-readable line."""


class UnknownIncident(IncidentError, KeyError):
    """No incident has this id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown incident"


class IncidentAlreadyClosed(IncidentError):
    """The incident was closed before; closing is done once."""
