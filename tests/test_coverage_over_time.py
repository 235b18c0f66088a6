"""Coverage over time: the coverage watch keeps a sample in a real store when the gaps change and
at least every minute (not every check), and the report turns hand-made samples into per-day
figures, checked against a plain interval-overlap computation written out here and literals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.api.app import create_app
from sar.api.recommendations import CoverageWatch
from sar.dispatch.config import DispatchSettings
from sar.dispatch.fleet import AssetKind, AssetStatus, FleetSettings, example_fleet_path
from sar.reports.compute import compute_report
from sar.reports.formats import to_csv, to_html, to_json
from sar.reports.period import report_period
from sar.settings import Settings
from sar.store.config import StorageSettings
from sar.store.schema import CoverageSampleRow
from sar.store.store import Store
from tests.conftest import api_client
from tests.test_store import db_url  # noqa: F401  (the fixture: a fresh SQLite file or PostgreSQL database)

T0 = datetime(2026, 11, 28, 3, 0, 0, tzinfo=UTC)


@pytest.fixture()
def client(river: RiverModel, graph: RouteGraph) -> Iterator[TestClient]:
    settings = Settings(dispatch=DispatchSettings(fleet=FleetSettings(file=example_fleet_path())))
    with api_client(create_app(settings, river, graph)) as c:
        yield c


def test_the_watch_keeps_a_sample_on_a_gap_change_and_every_minute(client: TestClient, tmp_path: Path) -> None:
    state = client.app.state  # type: ignore[attr-defined]
    store = Store(StorageSettings(url=f"sqlite:///{tmp_path / 'cov.db'}"))
    store.open()
    watch = CoverageWatch(state.coverage, state.fleet, state.feed, state.clock, record=store.coverage_sample)
    expected = []

    def boats() -> int:
        return sum(
            1
            for a in state.fleet.all()
            if a.config.kind == AssetKind.BOAT and a.status == AssetStatus.AVAILABLE and not a.config.out_of_service
        )

    def now_expected(t: datetime) -> None:
        cov = state.coverage.coverage(state.fleet.all())
        etas = [f["properties"]["eta_s"] for f in cov.to_geojson()["features"]]
        worst = None if None in etas else max(etas)
        expected.append((t, sum(g.to_km - g.from_km for g in cov.gaps), worst, boats()))

    for k in range(7):  # 0..60 s: a sample at 0 (the first) and at 60 (a minute later), none between
        t = T0 + timedelta(seconds=10 * k)
        if k in (0, 6):
            now_expected(t)
        watch.check(t)
    for boat in ("MD-B5", "UA-B4"):  # the upper south section loses both its boats
        state.fleet.set_status(boat, AssetStatus.OUT_OF_SERVICE, T0)
    t = T0 + timedelta(seconds=70)
    now_expected(t)
    assert watch.check(t) is True  # the gaps changed: a sample 10 s after the last one
    for k in range(8, 14):  # 80..130 s: the next one a minute after 70 s
        t = T0 + timedelta(seconds=10 * k)
        if k == 13:
            now_expected(t)
        assert watch.check(t) is False
    with store.engine.connect() as conn:
        c = CoverageSampleRow
        rows = conn.execute(select(c.time, c.gap_km, c.worst_eta_s, c.boats_available).order_by(c.id)).all()
    store.close()
    assert [r.time for r in rows] == [T0 + timedelta(seconds=s) for s in (0, 60, 70, 130)]
    for r, (t, gap_km, worst, n) in zip(rows, expected, strict=True):
        assert (r.time, r.boats_available) == (t, n)
        assert r.gap_km == pytest.approx(gap_km, abs=1e-9)
        assert r.worst_eta_s == (None if worst is None else pytest.approx(worst, abs=0.05))  # geojson: 0.1 s
    assert rows[2].boats_available == rows[0].boats_available - 2 and rows[2].gap_km > rows[0].gap_km


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (time, gap km, worst ETA s or None = a stretch unreachable), in insertion order
SAMPLES = [
    (utc("2025-04-30T20:00"), 5.0, 1000.0),  # before the period: holds into it
    (utc("2025-05-01T06:00"), 0.0, 900.0),
    (utc("2025-05-01T18:30"), 12.5, None),
    (utc("2025-05-02T03:00"), 2.0, 2400.0),  # replaced at once by the next (same time, later row)
    (utc("2025-05-02T03:00"), 0.0, 800.0),
    (utc("2025-05-03T10:00"), 4.0, 1500.0),  # the last: holds until now
    (utc("2025-05-05T01:00"), 9.0, 9000.0),  # after the period
]
NOW = utc("2025-05-03T12:00")


def by_hand(first: date, days: int, now: datetime) -> list[dict[str, object]]:
    """Each sample's interval [its time, the next sample's) (the last: to the period end or now),
    overlapped with each day; the day's figures from the overlaps."""
    end = min(datetime.combine(first + timedelta(days=days), datetime.min.time(), UTC), now)
    held = [(t, SAMPLES[i + 1][0] if i + 1 < len(SAMPLES) else end, g, w) for i, (t, g, w) in enumerate(SAMPLES)]
    out: list[dict[str, object]] = []
    for d in range(days):
        lo = datetime.combine(first + timedelta(days=d), datetime.min.time(), UTC)
        hi = min(lo + timedelta(days=1), end)
        parts = [((min(b, hi) - max(a, lo)).total_seconds(), g, w) for a, b, g, w in held]
        parts = [p for p in parts if p[0] > 0]
        seen = sum(s for s, _, _ in parts)
        unreachable = any(w is None for _, _, w in parts)
        out.append(
            {
                "day": (first + timedelta(days=d)).isoformat(),
                "observed_s": seen,
                "samples": sum(1 for t, _, _ in SAMPLES if lo <= t < hi),
                "mean_gap_km": sum(s * g for s, g, _ in parts) / seen if seen else None,
                "gap_share": sum(s for s, g, _ in parts if g > 0) / seen if seen else None,
                "worst_eta_s": None if unreachable or not parts else max(w for _, _, w in parts if w is not None),
                "unreachable": unreachable,
            }
        )
    return out


def test_coverage_per_day_from_hand_made_samples(db_url: str) -> None:  # noqa: F811
    store = Store(StorageSettings(url=db_url))
    store.open()
    rows = [
        {"time": t, "gap_km": g, "worst_eta_s": w, "mean_eta_s": None if w is None else w / 2, "boats_available": 3}
        for t, g, w in SAMPLES
    ]
    with store.transaction() as conn:
        for row in rows:  # one by one: ids in this order
            conn.execute(insert(CoverageSampleRow).values(row))
    report = compute_report(store.engine, report_period("2025-05-01", "2025-05-04"), now=NOW)
    got = json.loads(to_json(report))["coverage"]
    want = by_hand(date(2025, 5, 1), 4, NOW)
    assert [g["day"] for g in got] == ["2025-05-01", "2025-05-02", "2025-05-03", "2025-05-04"]
    for g, w in zip(got, want, strict=True):
        assert g == {k: pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for k, v in w.items()}
    # the same figures spelled out
    assert got[0]["mean_gap_km"] == pytest.approx((5.0 * 6 + 12.5 * 5.5) / 24) and got[0]["gap_share"] == 11.5 / 24
    assert (got[0]["worst_eta_s"], got[0]["unreachable"], got[0]["samples"]) == (None, True, 2)
    assert (got[1]["mean_gap_km"], got[1]["gap_share"], got[1]["unreachable"]) == (37.5 / 24, 3 / 24, True)
    assert got[2]["observed_s"] == 12 * 3600 and got[2]["mean_gap_km"] == pytest.approx(8.0 / 12)
    assert (got[2]["gap_share"], got[2]["worst_eta_s"], got[2]["unreachable"]) == (pytest.approx(2 / 12), 1500.0, False)
    assert got[3] == {"day": "2025-05-04", "observed_s": 0.0, "samples": 0, "mean_gap_km": None, "gap_share": None,
                      "worst_eta_s": None, "unreachable": False}  # fmt: skip
    # no sample before: the day is observed from its first sample on
    (alone,) = compute_report(store.engine, report_period("2025-04-30", "2025-04-30"), now=NOW).coverage
    assert (alone.observed_s, alone.mean_gap_km, alone.gap_share, alone.worst_eta_s) == (4 * 3600, 5.0, 1.0, 1000.0)
    html = to_html(report)
    assert "<h2>Coverage over time</h2>" in html and "<th>2025-05-03</th><td>12.00 h</td><td>1</td>" in html
    assert "coverage" not in to_csv(report).splitlines()[0]  # the CSV stays the stage statistics
    store.close()
