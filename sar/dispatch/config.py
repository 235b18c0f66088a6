"""Settings of dispatch (part of the one settings object): the fleet, eligibility, orders, coverage."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sar.dispatch.fleet import Capability, FleetSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EligibilitySettings(_Strict):
    """Which assets may be proposed. SAR: any agency's asset with the ``sar`` capability; a
    border incident: both agencies notified and the nearest boat of each side proposed."""

    sar_capabilities: frozenset[Capability] = frozenset({Capability.SAR})
    border_capabilities: frozenset[Capability] = frozenset({Capability.INTERDICTION})
    joint_border_response: bool = Field(default=True, description="propose the nearest boat of each agency")
    include_drones: bool = Field(default=True, description="drones are ranked too (by air, not by water)")
    max_results: int = Field(default=20, ge=1, le=500)


class DispatchSettings(_Strict):
    fleet: FleetSettings = Field(default_factory=FleetSettings)
    eligibility: EligibilitySettings = Field(default_factory=EligibilitySettings)
    ack_deadline_s: float = Field(default=60.0, gt=0, le=3600, description="crew must accept or decline by then")
    coverage_gap_s: float = Field(default=1800.0, gt=0, description="a river km farther than this is a coverage gap")
    coverage_step_km: float = Field(default=1.0, gt=0, le=10)
