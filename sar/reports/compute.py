"""Response-time statistics from the stage times: per group kind and stage pair (see
:mod:`sar.reports.model` for the definitions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine

from sar.reports.coverage import coverage_days, load_coverage_samples
from sar.reports.model import (
    DAY_SHIFT_HOURS,
    KM_BAND_KM,
    PAIRS,
    PERCENTILE_METHOD,
    SERVED_WITHIN_S,
    TIMEZONE,
    TOTAL,
    FloatArray,
    MapPoints,
    ResponseTimeReport,
    StatRow,
    WeekService,
    pair_name,
)
from sar.reports.period import ReportPeriod
from sar.reports.query import StageTimes, load_stage_times
from sar.store.schema import STAGES, Stage

Progress = Callable[[str], None]
HOURS = np.array([f"{h:02d}" for h in range(24)])
Labels = tuple[NDArray[np.int64], list[str]]  # a group code per incident, and the groups' names


def compute_report(
    engine: Engine, period: ReportPeriod, progress: Progress | None = None, now: datetime | None = None
) -> ResponseTimeReport:
    """The report over the incidents opened in ``period`` and the coverage over its days (the
    last sample holds until ``now``, default the wall clock); ``progress`` hears each step's name."""
    with engine.connect() as conn:
        data = load_stage_times(conn, period)
        samples = load_coverage_samples(conn, period)
    if progress:
        progress("queried")
    now_s = (now or datetime.now(UTC)).timestamp()
    report = replace(summarise(data, period), coverage=coverage_days(samples, period, now_s))
    if progress:
        progress("computed")
    return report


def summarise(data: StageTimes, period: ReportPeriod) -> ResponseTimeReport:
    """Every group kind's rows: for each group (in order) every stage pair (in order)."""
    detected = data.times[:, STAGES.index(Stage.DETECTED)]
    weeks = _iso_weeks(detected)
    responded = data.agency != ""
    kinds: list[tuple[str, Labels, NDArray[np.bool_] | None]] = [
        ("all", (np.zeros(len(data), dtype=np.int64), ["all"]), None),
        ("agency", _labels(data.agency[responded]), responded),
        ("section", _labels(np.where(data.section == "", "none", data.section)), None),
        ("km_band", _km_bands(data), None),
        ("type", _labels(data.type), None),
        ("hour", _labels(HOURS[_local_hours(detected)]), None),
        ("shift", _shifts(detected), None),
        ("iso_week", weeks, None),
    ]
    durations, out_of_order = [], {}
    for pair in PAIRS:
        d = _durations(data.times, pair)
        bad = d < 0
        out_of_order[pair_name(pair)] = int(bad.sum())
        d[bad] = np.nan
        durations.append(d)
    rows: list[StatRow] = []
    for kind, labels, subset in kinds:
        per_pair = [_stats(kind, labels, d if subset is None else d[subset], pair) for pair, d in zip(PAIRS, durations)]
        rows.extend(row for group in zip(*per_pair) for row in group)
    kinds_present, counts = np.unique(data.type, return_counts=True)
    return ResponseTimeReport(
        period=period,
        incidents=len(data),
        by_type={str(k): int(c) for k, c in zip(kinds_present, counts)},
        rows=tuple(rows),
        service=_service(weeks, _durations(data.times, TOTAL)),
        out_of_order=out_of_order,
        points=MapPoints(data.lon, data.lat, data.type),
    )


def _durations(times: FloatArray, pair: tuple[Stage, Stage]) -> FloatArray:
    out: FloatArray = times[:, STAGES.index(pair[1])] - times[:, STAGES.index(pair[0])]
    return out


def _stats(kind: str, labels: Labels, d: FloatArray, pair: tuple[Stage, Stage]) -> list[StatRow]:
    """Count, median, p90, max of ``d`` per group (NaN = no value); every group gets a row."""
    codes, names = labels
    ok = ~np.isnan(d)
    c, v = codes[ok], d[ok]
    order = np.argsort(c, kind="stable")
    c, v = c[order], v[order]
    bounds = np.searchsorted(c, np.arange(len(names) + 1))
    out = []
    for g, name in enumerate(names):
        seg = v[bounds[g] : bounds[g + 1]]
        if seg.size:
            med, p90 = np.percentile(seg, [50.0, 90.0], method=PERCENTILE_METHOD)
            stats: tuple[float | None, ...] = (float(med), float(p90), float(seg.max()))
        else:
            stats = (None, None, None)
        out.append(StatRow(kind, name, pair[0].value, pair[1].value, int(seg.size), *stats))
    return out


def _labels(values: NDArray[np.str_], key: Callable[[str], tuple[int, str, int]] | None = None) -> Labels:
    names, codes = np.unique(values, return_inverse=True)
    listed = [str(n) for n in names]
    if key is None:
        return codes.astype(np.int64), listed
    ranked = sorted(range(len(listed)), key=lambda j: key(listed[j]))
    remap = np.empty(len(listed), dtype=np.int64)
    remap[ranked] = np.arange(len(listed))
    return remap[codes], [listed[j] for j in ranked]


def _km_bands(data: StageTimes) -> Labels:
    """'<section> km <lo>-<hi>' bands of KM_BAND_KM, ordered by section and km; 'none' off the sections."""
    lo = (np.floor(np.nan_to_num(data.river_km, nan=-1.0) / KM_BAND_KM) * KM_BAND_KM).astype(np.int64)
    has = (data.section != "") & ~np.isnan(data.river_km)
    names = np.array([f"{s} km {a}-{a + KM_BAND_KM}" for s, a in zip(data.section.tolist(), lo.tolist())], dtype=str)
    values = np.where(has, names, "none")

    def key(name: str) -> tuple[int, str, int]:
        if name == "none":
            return (1, "", 0)
        section, _, band = name.split(" ")
        return (0, section, int(band.split("-")[0]))

    return _labels(values, key)


def _local_hours(epoch_s: FloatArray) -> NDArray[np.int64]:
    """Local hour (Europe/Chisinau) of each time; offsets looked up once per UTC hour (the
    zone changes its offset on whole UTC hours)."""
    hour = np.floor(epoch_s / 3600.0).astype(np.int64)
    uniq, inv = np.unique(hour, return_inverse=True)
    tz = ZoneInfo(TIMEZONE)
    local = np.array([datetime.fromtimestamp(h * 3600.0, tz).hour for h in uniq.tolist()], dtype=np.int64)
    return local[inv] if len(uniq) else np.zeros(0, dtype=np.int64)


def _shifts(epoch_s: FloatArray) -> Labels:
    h = _local_hours(epoch_s)
    day = (h >= DAY_SHIFT_HOURS[0]) & (h < DAY_SHIFT_HOURS[1])
    return _labels(np.where(day, "day", "night"))


def _iso_weeks(epoch_s: FloatArray) -> Labels:
    """ISO week ('2025-W07') of each time's UTC date."""
    days = np.floor(epoch_s / 86400.0).astype(np.int64)
    uniq, inv = np.unique(days, return_inverse=True)
    epoch = date(1970, 1, 1).toordinal()
    names = [date.fromordinal(epoch + d).isocalendar() for d in uniq.tolist()]
    weeks = np.array([f"{y}-W{w:02d}" for y, w, _ in names], dtype=str)
    return _labels(weeks[inv] if len(uniq) else np.zeros(0, dtype=str))


def _service(weeks: Labels, total: FloatArray) -> tuple[WeekService, ...]:
    codes, names = weeks
    on = ~np.isnan(total) & (total >= 0)
    within = on & (total <= SERVED_WITHIN_S)
    n = len(names)
    count = np.bincount(codes, minlength=n)
    return tuple(
        WeekService(name, int(count[g]), int(x), int(y))
        for g, (name, x, y) in enumerate(
            zip(names, np.bincount(codes[on], minlength=n).tolist(), np.bincount(codes[within], minlength=n).tolist())
        )
    )
