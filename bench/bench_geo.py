"""Benchmark of the river model: locate throughput and route (ETA) time on the real river.

Run: ``.venv/bin/python bench/bench_geo.py [--points 200000] [--routes 300] [--repeat 7]``.
Prints medians over repeats (this machine is noisy; compare medians, not single runs) and
checks the targets of the foundation issue: locate >= 20,000 points/s on one core.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from geo.river import RiverModel
from geo.routing import RouteGraph

LOCATE_TARGET_PPS = 20_000


def random_points(river: RiverModel, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Half near the river (within 1 km of the axis), half anywhere in the covered area."""
    near = n // 2
    lon, lat = np.empty(n), np.empty(n)
    for i in range(near):
        s = river.sections[i % len(river.sections)]
        lon[i], lat[i] = river.axis_point(s.name, rng.uniform(0, s.length_m / 1000))
    lon[:near] += rng.normal(0, 0.006, near)
    lat[:near] += rng.normal(0, 0.004, near)
    x0, y0, x1, y1 = river.data.clip_bbox
    lon[near:], lat[near:] = rng.uniform(x0, x1, n - near), rng.uniform(y0, y1, n - near)
    return lon, lat


def bench_locate(river: RiverModel, n: int, repeat: int, rng: np.random.Generator) -> dict[str, float]:
    lon, lat = random_points(river, n, rng)
    rates = []
    for _ in range(repeat):
        t = time.perf_counter()
        river.locate_many(lon, lat)
        rates.append(n / (time.perf_counter() - t))
    single = []
    for i in range(min(2000, n)):
        t = time.perf_counter()
        river.locate(float(lon[i]), float(lat[i]))
        single.append(time.perf_counter() - t)
    return {
        "points": n,
        "vectorised_points_per_s_median": round(statistics.median(rates)),
        "vectorised_points_per_s_min": round(min(rates)),
        "single_locate_us_median": round(statistics.median(single) * 1e6, 1),
        "single_locate_us_p99": round(float(np.percentile(single, 99)) * 1e6, 1),
    }


def bench_routes(river: RiverModel, graph: RouteGraph, n: int, rng: np.random.Generator) -> dict[str, float]:
    times, km = [], []
    for i in range(n):
        s = river.sections[0] if i % 3 else river.sections[1]
        a = river.axis_point(s.name, rng.uniform(0, s.length_m / 1000))
        b = river.axis_point(s.name, rng.uniform(0, s.length_m / 1000))
        t = time.perf_counter()
        r = graph.eta(a, b, 10.0)
        times.append(time.perf_counter() - t)
        km.append(r.distance_m / 1000)
    return {
        "routes": n,
        "route_ms_median": round(statistics.median(times) * 1e3, 2),
        "route_ms_p99": round(float(np.percentile(times, 99)) * 1e3, 2),
        "route_km_mean": round(statistics.mean(km), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--routes", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(42)
    t = time.perf_counter()
    river = RiverModel()
    t_model = time.perf_counter() - t
    t = time.perf_counter()
    graph = RouteGraph(river)
    t_graph = time.perf_counter() - t
    result = {
        "model_build_s": round(t_model, 3),
        "graph_build_s": round(t_graph, 3),
        "graph_nodes": graph.graph.number_of_nodes(),
        "locate": bench_locate(river, args.points, args.repeat, rng),
        "route": bench_routes(river, graph, args.routes, rng),
    }
    print(json.dumps(result, indent=2))
    rate = result["locate"]["vectorised_points_per_s_median"]
    verdict = "meets" if rate >= LOCATE_TARGET_PPS else "MISSES"
    print(f"locate: {rate:,} points/s median, {verdict} the target of {LOCATE_TARGET_PPS:,} points/s")


if __name__ == "__main__":
    main()
