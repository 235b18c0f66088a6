"""Settings of the river drift model (pydantic, unknown keys forbidden).

Values are indicative defaults for the Dniester at normal flow; an operator tunes them per
incident (``discharge_factor`` after rain, the object's leeway) rather than editing code.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from geo.config import RoutingSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ObjectType(StrEnum):
    """What is drifting; selects the leeway coefficients."""

    PERSON_IN_WATER = "person_in_water"
    CAPSIZED_BOAT = "capsized_boat"
    KAYAK = "kayak"


class Leeway(_Strict):
    """Downwind drift as a fraction of the 10 m wind speed, with its 1-sigma spread over particles."""

    fraction: float = Field(ge=0, le=0.2)
    fraction_sd: float = Field(default=0.0, ge=0, le=0.1)


def _default_leeway() -> dict[ObjectType, Leeway]:
    # Indicative downwind leeway rates of the same order as the published SAR leeway tables
    # (a person floating low in the water drifts least, a light kayak most).
    return {
        ObjectType.PERSON_IN_WATER: Leeway(fraction=0.011, fraction_sd=0.004),
        ObjectType.CAPSIZED_BOAT: Leeway(fraction=0.017, fraction_sd=0.005),
        ObjectType.KAYAK: Leeway(fraction=0.025, fraction_sd=0.008),
    }


class DriftSettings(_Strict):
    """River drift: current and its lateral profile, mixing, banks, leeway, output grid.

    The surface current ``u(n)`` at lateral offset ``n`` (0 on the axis, +-half-width at the banks)
    is ``current_mps[section] * discharge_factor * f(n / half_width)`` with ``f`` by
    ``lateral_profile``:

    - ``power``: ``f = (1 - |eta|) ** profile_exponent`` (the 1/7 power law in the distance from the
      nearer bank); width mean ``1 / (1 + exponent)`` (7/8 for 1/7);
    - ``parabolic``: ``f = 1 - eta**2``; width mean 2/3;
    - ``uniform``: ``f = 1``.

    So ``current_mps`` is the mid-channel surface current (as in the route graph's settings).
    """

    current_mps: dict[str, float] = Field(
        default_factory=lambda: {"north": 0.8, "south": 0.8},
        description="mid-channel surface current per section, m/s downstream",
    )
    discharge_factor: float = Field(default=1.0, gt=0, le=5, description="scales every current (flood > 1)")
    lateral_profile: Literal["power", "parabolic", "uniform"] = "power"
    profile_exponent: float = Field(default=1 / 7, gt=0, le=1)
    current_sd_fraction: float = Field(
        default=0.1, ge=0, le=0.5, description="1-sigma spread of the current per particle, as a fraction"
    )
    lateral_diffusion_m2ps: float = Field(default=0.2, ge=0, le=50, description="turbulent mixing across")
    along_diffusion_m2ps: float = Field(default=1.0, ge=0, le=500, description="residual mixing along")
    strand_probability: float = Field(default=0.2, ge=0, le=1, description="caught by the bank per contact")
    release_per_min: float = Field(default=0.05, ge=0, le=1, description="stranded particle freed, per minute")
    leeway: dict[ObjectType, Leeway] = Field(default_factory=_default_leeway)
    frames_every_s: float = Field(default=300.0, gt=0, description="output interval of probability grids")
    cell_length_m: float = Field(default=100.0, ge=10, le=5000, description="grid cell length along the river")
    lateral_bands: int = Field(default=4, ge=1, le=20, description="grid cells across the water width")

    def with_current_of(self, routing: RoutingSettings) -> DriftSettings:
        """These settings with the route graph's current per section (one source of truth)."""
        return self.model_copy(update={"current_mps": dict(routing.current_mps)})
