"""How much faster do we get there together? A year of synthetic incidents, three dispatch policies.

The example fleet's boats (drones are not counted: time to scene is by water) answer a seeded
year of incidents (:mod:`sar.dispatch.synthetic`: seasonal, diurnal, near towns and crossing
points, some boats busy or out of service at each incident; boats wait at their bases).

Policies, given the boats available at the incident:

- ``joint_route`` (a): all boats of both agencies, the least true time to scene;
- ``agency_straight`` (b): each agency sends its own nearest boat by straight line (geodesic
  distance from the base); the earlier of the two arrives first, so time = min of the two;
- ``joint_straight`` (c): the nearest boat of either agency by straight line.

Time to scene is always the true one: readiness + travel by water from ``RouteGraph.eta``
(current, dams). A boat that cannot reach the scene by water (other section, a dam between,
current too strong) is a failed dispatch: its crew has spent its readiness time getting under
way, then the policy sends its next choice by its own criterion (next nearest by straight line,
of the same agency for (b)), whose time to scene is counted after that wasted readiness. An
incident no available boat can reach is "unserved" for every policy and left out of the times.
True times are cached per (boat base, speed, scene), so each pair is routed once.

Run: ``.venv/bin/python bench/bench_policies.py [--days 365] [--seed 2025] [--rate 4]
[--current 0.8] [--year-start 2025-01-01]``. Prints JSON, then one summary line.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from pyproj import Geod

from geo.config import RoutingSettings
from geo.errors import NoRoute, NotOnRiver
from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.dispatch.fleet import AssetConfig, AssetKind, example_fleet_path, load_fleet_file
from sar.dispatch.synthetic import SyntheticIncident, SyntheticModel, generate_incidents

GEOD = Geod(ellps="WGS84")
POLICIES = ("joint_route", "agency_straight", "joint_straight")


@dataclass(frozen=True)
class Dispatch:
    """The boat that gets there first, when (seconds from the alarm; inf: none can), and the boats
    sent in vain before it."""

    asset_id: str | None
    time_s: float
    failed: tuple[str, ...] = ()


class TrueTimes:
    """Readiness + travel time by water (RouteGraph.eta), cached per (base, speed, scene)."""

    def __init__(self, graph: RouteGraph) -> None:
        self.graph = graph
        self._travel: dict[tuple[float, float, float, float, float], float | None] = {}
        self.routed = 0

    def travel_s(self, boat: AssetConfig, lon: float, lat: float) -> float | None:
        """Travel time from the boat's base to the scene; None when it cannot get there by water."""
        key = (boat.base.lon, boat.base.lat, boat.speed_mps, lon, lat)
        if key not in self._travel:
            self.routed += 1
            try:
                self._travel[key] = self.graph.eta((boat.base.lon, boat.base.lat), (lon, lat), boat.speed_mps).eta_s
            except (NoRoute, NotOnRiver):
                self._travel[key] = None
        return self._travel[key]

    def to_scene_s(self, boat: AssetConfig, lon: float, lat: float) -> float | None:
        travel = self.travel_s(boat, lon, lat)
        return None if travel is None else boat.readiness_min * 60.0 + travel


Policy = Callable[[Sequence[AssetConfig], float, float, TrueTimes], Dispatch]


def straight_order(boats: Sequence[AssetConfig], lon: float, lat: float) -> list[AssetConfig]:
    """Boats by geodesic distance from their base to the scene, nearest first (ties by id)."""
    if not boats:
        return []
    n = len(boats)
    _, _, dist = GEOD.inv([b.base.lon for b in boats], [b.base.lat for b in boats], [lon] * n, [lat] * n)
    return [b for _, _, b in sorted(zip(np.asarray(dist, float).tolist(), [b.id for b in boats], boats))]


def _send_in_order(order: Sequence[AssetConfig], lon: float, lat: float, times: TrueTimes) -> Dispatch:
    """Send the first boat; if it cannot reach, its readiness is lost and the next one goes."""
    wasted_s, failed = 0.0, list[str]()
    for boat in order:
        t = times.to_scene_s(boat, lon, lat)
        if t is not None:
            return Dispatch(boat.id, wasted_s + t, tuple(failed))
        failed.append(boat.id)
        wasted_s += boat.readiness_min * 60.0
    return Dispatch(None, math.inf, tuple(failed))


def joint_route(boats: Sequence[AssetConfig], lon: float, lat: float, times: TrueTimes) -> Dispatch:
    """(a) Both agencies' boats, the least true time to scene (ties by id)."""
    best = Dispatch(None, math.inf)
    for boat in sorted(boats, key=lambda b: b.id):
        t = times.to_scene_s(boat, lon, lat)
        if t is not None and t < best.time_s:
            best = Dispatch(boat.id, t)
    return best


def agency_straight(boats: Sequence[AssetConfig], lon: float, lat: float, times: TrueTimes) -> Dispatch:
    """(b) Each agency sends its nearest boat by straight line; the earlier arrival counts."""
    per_agency = [
        _send_in_order(straight_order([b for b in boats if b.agency == agency], lon, lat), lon, lat, times)
        for agency in sorted({b.agency for b in boats})
    ]
    failed = tuple(f for d in per_agency for f in d.failed)
    first = min(per_agency, key=lambda d: d.time_s, default=Dispatch(None, math.inf))
    return Dispatch(first.asset_id, first.time_s, failed)


def joint_straight(boats: Sequence[AssetConfig], lon: float, lat: float, times: TrueTimes) -> Dispatch:
    """(c) The nearest boat of either agency by straight line."""
    return _send_in_order(straight_order(boats, lon, lat), lon, lat, times)


POLICY_FUNCTIONS: dict[str, Policy] = {
    "joint_route": joint_route,
    "agency_straight": agency_straight,
    "joint_straight": joint_straight,
}


@dataclass(frozen=True)
class Outcome:
    incident: SyntheticIncident
    dispatches: dict[str, Dispatch]


def replay(incidents: Sequence[SyntheticIncident], boats: Sequence[AssetConfig], times: TrueTimes) -> list[Outcome]:
    """Every policy on every incident, with the boats available at that incident."""
    out = []
    for inc in incidents:
        free = [b for b in boats if b.id in inc.available]
        out.append(Outcome(inc, {name: f(free, inc.lon, inc.lat, times) for name, f in POLICY_FUNCTIONS.items()}))
    return out


def _stats_min(seconds: Sequence[float]) -> dict[str, float | None]:
    if not seconds:
        return {"mean_min": None, "median_min": None, "p90_min": None}
    m = np.asarray(seconds) / 60.0
    return {
        "mean_min": round(float(m.mean()), 2),
        "median_min": round(float(np.median(m)), 2),
        "p90_min": round(float(np.percentile(m, 90)), 2),
    }


def _saved(served: Sequence[Outcome], other: str) -> dict[str, float | None]:
    """Minutes (a) saves against another policy, per incident."""
    if not served:
        return {"mean_min": None, "median_min": None, "share_faster": None, "max_min": None}
    d = np.array([o.dispatches[other].time_s - o.dispatches["joint_route"].time_s for o in served]) / 60.0
    faster = d[d > 1e-6]
    return {
        "mean_min": round(float(d.mean()), 2),
        "median_min": round(float(np.median(d)), 2),
        "share_faster": round(float(np.mean(d > 1e-6)), 4),
        "max_min": round(float(d.max()), 2),
        "mean_when_faster_min": round(float(faster.mean()), 2) if faster.size else 0.0,
        "median_when_faster_min": round(float(np.median(faster)), 2) if faster.size else 0.0,
    }


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Times per policy, minutes saved by (a), different choices and failed dispatches."""
    served = [o for o in outcomes if math.isfinite(o.dispatches["joint_route"].time_s)]
    policies: dict[str, Any] = {}
    for name in POLICIES:
        entry: dict[str, Any] = _stats_min([o.dispatches[name].time_s for o in served])
        entry["failed_dispatches"] = sum(len(o.dispatches[name].failed) for o in outcomes)
        entry["incidents_with_failed_dispatch"] = sum(bool(o.dispatches[name].failed) for o in outcomes)
        if name != "joint_route":
            other = [o.dispatches[name].asset_id != o.dispatches["joint_route"].asset_id for o in served]
            entry["different_boat_share"] = round(float(np.mean(other)), 4) if other else None
        policies[name] = entry
    return {
        "incidents": len(outcomes),
        "served": len(served),
        "unserved": len(outcomes) - len(served),
        "policies": policies,
        "saved_vs_agency_straight": _saved(served, "agency_straight"),
        "saved_vs_joint_straight": _saved(served, "joint_straight"),
    }


def _brief(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    s = summarise(outcomes)
    return {
        "incidents": s["incidents"],
        "unserved": s["unserved"],
        "mean_min": {name: s["policies"][name]["mean_min"] for name in POLICIES},
        "saved_vs_agency_straight_mean_min": s["saved_vs_agency_straight"]["mean_min"],
        "saved_vs_joint_straight_mean_min": s["saved_vs_joint_straight"]["mean_min"],
        "different_boat_share": {n: s["policies"][n]["different_boat_share"] for n in POLICIES[1:]},
    }


def breakdown(outcomes: Sequence[Outcome], key: Callable[[SyntheticIncident], str]) -> dict[str, Any]:
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(key(o.incident), []).append(o)
    return {k: _brief(v) for k, v in sorted(groups.items())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--rate", type=float, default=4.0, help="incidents per day, yearly mean")
    ap.add_argument("--current", type=float, default=0.8, help="river current on both sections, m/s")
    ap.add_argument("--year-start", type=date.fromisoformat, default=date(2025, 1, 1))
    args = ap.parse_args()
    t0 = time.perf_counter()
    river = RiverModel()
    graph = RouteGraph(river, RoutingSettings(current_mps={"north": args.current, "south": args.current}))
    fleet = load_fleet_file(example_fleet_path()).assets
    boats = [a for a in fleet if a.kind == AssetKind.BOAT]
    incidents = generate_incidents(
        river, args.year_start, args.days, args.seed, model=SyntheticModel(rate_per_day=args.rate), assets=fleet
    )
    t_gen = time.perf_counter() - t0
    times = TrueTimes(graph)
    outcomes = replay(incidents, boats, times)
    result: dict[str, Any] = {
        "seed": args.seed,
        "year_start": args.year_start.isoformat(),
        "days": args.days,
        "current_mps": args.current,
        "boats": [b.id for b in boats],
        **summarise(outcomes),
        "by_section": breakdown(outcomes, lambda i: i.section),
        "by_type": breakdown(outcomes, lambda i: i.type.value),
        "routes_computed": times.routed,
        "generate_s": round(t_gen, 2),
        "total_s": round(time.perf_counter() - t0, 2),
    }
    print(json.dumps(result, indent=2))
    p, b, c = (result["policies"][n] for n in POLICIES)
    sb, sc = result["saved_vs_agency_straight"], result["saved_vs_joint_straight"]
    print(
        f"together by water: mean {p['mean_min']} min to scene vs {b['mean_min']} (each agency alone, "
        f"straight line) and {c['mean_min']} (joint, straight line); saved mean/median {sb['mean_min']}/"
        f"{sb['median_min']} min vs alone, {sc['mean_min']}/{sc['median_min']} min vs joint straight line; "
        f"{result['served']} incidents in {result['days']} days, {result['total_s']} s"
    )


if __name__ == "__main__":
    main()
