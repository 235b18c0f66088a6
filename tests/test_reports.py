"""Response-time reports against a hand-made set of incidents and events with known times.

Every expected figure is computed here from the cases' own offsets: stage times as documented in
``sar.reports.model`` (first event of a stage; a missing ``detected`` falls back to the opening),
groups by hand (local hours with ``zoneinfo``, ISO weeks with ``date.isocalendar``), the median
with ``statistics.median`` and p90 with the written-out numpy "linear" definition (the sorted
values interpolated at rank 0.9 * (n - 1)). A few figures are also spelled out as literals.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, insert

from geo.layers import build_layers
from geo.river import RiverModel
from sar.reports.compute import compute_report
from sar.reports.formats import to_csv, to_html, to_json
from sar.reports.model import ResponseTimeReport
from sar.reports.pdf import ROWS_PER_PAGE, to_pdf
from sar.reports.period import ReportError, report_period
from sar.store.schema import Base, IncidentEventRow, IncidentRow

LOCAL = ZoneInfo("Europe/Chisinau")
STAGES = ["detected", "alerted", "acknowledged", "dispatched", "accepted", "under_way", "on_scene", "resolved"]
ASSET = {"dispatched", "accepted", "under_way", "on_scene"}
PAIRS = [
    ("detected", "alerted"),
    ("alerted", "acknowledged"),
    ("acknowledged", "dispatched"),
    ("dispatched", "accepted"),
    ("accepted", "under_way"),
    ("under_way", "on_scene"),
    ("detected", "on_scene"),
    ("on_scene", "resolved"),
]


@dataclass(frozen=True)
class Case:
    """One incident: when it was detected (UTC), its events as (stage, seconds after detection,
    agency); ``detected`` is recorded unless ``no_detected``."""

    id: str
    type: str
    section: str | None
    km: float | None
    detected: datetime
    events: tuple[tuple[str, float, str | None], ...]
    no_detected: bool = False
    lon: float = 28.0
    lat: float = 48.3
    extra: tuple[tuple[str, float], ...] = field(default=())  # book timeline entries, not stages


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


MD, UA = "MD", "UA"
CASES = [
    Case("I01", "border_crossing", "north", 5.0, t("2025-03-24 10:00:00"),
         (("alerted", 2, None), ("acknowledged", 30, MD), ("dispatched", 60, MD), ("accepted", 75, MD),
          ("under_way", 375, MD), ("on_scene", 975, MD), ("resolved", 2775, MD)),
         extra=(("updated", 10), ("note", 500))),
    Case("I02", "person_in_water", "north", 12.5, t("2025-03-25 19:00:00"),
         (("alerted", 4, None), ("acknowledged", 50, UA), ("dispatched", 80, UA), ("accepted", 100, UA),
          ("under_way", 400, UA), ("on_scene", 1600, UA), ("resolved", 4000, UA))),
    Case("I03", "loitering", "south", 3.0, t("2025-03-26 05:30:00.250000"),
         (("alerted", 1.5, None), ("acknowledged", 20, MD), ("resolved", 700, MD))),
    # joint: the MD boat was dispatched first, the UA boat accepted, got under way and arrived first
    Case("I04", "border_crossing", "north", 15.0, t("2025-03-29 23:30:00"),
         (("alerted", 3, None), ("acknowledged", 45, MD), ("dispatched", 90, MD), ("accepted", 150, UA),
          ("under_way", 500, UA), ("on_scene", 1300, UA), ("resolved", 3100, MD))),
    # just after the spring DST change (00:00 UTC): local 03:30 EEST; never reached the scene
    Case("I05", "dark_target", "south", 25.0, t("2025-03-30 00:30:00"),
         (("alerted", 2.5, None), ("acknowledged", 35, MD), ("dispatched", 70, MD), ("accepted", 130, MD),
          ("under_way", 700, MD), ("resolved", 900, MD))),
    # a later second dispatch does not move the first
    Case("I06", "manual", "north", 95.0, t("2025-03-31 08:00:00"),
         (("alerted", 2, None), ("acknowledged", 25, UA), ("dispatched", 55, UA), ("dispatched", 200, MD),
          ("accepted", 70, UA), ("under_way", 670, UA), ("on_scene", 1870, UA), ("resolved", 3070, UA))),
    Case("I07", "person_in_water", "south", 0.5, t("2025-04-02 17:30:00"),
         (("alerted", 6, None), ("acknowledged", 80, MD), ("dispatched", 100, MD), ("accepted", 118, MD),
          ("under_way", 418, MD), ("on_scene", 718, MD), ("resolved", 5000, MD))),
    # acknowledged before it was alerted: out of order, left out of alerted->acknowledged
    Case("I10", "rendezvous", "north", 47.2, t("2025-04-05 12:00:00"),
         (("alerted", 5, None), ("acknowledged", 3, MD), ("dispatched", 30, MD), ("accepted", 40, MD),
          ("under_way", 340, MD), ("on_scene", 940, MD), ("resolved", 2000, MD))),
    # no detected event: the opening time stands for it
    Case("I11", "manual", "south", 40.0, t("2025-04-03 09:00:00"),
         (("alerted", 3, None), ("acknowledged", 33, UA), ("resolved", 633, UA)), no_detected=True),
    # no section (off the border sections)
    Case("I12", "manual", None, None, t("2025-04-06 23:59:59.999000"),
         (("alerted", 2, None), ("acknowledged", 10, UA), ("resolved", 100, UA))),
    # outside the period (the end is exclusive, the start inclusive)
    Case("I08", "border_crossing", "north", 5.0, t("2025-04-07 00:00:00"),
         (("alerted", 100, None), ("acknowledged", 200, MD), ("resolved", 300, MD))),
    Case("I09", "border_crossing", "north", 5.0, t("2025-03-23 23:59:59.999000"),
         (("alerted", 100, None), ("acknowledged", 200, MD), ("resolved", 300, MD))),
]  # fmt: skip
FIRST, LAST = date(2025, 3, 24), date(2025, 4, 6)
IN_PERIOD = [c for c in CASES if c.id not in ("I08", "I09")]


def write_cases(engine: Engine, cases: list[Case]) -> None:
    Base.metadata.create_all(engine)
    incidents, events = [], []
    for c in cases:
        end = c.detected + timedelta(seconds=max(s for _, s, _ in c.events))
        incidents.append(
            {
                "id": c.id,
                "type": c.type,
                "impact": "high",
                "confidence": 0.9,
                "sar_phase": None,
                "lon": c.lon,
                "lat": c.lat,
                "section": c.section,
                "river_km": c.km,
                "side": "MD",
                "agencies": ["MD", "UA"],
                "track_ids": [],
                "status": "closed",
                "opened_at": c.detected,
                "updated_at": end,
                "closed_at": end,
                "closed_by": "operator:test",
                "title": c.id,
                "source": "test",
            }
        )
        stages = [] if c.no_detected else [("detected", 0.0, None)]
        for stage, s, agency in [*stages, *c.events, *((e, s, None) for e, s in c.extra)]:
            events.append(
                {
                    "incident_id": c.id,
                    "time": c.detected + timedelta(seconds=s),
                    "event": stage,
                    "detail": "",
                    "actor": "test",
                    "asset_id": f"{agency}-B1" if stage in ASSET and agency else None,
                    "agency": agency,
                }
            )
    with engine.begin() as conn:
        conn.execute(insert(IncidentRow), incidents)
        conn.execute(insert(IncidentEventRow), events)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    e = create_engine(f"sqlite:///{tmp_path_factory.mktemp('reports') / 'cases.db'}")
    write_cases(e, CASES)
    yield e
    e.dispose()


@pytest.fixture(scope="module")
def report(engine: Engine) -> ResponseTimeReport:
    return compute_report(engine, report_period(FIRST.isoformat(), LAST.isoformat()))


@pytest.fixture(scope="module")
def layers(river: RiverModel) -> dict[str, Any]:
    return build_layers(river)


# -- the expected figures, by hand ------------------------------------------------------------------


def stage_times(c: Case) -> dict[str, float]:
    """Seconds after detection of each stage's first event."""
    out: dict[str, float] = {"detected": 0.0}
    for stage, s, _ in c.events:
        out[stage] = min(out.get(stage, math.inf), s)
    return out


def responder(c: Case) -> str | None:
    """The agency of the on-scene event, else of the latest asset stage reached."""
    agencies = {stage: agency for stage, _, agency in sorted(c.events, key=lambda e: -e[1])}  # first wins
    for stage in ("on_scene", "under_way", "accepted", "dispatched"):
        if stage in agencies:
            return agencies[stage]
    return None


def groups_of(c: Case) -> dict[str, str | None]:
    hour = c.detected.astimezone(LOCAL).hour
    year, week, _ = c.detected.date().isocalendar()
    band = None if c.km is None else int(c.km // 10) * 10
    return {
        "all": "all",
        "agency": responder(c),
        "section": c.section or "none",
        "km_band": f"{c.section} km {band}-{band + 10}" if band is not None else "none",
        "type": c.type,
        "hour": f"{hour:02d}",
        "shift": "day" if 8 <= hour < 20 else "night",
        "iso_week": f"{year}-W{week:02d}",
    }


def p90(values: list[float]) -> float:
    v = sorted(values)
    rank = 0.9 * (len(v) - 1)
    lo = math.floor(rank)
    return v[lo] + (rank - lo) * (v[min(lo + 1, len(v) - 1)] - v[lo])


def expected_rows(cases: list[Case]) -> dict[tuple[str, str, str, str], tuple[int, float | None, ...]]:
    values: dict[tuple[str, str, str, str], list[float]] = {}
    for c in cases:
        st = stage_times(c)
        for kind, group in groups_of(c).items():
            if group is None:
                continue
            for a, b in PAIRS:
                key = (kind, group, a, b)
                values.setdefault(key, [])
                if a in st and b in st and st[b] - st[a] >= 0:
                    values[key].append(st[b] - st[a])
    return {
        k: (len(v), statistics.median(v), p90(v), max(v)) if v else (0, None, None, None) for k, v in values.items()
    }


# -- the figures ---------------------------------------------------------------------------------------


def test_period_takes_whole_utc_days(report: ResponseTimeReport) -> None:
    assert report.incidents == len(IN_PERIOD) == 10
    assert report.period.start == t("2025-03-24 00:00:00") and report.period.end == t("2025-04-07 00:00:00")
    assert report.by_type == {"border_crossing": 2, "dark_target": 1, "loitering": 1, "manual": 3,
                              "person_in_water": 2, "rendezvous": 1}  # fmt: skip


def test_every_row_equals_the_hand_computed_figures(report: ResponseTimeReport) -> None:
    want = expected_rows(IN_PERIOD)
    got = {(r.group_kind, r.group, r.from_stage, r.to_stage): r for r in report.rows}
    assert set(got) == set(want)
    for key, (count, med, q90, top) in want.items():
        r = got[key]
        assert r.count == count, key
        for value, expected in ((r.median_s, med), (r.p90_s, q90), (r.max_s, top)):
            assert (value is None) == (expected is None), key
            if expected is not None:
                assert value == pytest.approx(expected, abs=1e-6), key


def test_spelled_out_figures(report: ResponseTimeReport) -> None:
    rows = {(r.group_kind, r.group, r.from_stage, r.to_stage): r for r in report.rows}
    # detected->alerted of the ten: 1.5 2 2 2 2.5 3 3 4 5 6 -> median 2.75, p90 at rank 8.1: 5 + 0.1 = 5.1
    r = rows[("all", "all", "detected", "alerted")]
    assert (r.count, r.median_s, r.max_s) == (10, pytest.approx(2.75), pytest.approx(6.0))
    assert r.p90_s == pytest.approx(5.1)
    # detected->on_scene reached by I01 975, I02 1600, I04 1300, I06 1870, I07 718, I10 940
    r = rows[("all", "all", "detected", "on_scene")]
    assert (r.count, r.median_s, r.p90_s, r.max_s) == (6, pytest.approx(1137.5), pytest.approx(1735.0), 1870.0)
    # UA responded to I02, I04 (accepted and arrived first although MD dispatched first), I06
    r = rows[("agency", "UA", "dispatched", "accepted")]
    assert (r.count, r.median_s) == (3, pytest.approx(20.0))  # 20, 60, 15
    # I05's responder is the agency of its latest asset stage (under way, MD); no on-scene
    assert rows[("agency", "MD", "accepted", "under_way")].count == 4  # I01, I05, I07, I10
    # the 03:30 EEST incident after the DST change is in the night shift, local hour 03
    assert rows[("hour", "03", "detected", "alerted")].count == 1
    assert rows[("hour", "03", "detected", "alerted")].median_s == pytest.approx(2.5)


def test_out_of_order_stages_are_counted_not_used(report: ResponseTimeReport) -> None:
    assert report.out_of_order["alerted->acknowledged"] == 1
    assert sum(report.out_of_order.values()) == 1
    rows = {(r.group_kind, r.group, r.from_stage, r.to_stage): r for r in report.rows}
    assert rows[("all", "all", "alerted", "acknowledged")].count == 9


def test_groups_come_in_report_order(report: ResponseTimeReport) -> None:
    kinds = list(dict.fromkeys(r.group_kind for r in report.rows))
    assert kinds == ["all", "agency", "section", "km_band", "type", "hour", "shift", "iso_week"]
    bands = list(dict.fromkeys(r.group for r in report.select("km_band")))
    assert bands == ["north km 0-10", "north km 10-20", "north km 40-50", "north km 90-100",
                     "south km 0-10", "south km 20-30", "south km 40-50", "none"]  # fmt: skip
    assert list(dict.fromkeys(r.group for r in report.select("iso_week"))) == ["2025-W13", "2025-W14"]
    assert list(dict.fromkeys(r.group for r in report.select("agency"))) == ["MD", "UA"]
    # every group has every pair, in the documented order
    for kind in ("agency", "hour"):
        rows = report.select(kind)
        assert [(r.from_stage, r.to_stage) for r in rows[:8]] == PAIRS


def test_service_by_week(report: ResponseTimeReport) -> None:
    # W13: I01..I05 (5), on scene I01 975 s, I02 1600 s, I04 1300 s: all within 30 min
    # W14: I06 1870 s (over), I07 718, I10 940; I11, I12 without a boat
    got = [(w.week, w.incidents, w.on_scene, w.within) for w in report.service]
    assert got == [("2025-W13", 5, 3, 3), ("2025-W14", 5, 3, 2)]


def test_an_empty_period_has_rows_without_figures(engine: Engine, layers: dict[str, Any]) -> None:
    empty = compute_report(engine, report_period("2024-01-01", "2024-01-31"))
    assert empty.incidents == 0
    assert [(r.group_kind, r.count, r.median_s) for r in empty.rows] == [("all", 0, None)] * 8
    assert to_pdf(empty, layers).startswith(b"%PDF")
    assert "<table>" in to_html(empty, layers)


@pytest.mark.parametrize(
    ("first", "last", "fragment"),
    [
        ("2025-02-30", "2025-03-01", "from: expected a date YYYY-MM-DD"),
        ("2025-03-01", "tomorrow", "to: expected a date YYYY-MM-DD"),
        ("2025-3-1", "2025-03-02", "from: expected a date"),
        ("2025-03-02", "2025-03-01", "to (2025-03-01) is before from (2025-03-02)"),
        ("2024-01-01", "2025-02-04", "the period has 401 days; a report covers at most 400"),
    ],
)
def test_bad_periods_are_refused_with_one_line(first: str, last: str, fragment: str) -> None:
    with pytest.raises(ReportError, match=re.escape(fragment)):
        report_period(first, last)


def test_four_hundred_days_are_allowed() -> None:
    assert report_period("2024-01-01", "2025-02-03").days == 400


# -- the formats ----------------------------------------------------------------------------------------


def test_csv_has_the_documented_columns_and_every_row(report: ResponseTimeReport) -> None:
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    assert rows[0] == ["group_kind", "group", "from_stage", "to_stage", "count", "median_s", "p90_s", "max_s"]
    assert len(rows) - 1 == len(report.rows)
    want = expected_rows(IN_PERIOD)
    for kind, group, a, b, count, med, q90, top in rows[1:]:
        n, m, p, x = want[(kind, group, a, b)]
        assert int(count) == n
        for text, value in ((med, m), (q90, p), (top, x)):
            assert text == ("" if value is None else f"{value:.3f}")


def test_json_is_the_report(report: ResponseTimeReport) -> None:
    body = json.loads(to_json(report))
    assert body["incidents"] == 10 and body["percentile"] == "numpy linear"
    assert body["period"]["from"] == "2025-03-24" and body["period"]["end_utc"] == "2025-04-07T00:00:00+00:00"
    assert len(body["coverage"]) == 14 and all(d["observed_s"] == 0.0 for d in body["coverage"])  # no samples
    first = body["rows"][0]
    assert (first["group_kind"], first["group"], first["from_stage"], first["to_stage"]) == (
        "all", "all", "detected", "alerted")  # fmt: skip
    assert (first["count"], first["median_s"], first["p90_s"], first["max_s"]) == (10, 2.75, pytest.approx(5.1), 6.0)
    assert body["service_by_week"]["weeks"][1] == {"week": "2025-W14", "incidents": 5, "on_scene": 3, "within": 2,
                                                   "within_share": 0.4}  # fmt: skip


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "action", "data") and value is not None:
                self.urls.append(value)
                if tag == "img":
                    self.images.append(value)


def test_html_is_self_contained(report: ResponseTimeReport, layers: dict[str, Any]) -> None:
    text = to_html(report, layers)
    page = _Page()
    page.feed(text)
    page.close()
    assert page.tags.count("table") == 1 + 1 + 1 + 7  # summary, service by week, coverage, one per group kind
    assert len(page.images) == 6  # stages, trend, hours, service, map, coverage
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    assert all(u.startswith(("data:", "#")) for u in page.urls), [u[:40] for u in page.urls]
    assert not re.search(r"(https?:)?//[a-z0-9]", re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text))
    assert "link" not in page.tags and "script" not in page.tags


def test_pdf_has_a_page_per_figure_and_table(report: ResponseTimeReport, layers: dict[str, Any]) -> None:
    data = to_pdf(report, layers)
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    pages = len(re.findall(rb"/Type\s*/Page\b", data))
    groups = {k: len({r.group for r in report.select(k)}) for k in ("agency", "section", "km_band", "type", "hour",
                                                                   "shift", "iso_week")}  # fmt: skip
    tables = sum(max(1, math.ceil(n / ROWS_PER_PAGE)) for n in groups.values())
    assert pages == 1 + 4 + 1 + 1 + tables  # summary, figures, map, coverage, tables


def test_render_writes_what_the_cli_writes(tmp_path: Path, report: ResponseTimeReport) -> None:
    from sar.reports.output import render

    assert render(report, "csv") == to_csv(report).encode()
    with pytest.raises(ReportError, match="unknown report format 'xlsx'"):
        render(report, "xlsx")
