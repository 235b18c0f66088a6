"""Which searcher flies or sails which pattern where: a simple, predictable rule.

1. Areas are taken most probable first; searchers fastest first (ties by id).
2. With two or more searchers, the fastest searches the datum of the most probable area: a
   drone a sector search (radius = the area's 50 % radius), a boat an expanding square.
3. The others go round-robin over the areas; searchers sharing an area split its stretch of
   river into contiguous parts proportional to their speeds (upstream part to the fastest).
   A boat runs a parallel track along its part, a drone a creeping line across it.
4. Areas left without a searcher are listed as unassigned.

Track spacing is the sweep width over the coverage factor (IAMSAR S = W / C).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from geo.river import RiverModel
from sar.sarplan.config import DriftSettings
from sar.sarplan.errors import PatternError
from sar.sarplan.patterns import (
    SearchArea,
    Searcher,
    SearchPattern,
    creeping_line,
    expanding_square,
    parallel_track,
    sector_search,
    track_spacing,
)


@dataclass(frozen=True)
class Assignment:
    searcher_id: str
    area: SearchArea
    pattern: SearchPattern

    def to_dict(self) -> dict[str, Any]:
        return {"searcher_id": self.searcher_id, "area": self.area.to_dict(), "pattern": self.pattern.to_dict()}


@dataclass(frozen=True)
class AssignmentPlan:
    assignments: tuple[Assignment, ...]
    unassigned: tuple[SearchArea, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignments": [a.to_dict() for a in self.assignments],
            "unassigned_areas": [a.to_dict() for a in self.unassigned],
        }


def split_area(area: SearchArea, weights: Sequence[float]) -> list[SearchArea]:
    """Contiguous parts of the area's stretch (upstream first) with lengths proportional to the
    weights; each keeps the datum, and its probability is the area's times its length share."""
    total = float(sum(weights))
    if not weights or total <= 0:
        raise PatternError("split weights must be positive")
    parts, km = [], area.km_from
    span = area.km_to - area.km_from
    for w in weights:
        share = w / total
        parts.append(replace(area, km_from=km, km_to=km + span * share, probability=area.probability * share))
        km += span * share
    return parts


def assign_patterns(
    river: RiverModel,
    areas: Sequence[SearchArea],
    searchers: Sequence[Searcher],
    sweep_width_m: float,
    *,
    coverage: float = 1.0,
    settings: DriftSettings | None = None,
    start: datetime | None = None,
) -> AssignmentPlan:
    """Assign patterns by the rule in the module docstring."""
    spacing = track_spacing(sweep_width_m, coverage)
    ordered_areas = sorted(areas, key=lambda a: -a.probability)
    ordered = sorted(searchers, key=lambda s: (-s.speed_mps, s.id))
    out: list[Assignment] = []
    used: set[int] = set()
    if len(ordered) >= 2 and ordered_areas:
        first, area = ordered[0], ordered_areas[0]
        if first.kind == "drone":
            pattern = sector_search(river, area, first, settings=settings, start=start)
        else:
            pattern = expanding_square(river, area, first, spacing, settings=settings, start=start)
        out.append(Assignment(first.id, area, pattern))
        used.add(0)
        ordered = ordered[1:]
    groups: dict[int, list[Searcher]] = {}
    for i, s in enumerate(ordered if ordered_areas else []):
        groups.setdefault(i % len(ordered_areas), []).append(s)
    for idx, group in sorted(groups.items()):
        used.add(idx)
        for s, part in zip(group, split_area(ordered_areas[idx], [g.speed_mps for g in group])):
            build = parallel_track if s.kind == "boat" else creeping_line
            out.append(Assignment(s.id, part, build(river, part, s, spacing, settings=settings, start=start)))
    return AssignmentPlan(tuple(out), tuple(a for i, a in enumerate(ordered_areas) if i not in used))
