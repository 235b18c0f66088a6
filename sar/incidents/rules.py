"""Shared helpers of the incident rules, and the per-track rules: person in water, dark target.

Every rule takes the river model and the incident settings in its constructor and answers
:meth:`evaluate(now, tracks)` with :class:`Finding` values (see :class:`sar.incidents.model.Rule`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from geo.river import RiverModel
from sar.incidents.config import IncidentSettings
from sar.incidents.model import Finding, Impact, IncidentType, SarPhase
from sar.tracking.model import Track, TrackStatus
from sensors.model import SensorKind, TargetClass

ALIVE = frozenset({TrackStatus.CONFIRMED, TrackStatus.COASTING})
OPTICAL = frozenset({SensorKind.CAMERA, SensorKind.DRONE})


@dataclass(frozen=True)
class Place:
    """Where a point is for the rules: river position, side and distance to the border."""

    section: str | None
    river_km: float | None
    offset_m: float | None
    side: str | None
    on_water: bool
    border_m: float

    def where(self) -> str:
        """Human position: ``north km 100.25`` (or ``off the river sections``)."""
        if self.section is None or self.river_km is None:
            return "off the river sections"
        return f"{self.section} km {self.river_km:.2f}"


def place_xy(river: RiverModel, x: Sequence[float], y: Sequence[float]) -> list[Place]:
    """Vectorised :class:`Place` of metric points (one river-model call for all of them)."""
    if not x:
        return []
    r = river.locate_xy(list(x), list(y))
    out = []
    for i in range(len(x)):
        k = int(r.section_index[i])
        out.append(
            Place(
                section=river.sections[k].name if k >= 0 else None,
                river_km=float(r.chainage_m[i]) / 1000.0 if k >= 0 else None,
                offset_m=float(r.offset_m[i]) if k >= 0 else None,
                side=str(r.side[i]) or None,
                on_water=bool(r.on_water[i]),
                border_m=float(r.border_distance_m[i]),
            )
        )
    return out


class TrackPlaces:
    """Places of the alive tracks, shared by the rules of one book: every rule asks for the
    same snapshots each tick, and only the first asks the river model."""

    def __init__(self, river: RiverModel) -> None:
        self.river = river
        self._last: tuple[tuple[str, datetime, float, float], ...] = ()
        self._places: dict[str, Place] = {}

    def __call__(self, tracks: Sequence[Track]) -> dict[str, Place]:
        key = tuple((t.id, t.time, t.x_m, t.y_m) for t in tracks)
        if key != self._last:
            found = place_xy(self.river, [t.x_m for t in tracks], [t.y_m for t in tracks])
            self._last, self._places = key, dict(zip((t.id for t in tracks), found))
        return self._places


def track_label(track: Track) -> str:
    """How an operator names a track: its AIS name, else its MMSI, else ``<class> <id>``."""
    if track.name:
        return track.name
    if track.mmsi is not None:
        return f"MMSI {track.mmsi}"
    return f"{track.target_class.value} {track.id}"


def sides_of(*places: Place) -> frozenset[str]:
    return frozenset(p.side for p in places if p.side)


def seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


class PersonInWaterRule:
    """A confirmed person (camera/drone classified) on the water: SAR at phase DISTRESS.

    One event per person track; it follows the track while it lives (confirmed or coasting)
    and reports ``ended`` only when the track is gone. The book leaves SAR incidents to the
    operator to close.
    """

    name: str = "person_in_water"

    def __init__(
        self, river: RiverModel, settings: IncidentSettings | None = None, places: TrackPlaces | None = None
    ) -> None:
        self.river = river
        self.places = places or TrackPlaces(river)
        self.settings = (settings or IncidentSettings()).person_in_water
        self._raised: dict[str, Finding] = {}

    def evaluate(self, now: datetime, tracks: Sequence[Track]) -> list[Finding]:
        live = [t for t in tracks if t.status in ALIVE]
        # Only persons seen by an optical sensor (and those raised) are located: this rule runs
        # at every tick, and locating hundreds of boats there would delay every incident.
        candidates = [t for t in live if t.id in self._raised or self._is_person(t)]
        places = self.places(candidates)
        out: list[Finding] = []
        for t in candidates:
            if t.id in self._raised or places[t.id].on_water:
                self._raised[t.id] = self._finding(t, places[t.id])
                out.append(self._raised[t.id])
        for tid in sorted(set(self._raised) - {t.id for t in live}):
            out.append(replace(self._raised.pop(tid), ended=True, detail="track lost: last known position kept"))
        return out

    def _is_person(self, t: Track) -> bool:
        s = self.settings
        return (
            t.status is TrackStatus.CONFIRMED
            and t.target_class is TargetClass.PERSON
            and t.class_confidence >= s.min_confidence
            and (not s.require_optical or any(src.kind in OPTICAL for src in t.sources))
        )

    def _finding(self, t: Track, place: Place) -> Finding:
        return Finding(
            rule=self.name,
            key=f"piw:{t.id}",
            type=IncidentType.PERSON_IN_WATER,
            impact=Impact.HIGH,
            confidence=t.class_confidence,
            sar_phase=SarPhase.DISTRESS,
            lon=t.lon,
            lat=t.lat,
            track_ids=(t.id,),
            sides=sides_of(place),
            title=f"Person in water at {place.where()} ({place.side or 'side unknown'})",
        )


class DarkTargetRule:
    """A track that had AIS, whose AIS went silent while radar/camera/drone still hold it,
    near the border. Ends when AIS is back, when it leaves the zone, or when the track is gone."""

    name: str = "dark_target"

    def __init__(
        self, river: RiverModel, settings: IncidentSettings | None = None, places: TrackPlaces | None = None
    ) -> None:
        self.river = river
        self.places = places or TrackPlaces(river)
        self.settings = (settings or IncidentSettings()).dark_target
        self._raised: dict[str, Finding] = {}

    def evaluate(self, now: datetime, tracks: Sequence[Track]) -> list[Finding]:
        live = [t for t in tracks if t.status in ALIVE]
        places = self.places(live)
        out: list[Finding] = []
        for t in live:
            raised = t.id in self._raised
            if self._dark(now, t, places[t.id], raised):
                self._raised[t.id] = self._finding(t, places[t.id])
                out.append(self._raised[t.id])
            elif raised:
                out.append(replace(self._raised.pop(t.id), ended=True, detail="AIS back or left the border zone"))
        for tid in sorted(set(self._raised) - {t.id for t in live}):
            out.append(replace(self._raised.pop(tid), ended=True, detail="track lost"))
        return out

    def _dark(self, now: datetime, t: Track, place: Place, raised: bool) -> bool:
        s = self.settings
        ais = t.last_seen_by(SensorKind.AIS)
        if ais is None or seconds(ais, now) < s.ais_silence_s:
            return False
        if place.border_m > s.near_border_m + (s.border_margin_m if raised else 0.0):
            return False
        if raised:
            return True  # keep following it even if the other sensors lose it for a while
        others = [src.last_seen for src in t.sources if src.kind is not SensorKind.AIS]
        held = max(others) if others else None
        return (
            t.status is TrackStatus.CONFIRMED
            and held is not None
            and held > ais
            and seconds(held, now) <= s.holder_max_age_s
        )

    def _finding(self, t: Track, place: Place) -> Finding:
        s = self.settings
        ais = t.last_seen_by(SensorKind.AIS)
        since = f"{ais:%H:%M:%S}Z" if ais else "?"
        mmsi = (
            t.mmsi if t.mmsi is not None else next((x.target_id for x in t.sources if x.kind is SensorKind.AIS), None)
        )
        who = f"{t.name} (MMSI {mmsi})" if t.name else f"MMSI {mmsi}"
        return Finding(
            rule=self.name,
            key=f"dark:{t.id}",
            type=IncidentType.DARK_TARGET,
            impact=Impact.HIGH if place.border_m <= s.high_within_m else Impact.MEDIUM,
            confidence=0.9 if t.status is TrackStatus.CONFIRMED else 0.6,
            lon=t.lon,
            lat=t.lat,
            track_ids=(t.id,),
            sides=sides_of(place),
            title=f"Dark target: {who} silent on AIS since {since} at {place.where()} ({place.side or '?'})",
        )
