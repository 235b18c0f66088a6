"""What happens to tracks between scans: confirmation (M of N), coasting, deletion (by time since
the last update and by covariance growth) and merging of duplicates.

Two tracks are one object when their states agree (chi-square test on position and velocity), they
carry no two different MMSIs, and no sensor updated both in one scan recently (a sensor that sees
two objects side by side proves there are two: two boats meeting stay apart, while a radar track
and an AIS track of one boat that started apart merge).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from sar.tracking.config import TrackerSettings
from sar.tracking.identity import HintBook, co_observed, fuse_class
from sar.tracking.kalman import Array, position_sd, predict
from sar.tracking.model import TrackStatus
from sar.tracking.store import TrackMeta, TrackStore


def confirm_if_due(m: TrackMeta, s: TrackerSettings, ais: bool) -> bool:
    """Tentative -> confirmed on M of N hits (or one AIS report); coasting -> confirmed on an
    update. True when the track became confirmed just now for the first time."""
    if m.status is TrackStatus.COASTING:
        m.status = TrackStatus.CONFIRMED
        return False
    if m.status is TrackStatus.TENTATIVE and (sum(m.hits) >= s.confirm_m or (ais and s.ais_confirms)):
        m.status = TrackStatus.CONFIRMED
        m.shown = True
        return True
    return False


def due_for_deletion(store: TrackStore, s: TrackerSettings, now_s: float) -> NDArray[np.intp]:
    """Rows too long without an update for their status, or too uncertain to be useful (position
    sd predicted to ``now_s``)."""
    sd = position_sd(predict(store.x, store.p, np.maximum(now_s - store.t_s, 0.0), store.q)[1])
    shortest = min(s.delete_tentative_s, s.delete_confirmed_s)
    maybe = np.flatnonzero((now_s - store.t_upd_s > shortest) | (sd > s.max_position_sd_m))  # t_upd <= last update
    out = []
    for i in maybe.tolist():
        m = store.meta[i]
        age = now_s - m.last_update_s
        if m.status is TrackStatus.TENTATIVE:
            limit = s.delete_tentative_s
        elif m.mmsi is not None:  # a vessel that reports itself, maybe every 3 minutes
            limit = max(s.delete_ais_s, s.delete_confirmed_s)
        else:
            limit = s.delete_confirmed_s
        if age > limit or sd[i] > s.max_position_sd_m:
            out.append(i)
    return np.array(out, dtype=np.intp)


def mark_coasting(store: TrackStore, s: TrackerSettings, now_s: float) -> None:
    for i in np.flatnonzero(now_s - store.t_upd_s > s.coast_after_s).tolist():
        m = store.meta[i]
        if m.status is TrackStatus.CONFIRMED and now_s - m.last_update_s > s.coast_after_s:
            m.status, m.dirty = TrackStatus.COASTING, True


def merge_pairs(store: TrackStore, gate4: float, s: TrackerSettings, now_s: float) -> list[tuple[int, int]]:
    """(keep, drop) row pairs of duplicate tracks; each row in at most one pair."""
    n = len(store)
    if n < 2:
        return []
    x, p = store.x, store.p
    dist2 = (x[:, None, 0] - x[None, :, 0]) ** 2 + (x[:, None, 1] - x[None, :, 1]) ** 2
    tr = p[:, 0, 0] + p[:, 1, 1]
    rows, cols = np.nonzero(np.triu(dist2 < gate4 * (tr[:, None] + tr[None, :]), k=1))  # d2 >= dist2 / trace
    dx, dy = x[rows, 0] - x[cols, 0], x[rows, 1] - x[cols, 1]
    pa, pb, pc = (p[rows, i, j] + p[cols, i, j] for i, j in ((0, 0), (0, 1), (1, 1)))
    keep = _d2(dx, dy, pa, pb, pc) < gate4  # a part's d2 is a lower bound of the whole's
    rows, cols = rows[keep], cols[keep]
    va, vb, vc = (p[rows, i, j] + p[cols, i, j] for i, j in ((2, 2), (2, 3), (3, 3)))
    near = _d2(x[rows, 2] - x[cols, 2], x[rows, 3] - x[cols, 3], va, vb, vc) < gate4
    out: list[tuple[int, int]] = []
    used: set[int] = set()
    for a, b in zip(rows[near].tolist(), cols[near].tolist(), strict=True):
        if a in used or b in used or not _same_object(store, a, b, gate4, now_s - s.merge_window_s):
            continue
        keep, drop = (a, b) if _older(store.meta[a], store.meta[b]) else (b, a)
        out.append((keep, drop))
        used.update((a, b))
    return out


def _d2(dx: Array, dy: Array, a: Array, b: Array, c: Array) -> Array:
    """Squared Mahalanobis distance of (dx, dy) with covariance [[a, b], [b, c]] (elementwise)."""
    return np.asarray((c * dx * dx - 2.0 * b * dx * dy + a * dy * dy) / (a * c - b * b), dtype=float)


def _same_object(store: TrackStore, a: int, b: int, gate4: float, since_s: float) -> bool:
    ma, mb = store.meta[a], store.meta[b]
    if ma.mmsi is not None and mb.mmsi is not None and ma.mmsi != mb.mmsi:
        return False
    dx: Array = store.x[a] - store.x[b]
    try:
        d2 = float(dx @ np.linalg.solve(store.p[a] + store.p[b], dx))
    except np.linalg.LinAlgError:
        return False
    return d2 < gate4 and not co_observed(ma.sources, mb.sources, since_s)


def _older(a: TrackMeta, b: TrackMeta) -> bool:
    """Which track's id survives a merge: the confirmed one, else the older one."""
    ka = (a.status is TrackStatus.TENTATIVE, a.created_s, a.id)
    kb = (b.status is TrackStatus.TENTATIVE, b.created_s, b.id)
    return ka <= kb


def absorb(store: TrackStore, keep: int, drop: int, hints: HintBook, class_floor: float) -> None:
    """Fold track ``drop`` into ``keep``: the better state, all sources, class evidence, identity."""
    mk, md = store.meta[keep], store.meta[drop]
    if np.trace(store.p[drop][:2, :2]) < np.trace(store.p[keep][:2, :2]):
        for arr in (store.x, store.p, store.x_upd, store.p_upd):
            arr[keep] = arr[drop]
        store.t_upd_s[keep] = store.t_upd_s[drop]
    for sid, src in md.sources.items():
        mine = mk.sources.get(sid)
        if mine is None or src.last_seen_s > mine.last_seen_s:
            if mine is not None:
                src.updates += mine.updates
            mk.sources[sid] = src
        else:
            mine.updates += src.updates
    mk.class_p = fuse_class(mk.class_p, md.class_p, class_floor)
    mk.informed |= md.informed
    mk.class_out = None
    mk.mmsi = mk.mmsi if mk.mmsi is not None else md.mmsi
    store.mmsi[keep] = mk.mmsi or 0
    mk.last_update_s = max(mk.last_update_s, md.last_update_s)
    mk.updates += md.updates
    mk.hits = type(mk.hits)((a or b for a, b in zip(mk.hits, md.hits, strict=False)), maxlen=mk.hits.maxlen)
    mk.created_s, mk.created = min(mk.created_s, md.created_s), None
    mk.shown |= md.shown
    if md.status is not TrackStatus.TENTATIVE and mk.status is TrackStatus.TENTATIVE:
        mk.status = md.status
    mk.dirty = True
    hints.move(md.id, mk.id)
