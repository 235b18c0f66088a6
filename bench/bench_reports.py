"""Benchmark of response-time reports: 100,000 incidents on SQLite, target <= 5 s per report.

Run: ``.venv/bin/python bench/bench_reports.py [--incidents 100000] [--repeat 3] [--seed 2025]
[--db FILE]``. The history (:mod:`sar.history`) is written once into a temporary SQLite file (or
``--db FILE``, reused when it already holds incidents) with the server's engine settings (WAL,
synchronous=FULL) and schema; days = 365 at ``1.01 * incidents / 365`` a day, boats free whenever the
synthetic fleet state says so (``exclusive_boats=False``: with one order per boat at a time most
of such a crowded year would go without a boat, and the events would be sparse). The clock
covers ``compute_report`` whole (one query over a year, the statistics of every group) and,
separately, each output format; median of ``--repeat`` runs. Prints JSON, then a verdict line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from geo.layers import build_layers
from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.history import ResponseModel, generate_history
from sar.reports.compute import compute_report
from sar.reports.output import render
from sar.reports.period import report_period
from sar.store.config import StorageSettings
from sar.store.engine import make_engine
from sar.store.schema import Base, IncidentEventRow, IncidentRow

TARGET_S = 5.0
START = date(2025, 1, 1)


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _history(engine: Engine, incidents: int, seed: int) -> dict[str, Any]:
    with engine.connect() as conn:
        held = conn.execute(select(func.count()).select_from(IncidentRow)).scalar_one()
    if held:
        return {"reused": True, "incidents": held}
    river = RiverModel()
    summary = generate_history(
        engine,
        river,
        RouteGraph(river),
        START,
        365,
        seed,
        incidents / 365.0 * 1.01,  # the count is random: ask for 1 % more to get at least ``incidents``
        model=ResponseModel(exclusive_boats=False),
    )
    return {"reused": False, **summary.to_dict()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--incidents", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--db", type=Path, help="SQLite file to write (or reuse); default: a temporary one")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dwatch-bench-reports-") as tmp:
        path = args.db or Path(tmp) / "history.db"
        engine = make_engine(StorageSettings(url=f"sqlite:///{path.resolve()}"))
        Base.metadata.create_all(engine)
        history = _history(engine, args.incidents, args.seed)
        with engine.connect() as conn:
            events = conn.execute(select(func.count()).select_from(IncidentEventRow)).scalar_one()
        period = report_period(START, date(2025, 12, 31))
        compute_s, report = _timed(lambda: compute_report(engine, period), args.repeat)
        layers = build_layers(RiverModel())
        formats = {}
        for fmt in ("json", "csv", "html", "pdf"):
            seconds, data = _timed(lambda fmt=fmt: render(report, fmt, layers), args.repeat)
            formats[fmt] = {"s": round(seconds, 3), "bytes": len(data)}
        engine.dispose()
        db_mb = round(path.stat().st_size / 1e6, 1)
    result = {
        "history": history,
        "database_mb": db_mb,
        "incident_events": events,
        "report": {
            "incidents": report.incidents,
            "rows": len(report.rows),
            "compute_s_median": round(compute_s, 3),
            "repeat": args.repeat,
        },
        "formats": formats,
        "target_s": TARGET_S,
    }
    print(json.dumps(result, indent=2))
    verdict = "meets" if compute_s <= TARGET_S and report.incidents >= 100_000 else "MISSES"
    print(
        f"reports: {report.incidents:,} incidents ({events:,} stage events) on SQLite in {compute_s:.2f} s median, "
        f"{verdict} the target of {TARGET_S:g} s; formats json {formats['json']['s']} s, csv {formats['csv']['s']} s, "
        f"html {formats['html']['s']} s, pdf {formats['pdf']['s']} s"
    )


if __name__ == "__main__":
    main()
