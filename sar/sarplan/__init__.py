"""Search-and-rescue planning on the river: drift prediction, search patterns, drone missions.

- :mod:`drift` — Monte Carlo river drift (current profile, diffusion, leeway, banks).
- :mod:`patterns` / :mod:`assign` — IAMSAR patterns on the water and who flies which.
- :mod:`mission` / :mod:`mavlink_link` — MAVLink mission upload, commands and progress.
- :mod:`plan` — the whole plan for one incident (request schema + :func:`make_plan`).
"""

from sar.sarplan.assign import Assignment, AssignmentPlan, assign_patterns, split_area
from sar.sarplan.config import DriftSettings, Leeway, ObjectType
from sar.sarplan.drift import Datum, DriftFrame, DriftResult, Wind, predict_drift
from sar.sarplan.errors import DriftError, MissionError, MissionTimeout, PatternError, SarPlanError
from sar.sarplan.patterns import (
    SearchArea,
    Searcher,
    SearchPattern,
    Waypoint,
    creeping_line,
    expanding_square,
    parallel_track,
    search_area,
    sector_search,
    track_spacing,
)
from sar.sarplan.plan import SarPlan, SarPlanRequest, make_plan

__all__ = [
    "Assignment",
    "AssignmentPlan",
    "Datum",
    "DriftError",
    "DriftFrame",
    "DriftResult",
    "DriftSettings",
    "Leeway",
    "MissionError",
    "MissionTimeout",
    "ObjectType",
    "PatternError",
    "SarPlan",
    "SarPlanError",
    "SarPlanRequest",
    "SearchArea",
    "SearchPattern",
    "Searcher",
    "Waypoint",
    "Wind",
    "assign_patterns",
    "creeping_line",
    "expanding_square",
    "make_plan",
    "parallel_track",
    "predict_drift",
    "search_area",
    "sector_search",
    "split_area",
    "track_spacing",
]
