"""The incident book: one incident per real event, its timeline, and operator actions.

Rules report :class:`Finding` values with a stable event key; the book opens an incident for a
new key, updates it while the event lasts (position changes below ``min_move_m`` are ignored,
"updated" timeline entries at most every ``update_interval_s``, escalations at once), and closes
it ``close_grace_s`` after the rule says the event ended (``closed_by = "rule:<name>"``). SAR
incidents (person in water, any SAR phase) are closed by an operator only. An incident an
operator closed while its event was still going on is not reopened by that same event.

Not thread-safe: call it from one task (the server's track loop) only.
"""

from __future__ import annotations

import builtins
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from geo.errors import GeoError
from geo.river import RiverModel
from sar.incidents.config import IncidentSettings
from sar.incidents.crossing import BorderCrossingRule
from sar.incidents.model import (
    Finding,
    Impact,
    Incident,
    IncidentAlreadyClosed,
    IncidentError,
    IncidentStatus,
    IncidentType,
    Rule,
    SarPhase,
    TimelineEntry,
    TimelineEvent,
    UnknownIncident,
)
from sar.incidents.proximity import LoiteringRule, RendezvousRule
from sar.incidents.rules import DarkTargetRule, PersonInWaterRule, TrackPlaces
from sar.tracking.model import Track

log = logging.getLogger(__name__)

Persist = Callable[[Incident, Incident | None], None]  # (new, old): commit it or raise


def default_rules(river: RiverModel, settings: IncidentSettings | None = None) -> list[Rule]:
    """The standard rule set: crossing, person in water, rendezvous, loitering, dark target."""
    places = TrackPlaces(river)  # the alive tracks are located once per evaluation, not once per rule
    return [
        BorderCrossingRule(river, settings),
        PersonInWaterRule(river, settings, places),
        RendezvousRule(river, settings, places),
        LoiteringRule(river, settings, places),
        DarkTargetRule(river, settings, places),
    ]


@dataclass
class _Live:
    """Book-keeping of an open incident raised by a rule."""

    key: str
    rule: str
    last_logged: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True)
class _Where:
    section: str | None
    river_km: float | None
    side: str | None


class IncidentBook:
    """Turns rule findings and manual reports into incidents; keeps them all (open and closed).
    ``persist`` (the store) is called with every change before the book keeps it."""

    def __init__(
        self,
        river: RiverModel,
        rules: Sequence[Rule],
        settings: IncidentSettings | None = None,
        persist: Persist | None = None,
    ) -> None:
        self.river = river
        self.persist = persist
        self.rules = list(rules)
        self.settings = (settings or IncidentSettings()).book
        self.rule_errors: dict[str, int] = {}
        self._both = frozenset(c for s in river.sections for c in (s.right_bank, s.left_bank))
        self._incidents: dict[str, Incident] = {}
        self._live: dict[str, _Live] = {}
        self._by_key: dict[str, str] = {}
        self._suppressed: set[str] = set()
        self._count = 0
        self._ran_at: dict[str, datetime] = {}

    @classmethod
    def with_default_rules(cls, river: RiverModel, settings: IncidentSettings | None = None) -> IncidentBook:
        return cls(river, default_rules(river, settings), settings)

    # -- rules ----------------------------------------------------------------------------

    def evaluate(self, now: datetime, tracks: Sequence[Track]) -> builtins.list[Incident]:
        """Run every rule on the tracks at ``now``; return the incidents opened, changed or
        closed by this evaluation, by id. A rule that raises is logged and counted, not fatal."""
        changed: dict[str, Incident] = {}
        for rule in self.rules:
            every = self.settings.rule_every_s.get(rule.name, 0.0)
            last = self._ran_at.get(rule.name)
            if last is not None and every > 0 and (now - last).total_seconds() < every - 1e-6:
                continue
            self._ran_at[rule.name] = now
            try:
                findings = rule.evaluate(now, tracks)
            except Exception:
                log.exception("incident rule %s failed", rule.name)
                self.rule_errors[rule.name] = self.rule_errors.get(rule.name, 0) + 1
                continue
            for f in findings:
                incident = self._apply(now, f)
                if incident is not None:
                    changed[incident.id] = incident
        grace_s = self.settings.close_grace_s
        for iid, live in builtins.list(self._live.items()):
            if live.ended_at is not None and (now - live.ended_at).total_seconds() >= grace_s:
                changed[iid] = self._close(iid, now, f"rule:{live.rule}", "event ended")
        return [changed[k] for k in sorted(changed)]

    def _apply(self, now: datetime, f: Finding) -> Incident | None:
        if f.key in self._suppressed:
            if f.ended:
                self._suppressed.discard(f.key)
            return None
        iid = self._by_key.get(f.key)
        if iid is None:
            return None if f.ended else self._open(now, f)
        if f.ended:
            return self._ended(now, iid, f)
        return self._update(now, iid, f)

    def _open(self, now: datetime, f: Finding) -> Incident:
        where = self._locate(f.lon, f.lat)
        side = f.side or where.side
        incident = self._new(
            now,
            type=f.type,
            impact=f.impact,
            confidence=f.confidence,
            sar_phase=f.sar_phase,
            lon=f.lon,
            lat=f.lat,
            where=replace(where, side=side),
            agencies=self._agencies(f.type, f.sar_phase, f.sides | {side} if side else f.sides),
            track_ids=f.track_ids,
            title=f.title,
            source=f.rule,
            detail=f"{f.title}; {f.detail}" if f.detail else f.title,
        )
        self._live[incident.id] = _Live(key=f.key, rule=f.rule, last_logged=now)
        self._by_key[f.key] = incident.id
        return incident

    def _update(self, now: datetime, iid: str, f: Finding) -> Incident | None:
        old, live = self._incidents[iid], self._live[iid]
        entries: builtins.list[TimelineEntry] = []
        if live.ended_at is not None:
            live.ended_at = None
            entries.append(TimelineEntry(now, TimelineEvent.UPDATED, "event resumed"))
        impact = f.impact if f.impact.rank > old.impact.rank else old.impact
        phase = old.sar_phase
        if f.sar_phase is not None and (phase is None or f.sar_phase.rank > phase.rank):
            phase = f.sar_phase
        if impact is not old.impact:
            entries.append(TimelineEntry(now, TimelineEvent.ESCALATED, f"impact {old.impact} \u2192 {impact}"))
        if phase is not old.sar_phase:
            entries.append(TimelineEntry(now, TimelineEvent.ESCALATED, f"SAR phase {old.sar_phase} \u2192 {phase}"))
        moved = self._distance_m(old.lon, old.lat, f.lon, f.lat) >= self.settings.min_move_m
        material = moved or entries or f.track_ids != old.track_ids or abs(f.confidence - old.confidence) >= 0.05
        if not material:
            return None
        where = self._locate(f.lon, f.lat) if moved else _Where(old.section, old.river_km, old.side)
        where = replace(where, side=f.side or where.side)
        if not entries and (now - live.last_logged).total_seconds() >= self.settings.update_interval_s:
            entries.append(TimelineEntry(now, TimelineEvent.UPDATED, _where_text(where)))
        if entries:
            live.last_logged = now
        sides = f.sides | {where.side} if where.side else f.sides
        new = replace(
            old,
            impact=impact,
            sar_phase=phase,
            confidence=round(f.confidence, 3),
            lon=f.lon if moved else old.lon,
            lat=f.lat if moved else old.lat,
            section=where.section,
            river_km=where.river_km,
            side=where.side,
            agencies_to_notify=old.agencies_to_notify | self._agencies(old.type, phase, sides),
            track_ids=f.track_ids,
            title=f.title,
            updated_at=now,
            timeline=old.timeline + tuple(entries),
        )
        return self._put(new)

    def _ended(self, now: datetime, iid: str, f: Finding) -> Incident | None:
        old, live = self._incidents[iid], self._live[iid]
        if old.sar_phase is not None or old.type is IncidentType.PERSON_IN_WATER:
            del self._live[iid], self._by_key[live.key]  # the operator closes SAR incidents
            detail = f.detail or "event ended"
            return self._log(iid, now, TimelineEntry(now, TimelineEvent.NOTE, f"{detail}; left to the operator"))
        if live.ended_at is not None:
            return None
        live.ended_at = now
        detail = f"{f.detail or 'event ended'}; closing in {self.settings.close_grace_s:.0f} s unless it resumes"
        return self._log(iid, now, TimelineEntry(now, TimelineEvent.UPDATED, detail))

    # -- operators ------------------------------------------------------------------------

    def report(
        self,
        kind: IncidentType | str,
        lon: float,
        lat: float,
        time: datetime,
        reporter: str,
        text: str,
        *,
        sar_phase: SarPhase | None = None,
        impact: Impact | None = None,
        confidence: float | None = None,
    ) -> Incident:
        """A manual report (a call from a fisherman, a patrol). A person in water starts at phase
        ALERT unless ``sar_phase`` says otherwise. Raises InvalidCoordinate or OutOfArea for a
        bad position, ValueError for an unknown kind or a naive time."""
        if time.tzinfo is None:
            raise ValueError("report time must be timezone-aware (UTC)")
        kind = IncidentType(kind)
        loc = self.river.locate(lon, lat)
        if kind is IncidentType.PERSON_IN_WATER and sar_phase is None:
            sar_phase = SarPhase.ALERT
        if impact is None:
            impact = Impact.HIGH if kind is IncidentType.PERSON_IN_WATER else Impact.MEDIUM
        where = _Where(loc.section, loc.river_km, loc.side)
        one_line = " ".join(text.split())
        return self._new(
            time,
            type=kind,
            impact=impact,
            confidence=self.settings.manual_confidence if confidence is None else confidence,
            sar_phase=sar_phase,
            lon=float(lon),
            lat=float(lat),
            where=where,
            agencies=self._agencies(kind, sar_phase, frozenset({loc.side}) if loc.side else frozenset()),
            track_ids=(),
            title=f"{kind.value.replace('_', ' ').capitalize()} reported by {reporter} at {_where_text(where)}: "
            f"{one_line[:120]}",
            source=f"report:{reporter}",
            detail=f"reported by {reporter}: {one_line}",
        )

    def close(self, incident_id: str, by: str, reason: str = "", time: datetime | None = None) -> Incident:
        """Close an incident as operator ``by``. Raises UnknownIncident or IncidentAlreadyClosed."""
        return self._close(incident_id, time or datetime.now(UTC), f"operator:{by}", reason or "closed")

    def note(self, incident_id: str, by: str, text: str, time: datetime | None = None) -> Incident:
        """Add an operator's note to the timeline (also allowed on a closed incident)."""
        self.get(incident_id)
        now = time or datetime.now(UTC)
        return self._log(incident_id, now, TimelineEntry(now, TimelineEvent.NOTE, f"{by}: {' '.join(text.split())}"))

    def escalate(
        self,
        incident_id: str,
        by: str,
        *,
        impact: Impact | None = None,
        sar_phase: SarPhase | None = None,
        time: datetime | None = None,
    ) -> Incident:
        """Raise an open incident's impact and/or SAR phase (an operator decision); lowering is refused."""
        old = self.get(incident_id)
        if old.status is IncidentStatus.CLOSED:
            raise IncidentAlreadyClosed(f"incident {incident_id} is closed")
        if (impact and impact.rank < old.impact.rank) or (
            sar_phase and old.sar_phase and sar_phase.rank < old.sar_phase.rank
        ):
            raise IncidentError(f"incident {incident_id}: escalate cannot lower impact or SAR phase")
        now = time or datetime.now(UTC)
        new_impact, new_phase = impact or old.impact, sar_phase or old.sar_phase
        detail = (
            f"by operator:{by}: impact {old.impact} \u2192 {new_impact}, SAR phase {old.sar_phase} \u2192 {new_phase}"
        )
        new = replace(
            old,
            impact=new_impact,
            sar_phase=new_phase,
            agencies_to_notify=old.agencies_to_notify | self._agencies(old.type, new_phase, frozenset()),
            updated_at=now,
            timeline=(*old.timeline, TimelineEntry(now, TimelineEvent.ESCALATED, detail)),
        )
        return self._put(new)

    def get(self, incident_id: str) -> Incident:
        try:
            return self._incidents[incident_id]
        except KeyError:
            raise UnknownIncident(f"no incident {incident_id!r}") from None

    def list(self, status: IncidentStatus | None = None) -> builtins.list[Incident]:
        """Incidents (all, or of one status): highest impact first, then oldest first."""
        chosen = [i for i in self._incidents.values() if status is None or i.status is status]
        return sorted(chosen, key=lambda i: (-i.impact.rank, i.opened_at, i.id))

    # -- internals ------------------------------------------------------------------------

    def _new(
        self,
        now: datetime,
        *,
        type: IncidentType,
        impact: Impact,
        confidence: float,
        sar_phase: SarPhase | None,
        lon: float,
        lat: float,
        where: _Where,
        agencies: frozenset[str],
        track_ids: tuple[str, ...],
        title: str,
        source: str,
        detail: str,
    ) -> Incident:
        self._count += 1
        incident = Incident(
            id=f"I{self._count:04d}",
            type=type,
            impact=impact,
            confidence=round(confidence, 3),
            sar_phase=sar_phase,
            lon=lon,
            lat=lat,
            section=where.section,
            river_km=where.river_km,
            side=where.side,
            agencies_to_notify=agencies,
            track_ids=track_ids,
            status=IncidentStatus.OPEN,
            opened_at=now,
            updated_at=now,
            title=title,
            source=source,
            timeline=(TimelineEntry(now, TimelineEvent.DETECTED, detail),),
        )
        return self._put(incident)

    def _close(self, iid: str, now: datetime, by: str, reason: str) -> Incident:
        old = self.get(iid)
        if old.status is IncidentStatus.CLOSED:
            raise IncidentAlreadyClosed(f"incident {iid} was already closed by {old.closed_by} at {old.closed_at}")
        live = self._live.pop(iid, None)
        if live is not None:
            del self._by_key[live.key]
            if by.startswith("operator:") and live.ended_at is None:
                self._suppressed.add(live.key)  # still going on: do not reopen it
        new = replace(
            old,
            status=IncidentStatus.CLOSED,
            closed_at=now,
            closed_by=by,
            updated_at=now,
            timeline=(*old.timeline, TimelineEntry(now, TimelineEvent.CLOSED, f"{by}: {reason}")),
        )
        return self._put(new)

    def _log(self, iid: str, now: datetime, entry: TimelineEntry) -> Incident:
        old = self._incidents[iid]
        return self._put(replace(old, updated_at=max(now, old.updated_at), timeline=(*old.timeline, entry)))

    def _put(self, new: Incident) -> Incident:
        """Persist first (nothing is kept or published that is not stored), then keep."""
        if self.persist is not None:
            self.persist(new, self._incidents.get(new.id))
        self._incidents[new.id] = new
        return new

    # -- restart ----------------------------------------------------------------------------

    def restore(self, incidents: Iterable[Incident], last_number: int, now: datetime) -> None:
        """Take back the incidents kept before a restart; new ids continue after ``last_number``.
        The rules lost their state: an open incident a rule raised (not SAR) is no longer
        followed, so it closes ``close_grace_s`` from now (a continuing event is raised anew);
        SAR incidents and reports stay open for the operator."""
        self._count = max(self._count, last_number)
        for incident in incidents:
            self._incidents[incident.id] = incident
        for incident in self.list(IncidentStatus.OPEN):
            rule = incident.source
            if rule.startswith("report:") or incident.sar_phase is not None:
                continue
            if incident.type is IncidentType.PERSON_IN_WATER:
                continue
            key = f"restored:{incident.id}"  # no rule reports this key: the event cannot resume
            self._live[incident.id] = _Live(key=key, rule=rule, last_logged=now, ended_at=now)
            self._by_key[key] = incident.id
            detail = f"server restarted: no longer followed; closing in {self.settings.close_grace_s:.0f} s"
            self._log(incident.id, now, TimelineEntry(now, TimelineEvent.UPDATED, detail))

    def _agencies(self, kind: IncidentType, phase: SarPhase | None, sides: frozenset[str]) -> frozenset[str]:
        """Both for SAR and for any crossing; otherwise the sides the event is on (both if unknown)."""
        if phase is not None or kind is IncidentType.BORDER_CROSSING:
            return self._both
        return (sides & self._both) or self._both

    def _locate(self, lon: float, lat: float) -> _Where:
        try:
            loc = self.river.locate(lon, lat)
        except GeoError:
            return _Where(None, None, None)
        return _Where(loc.section, loc.river_km, loc.side)

    def _distance_m(self, lon0: float, lat0: float, lon1: float, lat1: float) -> float:
        x, y = self.river.projector.to_xy([lon0, lon1], [lat0, lat1])
        return math.hypot(float(x[1] - x[0]), float(y[1] - y[0]))


def _where_text(w: _Where) -> str:
    place = f"{w.section} km {w.river_km:.2f}" if w.section and w.river_km is not None else "off the river sections"
    return f"{place} ({w.side})" if w.side else place
