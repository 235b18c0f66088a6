"""Benchmark of dispatch: time to rank 50 assets of both agencies for an incident on the real river.

Run: ``.venv/bin/python bench/bench_dispatch.py [--incidents 500] [--assets 50] [--seed 7]``.
Assets: the 13 of the example fleet plus random boats at random river points (speeds from 4
values, some at base, some out on the water). Incidents: random points on both sections (by
length), border crossings and persons in the water. The clock covers ``Recommender.rank`` whole
(route geometry for the top 3 and the proposed only). Target: p99 <= 5 ms. Also reported, not
targeted: a sample checked against ``RouteGraph.eta``, the intercept variant, coverage and
pre-positioning. ``gc.freeze()`` after set-up, as the server does after start-up.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from datetime import UTC, datetime

import numpy as np

from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.dispatch.config import DispatchSettings
from sar.dispatch.coverage import CoverageAnalyzer
from sar.dispatch.fleet import (
    Agency,
    AssetConfig,
    AssetKind,
    AssetState,
    AssetStatus,
    Base,
    Capability,
    Fleet,
    Position,
    example_fleet_path,
    load_fleet_file,
)
from sar.dispatch.recommend import Recommender, TargetMotion
from sar.incidents.model import Impact, Incident, IncidentStatus, IncidentType

TARGET_P99_MS = 5.0
RANDOM_SPEEDS_MPS = (8.0, 10.0, 12.0, 14.0)
NOW = datetime(2026, 5, 14, 2, 0, tzinfo=UTC)


def river_point(river: RiverModel, rng: np.random.Generator, max_offset_m: float) -> tuple[float, float]:
    lengths = np.array([s.length_m for s in river.sections])
    s = river.sections[int(rng.choice(len(lengths), p=lengths / lengths.sum()))]
    return river.axis_point(s.name, rng.uniform(0, s.length_m / 1000), rng.uniform(-max_offset_m, max_offset_m))


def assets(river: RiverModel, n: int, rng: np.random.Generator) -> list[AssetState]:
    out = Fleet(load_fleet_file(example_fleet_path()).assets, NOW).all()
    caps = frozenset({Capability.SAR, Capability.INTERDICTION})
    for i in range(n - len(out)):
        lon, lat = river_point(river, rng, 90.0)
        config = AssetConfig(
            id=f"R{i:02d}",
            agency=Agency.MD if i % 2 else Agency.UA,
            call_sign=f"Random {i}",
            base=Base(name="random", lon=lon, lat=lat),
            speed_mps=float(rng.choice(RANDOM_SPEEDS_MPS)),
            capabilities=caps,
            readiness_min=float(rng.uniform(3, 15)),
        )
        source = "base" if rng.random() < 0.5 else "crew"
        out.append(AssetState(config, AssetStatus.AVAILABLE, NOW, Position(lon, lat, NOW, source)))
    return out


def incidents(river: RiverModel, n: int, rng: np.random.Generator) -> list[Incident]:
    out = []
    for i in range(n):
        lon, lat = river_point(river, rng, 95.0)
        kind = IncidentType.PERSON_IN_WATER if i % 3 == 0 else IncidentType.BORDER_CROSSING
        out.append(
            Incident(
                f"b{i}",
                kind,
                Impact.HIGH,
                0.9,
                None,
                lon,
                lat,
                None,
                None,
                None,
                frozenset({"MD", "UA"}),
                (),
                IncidentStatus.OPEN,
                NOW,
                NOW,
                "bench",
                "bench",
            )
        )
    return out


def percentiles(times_s: list[float]) -> dict[str, float]:
    ms = np.asarray(times_s) * 1e3
    return {
        "median_ms": round(float(np.median(ms)), 3),
        "p90_ms": round(float(np.percentile(ms, 90)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "max_ms": round(float(ms.max()), 3),
    }


def check_sample(graph: RouteGraph, rec: Recommender, fleet: list[AssetState], incs: list[Incident]) -> float:
    """Largest |travel_s - RouteGraph.eta| over every eligible boat for a sample of incidents."""
    by_id = {s.id: s for s in fleet}
    worst = 0.0
    for inc in incs:
        for r in rec.rank(inc, fleet, NOW, routes=0):
            if r.eligible and r.kind == AssetKind.BOAT and r.travel_s is not None:
                s = by_id[r.asset_id]
                oracle = graph.eta((s.position.lon, s.position.lat), (inc.lon, inc.lat), s.config.speed_mps)
                worst = max(worst, abs(oracle.eta_s - r.travel_s))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--incidents", type=int, default=500)
    ap.add_argument("--assets", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    river = RiverModel()
    graph = RouteGraph(river)
    fleet = assets(river, args.assets, rng)
    incs = incidents(river, args.incidents, rng)
    rec = Recommender(graph, DispatchSettings())
    t = time.perf_counter()
    rec.rank(incs[0], fleet, NOW)
    cold_ms = (time.perf_counter() - t) * 1e3  # builds the matrices of every speed, attaches the boats
    gc.collect()
    gc.freeze()
    times = []
    for inc in incs:
        t = time.perf_counter()
        rec.rank(inc, fleet, NOW)
        times.append(time.perf_counter() - t)
    moving = []
    for inc in incs[:100]:
        target = TargetMotion(inc.lon, inc.lat, NOW)
        t = time.perf_counter()
        rec.rank(inc, fleet, NOW, target=target)
        moving.append(time.perf_counter() - t)
    analyzer = CoverageAnalyzer(graph, DispatchSettings(), rec.travel)
    t = time.perf_counter()
    analyzer.coverage(fleet)
    coverage_ms = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    plan = analyzer.preposition(fleet)
    preposition_ms = (time.perf_counter() - t) * 1e3
    rank = percentiles(times)
    result = {
        "assets": len(fleet),
        "boat_speeds_distinct": len({s.config.speed_mps for s in fleet if s.config.kind == AssetKind.BOAT}),
        "incidents": len(incs),
        "rank_cold_ms": round(cold_ms, 2),
        "rank": rank,
        "rank_with_drifting_target": percentiles(moving),
        "max_abs_diff_vs_route_graph_eta_s": round(check_sample(graph, rec, fleet, incs[:20]), 6),
        "coverage_ms": round(coverage_ms, 1),
        "preposition_ms": round(preposition_ms, 1),
        "preposition_expected_eta_s": [round(plan.expected_eta_before_s), round(plan.expected_eta_after_s)],
        "rank_mean_ms": round(statistics.mean(times) * 1e3, 3),
    }
    print(json.dumps(result, indent=2))
    verdict = "meets" if rank["p99_ms"] <= TARGET_P99_MS else "MISSES"
    print(
        f"rank: p99 {rank['p99_ms']:.2f} ms (median {rank['median_ms']:.2f} ms) for {len(fleet)} assets, "
        f"{verdict} the target of {TARGET_P99_MS:.0f} ms"
    )


if __name__ == "__main__":
    main()
