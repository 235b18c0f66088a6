"""Coverage over time from the coverage watch's samples (``coverage_samples``): per UTC day of the
period, the time-weighted mean river km in gaps, the share of time with any gap and the worst ETA.

A sample holds until the next one; the last until the end of the period or ``now`` (whichever
comes first); the one before the period holds into it. Time before the first sample is not
observed and weighs nothing (``observed_s`` says how much of each day was)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from sqlalchemy import Connection, select

from sar.reports.model import CoverageDay, FloatArray
from sar.reports.period import ReportPeriod
from sar.reports.query import epoch_s
from sar.store.schema import CoverageSampleRow

DAY_S = 86400.0


@dataclass(frozen=True)
class CoverageSamples:
    """Samples in time order: epoch s, river km in gaps, worst ETA (NaN: some stretch unreachable)."""

    time_s: FloatArray
    gap_km: FloatArray
    worst_eta_s: FloatArray


def load_coverage_samples(conn: Connection, period: ReportPeriod) -> CoverageSamples:
    """The samples taken in the period and the last one before it (it holds into the period)."""
    c = CoverageSampleRow
    cols = (epoch_s(c.time), c.gap_km, c.worst_eta_s)
    before = select(*cols).where(c.time < period.start).order_by(c.time.desc(), c.id.desc()).limit(1)
    inside = select(*cols).where(c.time >= period.start, c.time < period.end).order_by(c.time, c.id)
    rows = [*conn.execute(before).all(), *conn.execute(inside).all()]
    data = np.array([[t, g, np.nan if w is None else w] for t, g, w in rows], dtype=float).reshape(-1, 3)
    return CoverageSamples(data[:, 0].copy(), data[:, 1].copy(), data[:, 2].copy())


def coverage_days(samples: CoverageSamples, period: ReportPeriod, now_s: float) -> tuple[CoverageDay, ...]:
    """Every day of the period: the samples' values weighted by how long each held in that day."""
    start = period.start.timestamp()
    limit = min(period.end.timestamp(), max(now_s, start))
    bounds = start + DAY_S * np.arange(period.days + 1)
    t = samples.time_s
    cuts = np.unique(np.concatenate([np.clip(t, start, limit), np.clip(bounds, start, limit)]))
    a, b = cuts[:-1], cuts[1:]
    held = np.searchsorted(t, a, side="right") - 1  # the sample in force from a to b (-1: none yet)
    ok = held >= 0
    a, length, held = a[ok], (b - a)[ok], held[ok]
    day = np.floor((a - start) / DAY_S).astype(np.int64)
    n = period.days
    observed = np.bincount(day, length, n)
    gap = samples.gap_km[held]
    gap_km_s = np.bincount(day, length * gap, n)
    gap_s = np.bincount(day, length * (gap > 0), n)
    worst = samples.worst_eta_s[held]
    unreachable = np.bincount(day, np.isnan(worst), n) > 0
    top = np.full(n, -np.inf)
    np.maximum.at(top, day, np.nan_to_num(worst, nan=-np.inf))
    taken = np.bincount(np.floor((t[(t >= start) & (t < limit)] - start) / DAY_S).astype(np.int64), minlength=n)
    return tuple(
        CoverageDay(
            day=period.first_day + timedelta(days=d),
            observed_s=float(observed[d]),
            samples=int(taken[d]),
            mean_gap_km=float(gap_km_s[d] / observed[d]) if observed[d] > 0 else None,
            gap_share=float(gap_s[d] / observed[d]) if observed[d] > 0 else None,
            worst_eta_s=None if unreachable[d] or not np.isfinite(top[d]) else float(top[d]),
            unreachable=bool(unreachable[d]),
        )
        for d in range(n)
    )
