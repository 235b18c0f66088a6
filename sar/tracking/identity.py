"""Who a track is: its class (a discrete Bayes filter over vessel / person / other), the sensors
that fed it, and the links from the sensors' own target ids (radar track numbers, MMSIs) to it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from sar.tracking.kalman import Array
from sar.tracking.model import SourceInfo
from sensors.model import SensorKind, TargetClass

VESSEL, PERSON, OTHER = 0, 1, 2
N_CLASSES = 3
RECENT_SCANS = 8  # scan times kept per sensor and track (to tell two close tracks apart)


def class_index(cls: TargetClass) -> int | None:
    """Category of a reported class; None when it says nothing (UNKNOWN)."""
    if cls is TargetClass.UNKNOWN:
        return None
    return {TargetClass.VESSEL: VESSEL, TargetClass.PERSON: PERSON}.get(cls, OTHER)


def class_likelihood(cls: TargetClass, confidence: float) -> Array | None:
    """P(report | true category): ``confidence`` for the reported one, the rest shared by the
    others; None when the report carries no information (unknown, or no better than chance)."""
    i = class_index(cls)
    if i is None or confidence <= 1.0 / N_CLASSES:
        return None
    c = min(confidence, 0.999)
    lik = np.full(N_CLASSES, (1.0 - c) / (N_CLASSES - 1))
    lik[i] = c
    return lik


def fuse_class(prior: Array, likelihood: Array, floor: float) -> Array:
    """Bayes update, then no category below ``floor`` (so a track can change its mind)."""
    post = prior * likelihood
    post = post / post.sum()
    post = np.maximum(post, floor)
    return np.asarray(post / post.sum(), dtype=float)


def class_output(probs: Array, informed: bool, other: TargetClass, min_confidence: float) -> tuple[TargetClass, float]:
    """The class to show and its probability; UNKNOWN (confidence 0) without enough evidence."""
    i = int(np.argmax(probs))
    p = float(probs[i])
    if not informed or p < min_confidence:
        return TargetClass.UNKNOWN, 0.0
    return (TargetClass.VESSEL, TargetClass.PERSON, other)[i], p


@dataclass
class SourceState:
    """One sensor's contribution to a track."""

    kind: SensorKind
    target_id: str | None
    last_seen_s: float
    updates: int = 0
    scans: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_SCANS))
    info: SourceInfo | None = None  # the snapshot's view, until the next update

    def seen(self, target_id: str | None, t_s: float) -> None:
        if target_id is not None:
            self.target_id = target_id
        self.last_seen_s = max(self.last_seen_s, t_s)
        self.updates += 1
        self.scans.append(t_s)
        self.info = None

    def snapshot(self, sensor_id: str, last_seen: datetime) -> SourceInfo:
        if self.info is None:
            self.info = SourceInfo(sensor_id, self.kind, self.target_id, last_seen, self.updates)
        return self.info


def co_observed(a: dict[str, SourceState], b: dict[str, SourceState], since_s: float) -> bool:
    """True when one sensor updated both tracks in the same scan after ``since_s``: two objects."""
    for sid in a.keys() & b.keys():
        sa = {t for t in a[sid].scans if t >= since_s}
        if sa and any(t in sa for t in b[sid].scans):
            return True
    return False


class HintBook:
    """(sensor, its target id) -> our track id, forgotten after ``timeout_s`` without use (radar
    track numbers are reused)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._links: dict[tuple[str, str], tuple[str, float]] = {}
        self._by_track: dict[str, set[tuple[str, str]]] = {}

    def __len__(self) -> int:
        return len(self._links)

    def lookup(self, key: tuple[str, str] | None, t_s: float) -> str | None:
        if key is None:
            return None
        got = self._links.get(key)
        if got is None or t_s - got[1] > self.timeout_s:
            return None
        return got[0]

    def link(self, key: tuple[str, str] | None, track_id: str, t_s: float) -> str | None:
        """Point ``key`` at a track; returns the track it pointed at before, if another."""
        if key is None:
            return None
        old = self._links.get(key)
        if old is not None and old[0] != track_id:
            self._by_track.get(old[0], set()).discard(key)
        self._links[key] = (track_id, t_s)
        self._by_track.setdefault(track_id, set()).add(key)
        return old[0] if old is not None and old[0] != track_id else None

    def move(self, src: str, dst: str) -> None:
        """Links of a track merged into another now point there (keeping their last use)."""
        for key in self._by_track.pop(src, set()):
            self.link(key, dst, self._links[key][1])

    def drop(self, track_id: str) -> None:
        for key in self._by_track.pop(track_id, set()):
            self._links.pop(key, None)

    def prune(self, t_s: float) -> None:
        """Forget links unused for longer than the timeout."""
        stale = [k for k, (_, t) in self._links.items() if t_s - t > self.timeout_s]
        for key in stale:
            tid, _ = self._links.pop(key)
            self._by_track.get(tid, set()).discard(key)
