"""The tracker's own mutable state: filter arrays for all tracks (one row each) plus per-track
bookkeeping, and the frozen :class:`Track` snapshots made from them.

Rows: ``x``/``p`` are predicted to the latest scan time ``t_s`` (all tracks together); ``x_upd``/
``p_upd`` are the posterior at the last update ``t_upd_s`` (what a snapshot shows, and where a
manoeuvre prediction starts). ``mmsi`` (0 = none) lets the gate forbid two MMSIs on one track.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from geo.crs import Projector
from sar.tracking.identity import N_CLASSES, SourceState, class_output
from sar.tracking.kalman import Array, position_sd, predict
from sar.tracking.model import Track, TrackStatus
from sensors.model import TargetClass
from sensors.vessels import VesselRegistry


@dataclass
class TrackMeta:
    """Bookkeeping of one track (everything but the filter arrays)."""

    id: str
    created_s: float
    last_update_s: float
    hits: deque[bool]
    status: TrackStatus = TrackStatus.TENTATIVE
    updates: int = 0
    sources: dict[str, SourceState] = field(default_factory=dict)
    class_p: Array = field(default_factory=lambda: np.full(N_CLASSES, 1.0 / N_CLASSES))
    informed: bool = False
    other_class: TargetClass = TargetClass.UNKNOWN
    class_out: tuple[TargetClass, float] | None = None  # shown class, until the evidence changes
    mmsi: int | None = None
    history: deque[tuple[datetime, float, float]] = field(default_factory=deque)  # (time, lon, lat)
    history_s: float = -math.inf  # time of the newest history point
    snapshot: Track | None = None
    created: datetime | None = None  # created_s as a datetime, once known
    snap_s: float = -math.inf  # state time of the snapshot
    dirty: bool = True  # changed since its snapshot
    shown: bool = False  # was confirmed once: its deletion is reported


class TrackStore:
    """Rows of filter state and their bookkeeping, kept aligned."""

    def __init__(self) -> None:
        self.x = np.zeros((0, 4))
        self.p = np.zeros((0, 4, 4))
        self.t_s = np.zeros(0)
        self.x_upd = np.zeros((0, 4))
        self.p_upd = np.zeros((0, 4, 4))
        self.t_upd_s = np.zeros(0)
        self.mmsi = np.zeros(0, dtype=np.int64)
        self.q = np.zeros(0)
        self.nis = np.zeros(0)
        self.meta: list[TrackMeta] = []
        self.row_of: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.meta)

    def append(self, x: Array, p: Array, t_s: float, metas: list[TrackMeta], q: float, nis: float) -> None:
        """New rows, updated at ``t_s``, with noise density ``q`` and innovation level ``nis``."""
        n0 = len(self.meta)
        t = np.full(len(metas), t_s)
        self.x, self.p, self.t_s = np.concatenate([self.x, x]), np.concatenate([self.p, p]), np.append(self.t_s, t)
        self.x_upd, self.p_upd = np.concatenate([self.x_upd, x]), np.concatenate([self.p_upd, p])
        self.t_upd_s = np.append(self.t_upd_s, t)
        self.mmsi = np.append(self.mmsi, np.array([m.mmsi or 0 for m in metas], dtype=np.int64))
        self.q, self.nis = np.append(self.q, np.full(len(metas), q)), np.append(self.nis, np.full(len(metas), nis))
        self.meta.extend(metas)
        self.row_of.update({m.id: n0 + i for i, m in enumerate(metas)})

    def remove(self, rows: NDArray[np.intp]) -> list[TrackMeta]:
        """Drop rows; returns their bookkeeping."""
        if len(rows) == 0:
            return []
        keep = np.ones(len(self.meta), dtype=bool)
        keep[rows] = False
        gone = [self.meta[i] for i in rows]
        self.x, self.p, self.t_s = self.x[keep], self.p[keep], self.t_s[keep]
        self.x_upd, self.p_upd, self.t_upd_s = self.x_upd[keep], self.p_upd[keep], self.t_upd_s[keep]
        self.mmsi, self.q, self.nis = self.mmsi[keep], self.q[keep], self.nis[keep]
        self.meta = [m for m, k in zip(self.meta, keep.tolist(), strict=True) if k]
        self.row_of = {m.id: i for i, m in enumerate(self.meta)}
        return gone

    def predict_to(self, t_s: float) -> None:
        """Predict every row to ``t_s`` (rows already there, or later, stay)."""
        dt = t_s - self.t_s
        move = dt > 0
        if move.any():
            self.x[move], self.p[move] = predict(self.x[move], self.p[move], dt[move], self.q[move])
            self.t_s[move] = t_s

    def set_updated(self, rows: NDArray[np.intp], x: Array, p: Array, t_s: float) -> None:
        self.x[rows], self.p[rows] = x, p
        self.x_upd[rows], self.p_upd[rows] = x, p
        self.t_s[rows] = self.t_upd_s[rows] = t_s


@dataclass(frozen=True)
class SnapshotContext:
    """What turning tracker seconds and grid metres into a :class:`Track` needs."""

    epoch: datetime
    projector: Projector
    vessels: VesselRegistry | None
    min_class_confidence: float
    history_len: int
    history_every_s: float

    def when(self, t_s: float) -> datetime:
        return self.epoch + timedelta(seconds=t_s)


def make_snapshots(store: TrackStore, rows: NDArray[np.intp], now_s: float, ctx: SnapshotContext) -> None:
    """Refresh the snapshots of ``rows``: the last update, or, coasting, the prediction to ``now_s``."""
    if len(rows) == 0:
        return
    x, p = store.x_upd[rows].copy(), store.p_upd[rows].copy()
    coasting = np.array([store.meta[r].status is TrackStatus.COASTING for r in rows], dtype=bool)
    t = store.t_upd_s[rows].copy()
    if coasting.any():
        dt = np.maximum(now_s - t[coasting], 0.0)
        x[coasting], p[coasting] = predict(x[coasting], p[coasting], dt, store.q[rows][coasting])
        t[coasting] = np.maximum(t[coasting], now_s)
    lon, lat = ctx.projector.to_lonlat(x[:, 0], x[:, 1])
    columns = zip(
        rows.tolist(), x.tolist(), t.tolist(), lon.tolist(), lat.tolist(), position_sd(p).tolist(), strict=True
    )
    for r, xr, tr, lo, la, sd in columns:
        m = store.meta[r]
        if m.status is not TrackStatus.COASTING and ctx.history_len and tr - m.history_s >= ctx.history_every_s:
            m.history.append((ctx.when(tr), lo, la))
            m.history_s = tr
            while len(m.history) > ctx.history_len:
                m.history.popleft()
        m.snapshot = _track(m, xr, tr, lo, la, sd, ctx)
        m.snap_s, m.dirty = tr, False


def _track(
    m: TrackMeta, x: list[float], t_s: float, lon: float, lat: float, sd_m: float, ctx: SnapshotContext
) -> Track:
    if m.class_out is None:
        m.class_out = class_output(m.class_p, m.informed, m.other_class, ctx.min_class_confidence)
    name = None
    if m.mmsi is not None and ctx.vessels is not None:
        static = ctx.vessels.get(m.mmsi)
        name = static.name if static is not None else None
    at = ctx.when(t_s)
    sources = tuple(
        s.info or s.snapshot(sid, at if s.last_seen_s == t_s else ctx.when(s.last_seen_s))
        for sid, s in sorted(m.sources.items())
    )
    if m.created is None:
        m.created = ctx.when(m.created_s)
    return Track(
        id=m.id, status=m.status, time=at, x_m=x[0], y_m=x[1], vx_mps=x[2], vy_mps=x[3], lon=lon, lat=lat,
        position_sd_m=sd_m, target_class=m.class_out[0], class_confidence=m.class_out[1], sources=sources,
        mmsi=m.mmsi, name=name, created=m.created, history=tuple(m.history),
    )  # fmt: skip
