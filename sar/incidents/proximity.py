"""Rules about where tracks linger near the border: rendezvous of two tracks, loitering of one.

Both use hysteresis so an event does not flicker: a rendezvous starts within ``max_distance_m``
and ends beyond ``release_distance_m``; loitering starts inside a small circle and ends once
the track is ``leave_radius_m`` away from it or out of the border zone (plus a margin).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from geo.river import RiverModel
from sar.incidents.config import IncidentSettings
from sar.incidents.model import Finding, Impact, IncidentType
from sar.incidents.rules import ALIVE, Place, TrackPlaces, place_xy, seconds, sides_of, track_label
from sar.tracking.model import Track, TrackStatus


@dataclass
class _Pair:
    since: datetime
    raised: Finding | None = None


class RendezvousRule:
    """Two tracks close together near the border for ``min_duration_s``: one event per pair.

    Impact high if both are non-cooperative, else medium. Ends when they part or leave the zone.
    """

    name: str = "rendezvous"

    def __init__(
        self, river: RiverModel, settings: IncidentSettings | None = None, places: TrackPlaces | None = None
    ) -> None:
        s = settings or IncidentSettings()
        self.river = river
        self.places = places or TrackPlaces(river)
        self.settings = s.rendezvous
        self.ais_timeout_s = s.ais_timeout_s
        self._pairs: dict[tuple[str, str], _Pair] = {}

    def evaluate(self, now: datetime, tracks: Sequence[Track]) -> list[Finding]:
        s = self.settings
        live = [t for t in tracks if t.status in ALIVE]
        places = self.places(live)
        zone = [t for t in live if places[t.id].border_m <= s.near_border_m + s.border_margin_m]
        by_id = {t.id: t for t in zone}
        together = self._together(zone, places)
        out: list[Finding] = []
        for key in sorted(together):
            pair = self._pairs.setdefault(key, _Pair(since=now))
            if pair.raised is None and seconds(pair.since, now) < s.min_duration_s:
                continue
            pair.raised = self._finding(now, by_id[key[0]], by_id[key[1]], places, pair.since)
            out.append(pair.raised)
        for key in sorted(set(self._pairs) - together):
            pair = self._pairs.pop(key)
            if pair.raised is not None:
                out.append(replace(pair.raised, ended=True, detail="the tracks parted or left the border zone"))
        return out

    def _together(self, zone: list[Track], places: dict[str, Place]) -> set[tuple[str, str]]:
        """Pairs close enough (tighter limits to start a pair than to keep one)."""
        s = self.settings
        if len(zone) < 2:
            return set()
        xy = np.array([[t.x_m, t.y_m] for t in zone])
        d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
        out: set[tuple[str, str]] = set()
        for i, j in zip(*np.nonzero(np.triu(d <= s.release_distance_m, k=1))):
            a, b = zone[int(i)], zone[int(j)]
            key = (a.id, b.id) if a.id < b.id else (b.id, a.id)
            known = key in self._pairs
            max_d = s.release_distance_m if known else s.max_distance_m
            max_border = s.near_border_m + (s.border_margin_m if known else 0.0)
            confirmed = a.status is TrackStatus.CONFIRMED and b.status is TrackStatus.CONFIRMED
            near = places[a.id].border_m <= max_border and places[b.id].border_m <= max_border
            if d[i, j] <= max_d and near and (known or confirmed):
                out.add(key)
        return out

    def _finding(self, now: datetime, a: Track, b: Track, places: dict[str, Place], since: datetime) -> Finding:
        dark = not a.cooperative(now, self.ais_timeout_s) and not b.cooperative(now, self.ais_timeout_s)
        mid = place_xy(self.river, [(a.x_m + b.x_m) / 2], [(a.y_m + b.y_m) / 2])[0]
        sd = (a.position_sd_m + b.position_sd_m) / 2
        return Finding(
            rule=self.name,
            key=f"rdv:{a.id}:{b.id}",
            type=IncidentType.RENDEZVOUS,
            impact=Impact.HIGH if dark else Impact.MEDIUM,
            confidence=round(min(0.95, max(0.3, 1.0 - sd / self.settings.max_distance_m)), 3),
            lon=(a.lon + b.lon) / 2,
            lat=(a.lat + b.lat) / 2,
            track_ids=(a.id, b.id),
            sides=sides_of(places[a.id], places[b.id]),
            title=f"Rendezvous: {track_label(a)} and {track_label(b)} together since {since:%H:%M:%S}Z "
            f"at {mid.where()}",
        )


@dataclass
class _Loiter:
    samples: deque[tuple[datetime, float, float]] = field(default_factory=deque)
    anchor: tuple[float, float] = (math.nan, math.nan)
    raised: Finding | None = None


class LoiteringRule:
    """A non-cooperative confirmed track that stays within ``area_radius_m`` of one point, near
    the border, for ``min_duration_s``. Ends when it leaves that spot or the border zone.
    Persons and debris (``ignore_classes``) drift rather than loiter and are left out."""

    name: str = "loitering"

    def __init__(
        self, river: RiverModel, settings: IncidentSettings | None = None, places: TrackPlaces | None = None
    ) -> None:
        s = settings or IncidentSettings()
        self.river = river
        self.places = places or TrackPlaces(river)
        self.settings = s.loitering
        self.ais_timeout_s = s.ais_timeout_s
        self._state: dict[str, _Loiter] = {}

    def evaluate(self, now: datetime, tracks: Sequence[Track]) -> list[Finding]:
        live = [t for t in tracks if t.status in ALIVE]
        places = self.places(live)
        out: list[Finding] = []
        for t in live:
            finding = self._step(now, t, places[t.id])
            if finding is not None:
                out.append(finding)
        for tid in sorted(set(self._state) - {t.id for t in live}):
            raised = self._state.pop(tid).raised
            if raised is not None:
                out.append(replace(raised, ended=True, detail="track lost"))
        return out

    def _step(self, now: datetime, t: Track, place: Place) -> Finding | None:
        s = self.settings
        st = self._state.get(t.id)
        if st is not None and st.raised is not None:
            away = math.hypot(t.x_m - st.anchor[0], t.y_m - st.anchor[1]) > s.leave_radius_m
            if away or place.border_m > s.near_border_m + s.border_margin_m:
                del self._state[t.id]
                return replace(st.raised, ended=True, detail="left the spot or the border zone")
            st.raised = self._finding(t, place, st)
            return st.raised
        if t.status is not TrackStatus.CONFIRMED:
            return None  # coasting: keep the window, add no predicted sample
        if (
            place.border_m > s.near_border_m
            or t.target_class in s.ignore_classes
            or t.cooperative(now, self.ais_timeout_s)
        ):
            self._state.pop(t.id, None)
            return None
        st = self._state.setdefault(t.id, _Loiter())
        st.samples.append((t.time, t.x_m, t.y_m))
        while len(st.samples) >= 2 and seconds(st.samples[1][0], t.time) >= s.min_duration_s:
            st.samples.popleft()  # keep exactly one sample at or before the window start
        if seconds(st.samples[0][0], t.time) < s.min_duration_s:
            return None
        xy = np.array([(x, y) for _, x, y in st.samples])
        centre = xy.mean(axis=0)
        if float(np.max(np.hypot(xy[:, 0] - centre[0], xy[:, 1] - centre[1]))) > s.area_radius_m:
            return None
        st.anchor = (float(centre[0]), float(centre[1]))
        st.raised = self._finding(t, place, st)
        return st.raised

    def _finding(self, t: Track, place: Place, st: _Loiter) -> Finding:
        since = st.samples[0][0] if st.samples else t.time
        return Finding(
            rule=self.name,
            key=f"loiter:{t.id}",
            type=IncidentType.LOITERING,
            impact=Impact.MEDIUM,
            confidence=0.8,
            lon=t.lon,
            lat=t.lat,
            track_ids=(t.id,),
            sides=sides_of(place),
            title=f"Loitering: {track_label(t)} near the border since {since:%H:%M:%S}Z at {place.where()}",
        )
