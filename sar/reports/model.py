"""What a response-time report holds and what each figure means.

- Stage times: the first event of each stage of an incident (``incident_events``; the store
  records each stage once). An incident belongs to the period in which it was opened (detected).
- A pair's time is ``to - from`` in seconds, for incidents that have both stages; a negative one
  (stages recorded out of order) is left out and counted in ``out_of_order``.
- Statistics per group: count, median, p90 and max; percentiles are numpy's default
  (``method="linear"``: the sorted values interpolated linearly at rank p/100 * (n - 1)).
- Groups (``group_kind``): ``all``; ``agency`` (of the responding asset: the one whose on-scene
  event is recorded, else that of the latest asset stage reached; incidents no asset was sent
  to are in no agency group); ``section``; ``km_band`` (10 km of river km per
  section); ``type``; ``hour`` (local hour of detection, Europe/Chisinau); ``shift`` (day
  08:00-20:00 local, night 20:00-08:00); ``iso_week`` (ISO week of the UTC detection date).
- Service by week: incidents, those with a boat on scene, and those on scene within
  ``SERVED_WITHIN_S`` of detection.
- Coverage over time (``coverage``, one entry per UTC day of the period) from the coverage
  watch's samples (taken when the gaps change and at least every minute): each sample holds
  until the next one, the last until the end of the period or now; per day the time-weighted
  mean river km in gaps, the share of the observed time with any gap, and the worst ETA of any
  stretch (None with ``unreachable`` when some stretch had no boat able to reach it). See
  ``COVERAGE_NOTE``. The CSV holds the stage statistics only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from sar.reports.period import ReportPeriod
from sar.store.schema import Stage

FloatArray = NDArray[np.float64]
S = Stage
PAIRS: tuple[tuple[Stage, Stage], ...] = (
    (S.DETECTED, S.ALERTED),
    (S.ALERTED, S.ACKNOWLEDGED),
    (S.ACKNOWLEDGED, S.DISPATCHED),
    (S.DISPATCHED, S.ACCEPTED),
    (S.ACCEPTED, S.UNDER_WAY),
    (S.UNDER_WAY, S.ON_SCENE),
    (S.DETECTED, S.ON_SCENE),
    (S.ON_SCENE, S.RESOLVED),
)
TOTAL = (S.DETECTED, S.ON_SCENE)
ASSET_STAGES: tuple[Stage, ...] = (S.DISPATCHED, S.ACCEPTED, S.UNDER_WAY, S.ON_SCENE)
GROUP_KINDS = ("all", "agency", "section", "km_band", "type", "hour", "shift", "iso_week")
KM_BAND_KM = 10
TIMEZONE = "Europe/Chisinau"
DAY_SHIFT_HOURS = (8, 20)  # local; the night shift is the rest
SERVED_WITHIN_S = 1800.0
PERCENTILE_METHOD: Literal["linear"] = "linear"
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}
FORMATS = tuple(MEDIA_TYPES)
CSV_COLUMNS = ("group_kind", "group", "from_stage", "to_stage", "count", "median_s", "p90_s", "max_s")
COVERAGE_NOTE = (
    "coverage over time: per UTC day, the time-weighted mean river km in gaps (each coverage sample holds until "
    "the next, the last until the end of the period or now), the share of that time with any gap and the worst "
    "ETA over all stretches (unreachable: some stretch no available boat could reach); time before the first "
    "sample is not observed"
)


def pair_name(pair: tuple[Stage, Stage]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


@dataclass(frozen=True)
class StatRow:
    """One group and stage pair: count and seconds (None when the count is 0)."""

    group_kind: str
    group: str
    from_stage: str
    to_stage: str
    count: int
    median_s: float | None
    p90_s: float | None
    max_s: float | None

    def to_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in CSV_COLUMNS}


@dataclass(frozen=True)
class WeekService:
    week: str
    incidents: int
    on_scene: int
    within: int  # on scene within SERVED_WITHIN_S of detection

    def to_dict(self) -> dict[str, Any]:
        share = round(self.within / self.incidents, 4) if self.incidents else None
        return {**self.__dict__, "within_share": share}


@dataclass(frozen=True)
class CoverageDay:
    """Coverage over one UTC day; the figures are None when no sample was in force that day."""

    day: date
    observed_s: float  # seconds of the day some sample was in force
    samples: int  # samples taken that day
    mean_gap_km: float | None
    gap_share: float | None  # of observed_s
    worst_eta_s: float | None  # None also when unreachable
    unreachable: bool  # some stretch could not be reached at some time of the day

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "day": self.day.isoformat()}


@dataclass(frozen=True)
class MapPoints:
    lon: FloatArray
    lat: FloatArray
    type: NDArray[np.str_]


@dataclass(frozen=True)
class ResponseTimeReport:
    period: ReportPeriod
    incidents: int
    by_type: dict[str, int]
    rows: tuple[StatRow, ...]
    service: tuple[WeekService, ...]
    out_of_order: dict[str, int]
    points: MapPoints = field(repr=False)
    coverage: tuple[CoverageDay, ...] = ()

    def select(self, kind: str, pair: tuple[Stage, Stage] | None = None) -> list[StatRow]:
        """Rows of one group kind (and one pair), in report order."""
        return [
            r
            for r in self.rows
            if r.group_kind == kind and (pair is None or (r.from_stage, r.to_stage) == (pair[0].value, pair[1].value))
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": "response_times",
            "period": self.period.to_dict(),
            "timezone": TIMEZONE,
            "shifts": {"day": "08:00-20:00 local", "night": "20:00-08:00 local"},
            "percentile": f"numpy {PERCENTILE_METHOD}",
            "pairs": [pair_name(p) for p in PAIRS],
            "group_kinds": list(GROUP_KINDS),
            "incidents": self.incidents,
            "by_type": self.by_type,
            "out_of_order": self.out_of_order,
            "rows": [r.to_dict() for r in self.rows],
            "service_by_week": {
                "within_s": SERVED_WITHIN_S,
                "weeks": [w.to_dict() for w in self.service],
            },
            "coverage": [d.to_dict() for d in self.coverage],
        }
