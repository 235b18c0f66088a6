"""The multi-sensor multi-target tracker: observations in, tracks out, usable without the server.

``add`` buffers observations in any order; ``advance(now)`` processes, in time order, those older
than ``lag_s`` (a scan = one sensor's observations within ``scan_window_s``), then confirms,
coasts, merges and deletes tracks. An observation older than what was already processed by at
most ``late_tolerance_s`` is used as if seen just after it, its position uncertainty grown by
``late_speed_mps`` x its lateness (``late_retimed``: a sensor clock a little behind, a slow
link); older ones are dropped and counted (``too_late``). Each scan: all tracks predicted to its time, gated, assigned
by global nearest neighbour (:mod:`sar.tracking.association`), updated in one batch; unassigned
observations with a position (or a range) outside every track's gate start tentative tracks,
bearings alone never do.

Choices: AIS reports are scans too (per receiver, within the window, one report per MMSI), but
never count as misses (each vessel reports on its own schedule) and one report confirms a track;
a sensor's own target id (radar track number, camera track, MMSI) links to our track and is
preferred when it passes a gate; each track's process noise adapts between a quiet and a
manoeuvring level by its innovations, and a confirmed track that missed gets a second chance with
manoeuvre noise. Not thread-safe: call ``add`` and ``advance`` from one thread (the event loop).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from geo.crs import Projector
from sar.tracking.association import Gates, IntArray, Manoeuvre, Pairs, associate, linearise
from sar.tracking.config import TrackerSettings
from sar.tracking.identity import HintBook, SourceState, class_likelihood, fuse_class
from sar.tracking.kalman import Array, chi2_gate, update
from sar.tracking.lifecycle import absorb, confirm_if_due, due_for_deletion, mark_coasting, merge_pairs
from sar.tracking.measure import AIS_KEY, Geometry, Scan, build_scan
from sar.tracking.model import Track, TrackStatus
from sar.tracking.store import SnapshotContext, TrackMeta, TrackStore, make_snapshots
from sensors.model import Observation, SensorKind, SensorMessage, TargetClass
from sensors.vessels import VesselRegistry

MERGE_EVERY_S = 1.0  # duplicates (and stale id links) are looked for at most this often, tracker time
COUNTERS = (
    "received", "too_late", "late_retimed", "ignored", "processed", "scans", "associated", "initiated",
    "unassociated", "confirmed", "merged", "deleted",
)  # fmt: skip


@dataclass(frozen=True)
class TrackerUpdate:
    """What one ``advance`` changed: shown tracks (confirmed or coasting) that were updated, changed
    status or moved as predictions, and the ids of shown tracks that were deleted or merged away."""

    updated: list[Track]
    deleted: list[str]
    time: datetime


class Tracker:
    """Tracks in the metric CRS of ``projector``; ``vessels`` names tracks by their MMSI."""

    def __init__(self, settings: TrackerSettings, projector: Projector, vessels: VesselRegistry | None = None) -> None:
        self.settings = settings
        self._geom = Geometry(projector)
        self._vessels = vessels
        self._q = settings.accel_sd_mps2**2
        self._q_quiet = settings.quiet_accel_sd_mps2**2
        self._q_hi = settings.maneuver_accel_sd_mps2**2
        gate, hint = settings.gate_probability, settings.hint_gate_probability
        self._gates = Gates(
            np.array([np.inf, *(chi2_gate(gate, d) for d in range(1, 5))]),
            np.array([np.inf, *(chi2_gate(hint, d) for d in range(1, 5))]),
        )
        self._merge_gate = chi2_gate(settings.merge_probability, 4)
        self._store = TrackStore()
        self._hints = HintBook(settings.hint_timeout_s)
        self._buffer: list[tuple[float, str, int, Observation]] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self._epoch: datetime | None = None
        self._ctx: SnapshotContext | None = None
        self._done_s = -np.inf
        self._merged_s = -np.inf
        self._deleted: list[str] = []
        self._counts = dict.fromkeys(COUNTERS, 0)

    # -- public API --------------------------------------------------------------------------

    def add(self, obs: SensorMessage) -> None:
        """Buffer an observation (anything else is ignored: vessel static data, our own drones)."""
        if not isinstance(obs, Observation):
            self._counts["ignored"] += 1
            return
        if self._epoch is None:
            self._epoch = obs.time
            s = self.settings
            self._ctx = SnapshotContext(
                obs.time, self._geom.projector, self._vessels, s.min_class_confidence, s.history_len, s.history_every_s
            )
        t_s = (obs.time - self._epoch).total_seconds()
        if t_s <= self._done_s:
            late_s = self._done_s - t_s
            if late_s > self.settings.late_tolerance_s:
                self._counts["too_late"] += 1
                return
            obs, t_s = self._retime(obs, late_s), self._done_s + 1e-6
            self._counts["late_retimed"] += 1
        self._counts["received"] += 1
        heapq.heappush(self._buffer, (t_s, obs.sensor_id, next(self._seq), obs))

    def _retime(self, obs: Observation, late_s: float) -> Observation:
        """A slightly late observation taken as seen just after the processed time: its position
        uncertainty grows by how far a target may have moved meanwhile (a bearing is kept)."""
        time = self._epoch_time(self._done_s + 1e-6)
        p = obs.position
        if p is None:
            return replace(obs, time=time)
        grown = math.hypot(p.accuracy_m, self.settings.late_speed_mps * (late_s + 1e-6))
        return replace(obs, time=time, position=replace(p, accuracy_m=grown))

    def _epoch_time(self, t_s: float) -> datetime:
        assert self._epoch is not None
        return self._epoch + timedelta(seconds=t_s)

    def advance(self, now: datetime) -> TrackerUpdate:
        """Process the observations older than ``now - lag_s`` in time order, then maintain tracks."""
        if self._epoch is None or self._ctx is None:
            return TrackerUpdate([], [], now)
        cutoff = (now - self._epoch).total_seconds() - self.settings.lag_s
        if cutoff > self._done_s:
            due = []
            while self._buffer and self._buffer[0][0] <= cutoff:
                due.append(heapq.heappop(self._buffer))
            for times, obs in self._scans(due):
                self._process(self._build(obs, times))
            self._done_s = cutoff
            self._maintain(cutoff)
        updated = self._refresh(include_tentative=False, report=True)
        deleted, self._deleted = self._deleted, []
        return TrackerUpdate(updated, deleted, now)

    def tracks(self, include_tentative: bool = False) -> list[Track]:
        """Current snapshots: confirmed and coasting tracks (and tentative ones when asked)."""
        self._refresh(include_tentative, report=False)
        return [
            m.snapshot
            for m in self._store.meta
            if m.snapshot is not None and (include_tentative or m.status is not TrackStatus.TENTATIVE)
        ]

    @property
    def counters(self) -> dict[str, int]:
        """Observations received / too late / ignored / processed, scans, associations, track
        initiations, confirmations, merges and deletions; plus buffered observations and tracks now."""
        return {**self._counts, "buffered": len(self._buffer), "tracks": len(self._store)}

    # -- scans -------------------------------------------------------------------------------

    def _build(self, obs: list[Observation], times: list[float]) -> Scan:
        s = self.settings
        floor = s.velocity_sd_floor_mps if s.use_velocity else None
        return build_scan(obs, times, self._geom, floor, s.max_range_sd_fraction, s.velocity_gate_sd_mps)

    def _scans(self, due: list[tuple[float, str, int, Observation]]) -> list[tuple[list[float], list[Observation]]]:
        """Due observations cut into scans (per sensor, within the window, one report per target
        id), ordered by scan time."""
        window = self.settings.scan_window_s
        open_: dict[str, tuple[list[float], list[Observation], set[str]]] = {}
        out: list[tuple[list[float], list[Observation]]] = []
        for t_s, sid, _, obs in due:
            cur = open_.get(sid)
            if cur is not None and (
                t_s - cur[0][0] > window or (obs.target_id is not None and obs.target_id in cur[2])
            ):
                out.append((cur[0], cur[1]))
                cur = None
            if cur is None:
                cur = open_[sid] = ([], [], set())
            cur[0].append(t_s)
            cur[1].append(obs)
            if obs.target_id is not None:
                cur[2].add(obs.target_id)
        out.extend((times, obs) for times, obs, _ in open_.values())
        out.sort(key=lambda s: max(s[0]))
        return out

    def _process(self, scan: Scan) -> None:
        store, t = self._store, scan.time_s
        store.predict_to(t)
        hints = np.array([store.row_of.get(self._hints.lookup(k, t) or "", -1) for k in scan.keys], dtype=np.intp)
        eligible = np.array([m.status is TrackStatus.CONFIRMED and not m.hits[-1] for m in store.meta], dtype=bool)
        coasting = np.array([m.status is TrackStatus.COASTING for m in store.meta], dtype=bool)
        man = Manoeuvre(store.p_upd, store.t_upd_s, self._q_hi, eligible, eligible | coasting)
        pairs, in_gate = associate(
            store.x, store.p, scan, hints, self._gates, lambda r, c: self._extra(scan, r, c), man
        )
        self._update(scan, pairs)
        self._book(scan, pairs)
        free = np.ones(len(scan), dtype=bool)
        free[pairs.cols] = False
        starts = free & (scan.dim == 2) & (self.settings.initiate_in_gate | ~in_gate)
        self._initiate(scan, np.flatnonzero(starts))
        self._counts["unassociated"] += int((free & ~starts).sum())
        self._counts["scans"] += 1
        self._counts["processed"] += len(scan)
        self._counts["associated"] += len(pairs.rows)

    def _extra(self, scan: Scan, rows: IntArray, cols: IntArray) -> Array:
        """Identity costs: inf for two different MMSIs; a penalty where the sensor recently gave
        this track another of its ids."""
        out = np.zeros(len(rows))
        mm, tm = scan.mmsi[cols], self._store.mmsi[rows]
        out[(mm > 0) & (tm > 0) & (mm != tm)] = np.inf
        cost = self.settings.id_mismatch_cost
        if cost <= 0 or scan.kind is SensorKind.AIS or len(rows) == 0:
            return out
        obs_ids, trk_ids = self._id_codes(scan, rows)
        mine, theirs = obs_ids[cols], trk_ids[rows]
        out[(mine >= 0) & (theirs >= 0) & (mine != theirs)] += cost
        return out

    def _id_codes(self, scan: Scan, rows: IntArray) -> tuple[IntArray, IntArray]:
        """The scan's target ids and the ids this sensor recently gave the tracks of ``rows`` (the
        gated candidates only: a radar sees a few of hundreds of tracks), as integer codes (-1:
        none), so identity costs compare arrays."""
        codes: dict[str, int] = {}
        obs = np.array([-1 if o.target_id is None else codes.setdefault(o.target_id, len(codes)) for o in scan.obs])
        recent, sid = scan.time_s - self.settings.hint_timeout_s, scan.sensor_id
        trk = np.full(len(self._store), -1, dtype=np.intp)
        meta = self._store.meta
        for r in np.unique(rows).tolist():
            src = meta[r].sources.get(sid)
            if src is not None and src.target_id is not None and src.last_seen_s >= recent:
                trk[r] = codes.setdefault(src.target_id, len(codes))
        return obs.astype(np.intp), trk

    def _update(self, scan: Scan, pairs: Pairs) -> None:
        """Kalman update of the assigned tracks: position (or range/bearing), then velocity."""
        if len(pairs.rows) == 0:
            return
        rows, cols = pairs.rows, pairs.cols
        x, p = self._store.x[rows].copy(), pairs.p.copy()
        y, h = linearise(x, scan, cols)
        r, dim = scan.r[cols], scan.dim[cols]
        nis = np.zeros(len(rows))
        for sel, d in ((dim == 2, slice(0, 2)), (dim == 1, slice(1, 2))):
            if sel.any():
                x[sel], p[sel], nis[sel] = update(x[sel], p[sel], y[sel][:, d], h[sel][:, d], r[sel][:, d, d])
        vel = scan.vel[cols]
        has = ~np.isnan(vel[:, 0])
        if has.any():
            hv = np.zeros((int(has.sum()), 2, 4))
            hv[:, 0, 2] = hv[:, 1, 3] = 1.0
            rv = (scan.vel_sd[cols][has] ** 2)[:, None, None] * np.eye(2)
            x[has], p[has], _ = update(x[has], p[has], vel[has] - x[has, 2:], hv, rv)
        self._store.set_updated(rows, x, p, scan.time_s)
        self._adapt(rows, np.where(pairs.manoeuvre, np.inf, nis / dim))

    def _adapt(self, rows: IntArray, nis: Array) -> None:
        """Process noise per track from the running mean of its normalised innovations: quiet while
        they are as expected (1), full at ``nis_saturation`` (or after a manoeuvre gate, inf)."""
        s, store = self.settings, self._store
        sat = s.nis_saturation
        level = (1.0 - s.nis_memory) * store.nis[rows] + s.nis_memory * np.minimum(nis, sat)
        store.nis[rows] = np.where(np.isinf(nis), sat, level)
        frac = np.clip((store.nis[rows] - 1.0) / (sat - 1.0), 0.0, 1.0)
        store.q[rows] = self._q_quiet + frac * (self._q - self._q_quiet)

    def _book(self, scan: Scan, pairs: Pairs) -> None:
        """Bookkeeping of the assigned tracks (sources, class, identity, M of N) and the misses of
        tracks this sensor fed before (AIS reports on its own schedule: never a miss)."""
        store, t, mmsi = self._store, scan.time_s, scan.mmsi.tolist()
        ais = scan.kind is SensorKind.AIS
        for r, c in zip(pairs.rows.tolist(), pairs.cols.tolist(), strict=True):
            m = store.meta[r]
            m.last_update_s, m.dirty = t, True
            m.updates += 1
            m.hits.append(True)
            self._learn(m, scan, c, mmsi[c])
            if confirm_if_due(m, self.settings, ais and mmsi[c] > 0):
                self._counts["confirmed"] += 1
        named = scan.mmsi[pairs.cols] > 0
        store.mmsi[pairs.rows[named]] = scan.mmsi[pairs.cols[named]]
        if scan.kind is not SensorKind.AIS:
            hit = set(pairs.rows.tolist())
            for r, m in enumerate(store.meta):
                if r not in hit and scan.sensor_id in m.sources:
                    m.hits.append(False)

    def _learn(self, m: TrackMeta, scan: Scan, c: int, mmsi: int) -> None:
        """What observation ``c`` (of MMSI ``mmsi``, 0: none) says about who the track is."""
        obs, t = scan.obs[c], scan.time_s
        src = m.sources.get(scan.sensor_id)
        if src is None:
            src = m.sources[scan.sensor_id] = SourceState(scan.kind, obs.target_id, t)
        src.seen(obs.target_id, t)
        lik = class_likelihood(obs.target_class, obs.class_confidence)
        if lik is not None:
            m.class_p = fuse_class(m.class_p, lik, self.settings.class_floor)
            m.informed, m.class_out = True, None
            if obs.target_class not in (TargetClass.VESSEL, TargetClass.PERSON):
                m.other_class = obs.target_class
        if mmsi:
            m.mmsi = mmsi
        key = scan.keys[c]
        before = self._hints.link(key, m.id, t)
        if before is not None and key is not None and key[0] == AIS_KEY:  # the MMSI moved: the old track loses it
            row = self._store.row_of.get(before)
            if row is not None and self._store.meta[row].mmsi == mmsi:
                self._store.meta[row].mmsi, self._store.mmsi[row] = None, 0

    def _initiate(self, scan: Scan, cols: IntArray) -> None:
        """Tentative tracks from unassigned observations with a position: at rest with a large
        velocity variance, or at the reported velocity."""
        if len(cols) == 0:
            return
        s, k, t = self.settings, len(cols), scan.time_s
        x = np.zeros((k, 4))
        p = np.zeros((k, 4, 4))
        x[:, :2], p[:, :2, :2] = scan.xy[cols], scan.xy_cov[cols]
        vel = scan.vel[cols]
        has = ~np.isnan(vel[:, 0])
        x[has, 2:] = vel[has]
        vsd = np.where(has, scan.vel_sd[cols], s.init_velocity_sd_mps)
        p[:, 2, 2] = p[:, 3, 3] = vsd**2
        metas = []
        mmsi = scan.mmsi.tolist()
        for c in cols.tolist():
            m = TrackMeta(f"T{next(self._ids):04d}", t, t, deque([True], maxlen=s.confirm_n), updates=1)
            self._learn(m, scan, c, mmsi[c])
            if confirm_if_due(m, s, scan.kind is SensorKind.AIS and mmsi[c] > 0):
                self._counts["confirmed"] += 1
            metas.append(m)
        self._store.append(x, p, t, metas, self._q, self.settings.nis_saturation)
        self._counts["initiated"] += k

    # -- maintenance and output ----------------------------------------------------------------

    def _maintain(self, now_s: float) -> None:
        store, s = self._store, self.settings
        mark_coasting(store, s, now_s)
        periodic = now_s - self._merged_s >= MERGE_EVERY_S
        pairs = merge_pairs(store, self._merge_gate, s, now_s) if periodic else []
        if periodic:
            self._merged_s = now_s
        for keep, drop in pairs:
            absorb(store, keep, drop, self._hints, s.class_floor)
        self._counts["merged"] += len(pairs)
        gone = store.remove(np.array([d for _, d in pairs], dtype=np.intp))
        self._deleted.extend(m.id for m in gone if m.shown)
        gone = store.remove(due_for_deletion(store, s, now_s))
        for m in gone:
            self._hints.drop(m.id)
            if m.shown:
                self._deleted.append(m.id)
        self._counts["deleted"] += len(gone)
        if periodic:
            self._hints.prune(now_s)

    def _refresh(self, include_tentative: bool, report: bool) -> list[Track]:
        """Rebuild stale snapshots (changed, or coasting and due); return the shown ones rebuilt."""
        assert self._ctx is not None or not self._store.meta
        now_s, every = self._done_s, self.settings.coast_report_s
        rows = [
            r
            for r, m in enumerate(self._store.meta)
            if (include_tentative or m.status is not TrackStatus.TENTATIVE)
            and (m.dirty or (report and m.status is TrackStatus.COASTING and now_s - m.snap_s >= every))
        ]
        if not rows or self._ctx is None:
            return []
        make_snapshots(self._store, np.array(rows, dtype=np.intp), now_s, self._ctx)
        if not report:
            return []
        metas = (self._store.meta[r] for r in rows)
        return [m.snapshot for m in metas if m.snapshot is not None and m.status is not TrackStatus.TENTATIVE]
