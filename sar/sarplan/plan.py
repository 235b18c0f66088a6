"""One SAR plan from an incident's last known position: drift, search area, assigned patterns.

:class:`SarPlanRequest` is the request schema for the HTTP edge (unknown keys refused); the
caller turns the chosen fleet assets into :class:`Searcher` values and calls :func:`make_plan`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from geo.river import RiverModel
from sar.sarplan.assign import AssignmentPlan, assign_patterns
from sar.sarplan.config import DriftSettings, ObjectType
from sar.sarplan.drift import DriftResult, Wind, predict_drift
from sar.sarplan.patterns import SearchArea, Searcher, search_area


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindIn(_Strict):
    speed_mps: float = Field(ge=0, le=60, allow_inf_nan=False)
    from_deg: float = Field(ge=0, le=360, allow_inf_nan=False, description="true direction the wind blows from")


class SarPlanRequest(_Strict):
    """What the operator asks for; the last known position and time come from the incident."""

    object_type: ObjectType = ObjectType.PERSON_IN_WATER
    horizon_min: float = Field(default=60.0, gt=0, le=24 * 60, description="predict this long after the last fix")
    position_radius_m: float = Field(default=50.0, ge=0, le=10_000, allow_inf_nan=False)
    time_uncertainty_s: float = Field(default=0.0, ge=0, le=86_400, allow_inf_nan=False)
    wind: WindIn | None = None
    sweep_width_m: float = Field(default=50.0, ge=5, le=5000, allow_inf_nan=False)
    coverage: float = Field(default=1.0, gt=0, le=5, allow_inf_nan=False)
    asset_ids: list[str] = Field(default_factory=list, description="searchers (fleet asset ids)")
    particles: int = Field(default=2000, ge=100, le=20_000)
    seed: int | None = None


@dataclass(frozen=True)
class SarPlan:
    drift: DriftResult
    area: SearchArea
    assignments: AssignmentPlan

    def to_dict(self) -> dict[str, Any]:
        return {"drift": self.drift.to_dict(), "area": self.area.to_dict(), **self.assignments.to_dict()}


def make_plan(
    river: RiverModel,
    settings: DriftSettings,
    last_known: tuple[float, float, datetime],
    request: SarPlanRequest,
    searchers: Sequence[Searcher],
) -> SarPlan:
    """Drift to the horizon, take its 90 % stretch as the area, assign the searchers (their
    patterns start at the horizon). Raises SarPlanError subclasses or GeoError."""
    until = last_known[2] + timedelta(minutes=request.horizon_min)
    wind = Wind(request.wind.speed_mps, request.wind.from_deg) if request.wind else None
    drift = predict_drift(
        river,
        last_known,
        until,
        settings,
        request.object_type,
        particles=request.particles,
        seed=request.seed,
        position_radius_m=request.position_radius_m,
        time_uncertainty_s=request.time_uncertainty_s,
        wind=wind,
    )
    area = search_area(drift)
    plan = assign_patterns(
        river, [area], searchers, request.sweep_width_m, coverage=request.coverage, settings=settings, start=until
    )
    return SarPlan(drift, area, plan)
