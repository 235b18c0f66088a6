"""Benchmark of the river drift: one hour of drift for 1,000+ particles on the real river.

Run: ``.venv/bin/python bench/bench_drift.py [--particles 1000] [--repeat 9]``.
Prints medians over repeats (compare medians, not single runs) and checks the target of the SAR
planning issue: >= 1,000 particles for one hour of drift (30 s steps, default output every
5 min: datum, probability cells) in <= 200 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime, timedelta

from geo.river import RiverModel
from sar.sarplan import DriftSettings, ObjectType, Wind, predict_drift

TARGET_MS = 200.0
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def bench(
    river: RiverModel, particles: int, repeat: int, settings: DriftSettings, wind: Wind | None
) -> dict[str, float]:
    lon, lat = river.axis_point("north", 60.0)
    times = []
    for i in range(repeat):
        t = time.perf_counter()
        r = predict_drift(
            river,
            (lon, lat, T0),
            T0 + timedelta(hours=1),
            settings,
            ObjectType.PERSON_IN_WATER,
            particles=particles,
            step_s=30.0,
            seed=i,
            wind=wind,
        )
        times.append(time.perf_counter() - t)
    return {
        "particles": particles,
        "frames": len(r.frames),
        "cells_last_frame": len(r.final.cells),
        "ms_median": round(statistics.median(times) * 1e3, 1),
        "ms_max": round(max(times) * 1e3, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--particles", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    river = RiverModel()
    every_step = DriftSettings(frames_every_s=30.0)
    result = {
        "target": bench(river, args.particles, args.repeat, DriftSettings(), None),
        "with_wind": bench(river, args.particles, args.repeat, DriftSettings(), Wind(8.0, 270.0)),
        "2000_particles_every_step_output": bench(river, 2000, args.repeat, every_step, None),
        "10000_particles": bench(river, 10_000, max(3, args.repeat // 3), DriftSettings(), None),
    }
    print(json.dumps(result, indent=2))
    ms = result["target"]["ms_median"]
    verdict = "meets" if ms <= TARGET_MS and args.particles >= 1000 else "MISSES"
    print(f"drift: {args.particles:,} particles, 1 h in {ms} ms median, {verdict} the target of {TARGET_MS:g} ms")


if __name__ == "__main__":
    main()
