"""Settings of the multi-sensor tracker: every parameter with a default that suits boats on a river.

Times in seconds, distances in metres, speeds in m/s; probabilities in (0, 1).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TrackerSettings(BaseModel):
    """How the tracker filters, associates, confirms, merges and deletes tracks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # motion model: nearly constant velocity, white acceleration noise adapted per track between a quiet
    # level and accel_sd_mps2 by the running mean of its normalised innovations (1 = as expected)
    accel_sd_mps2: float = Field(default=0.3, gt=0, description="process noise of a manoeuvring boat, a new track")
    quiet_accel_sd_mps2: float = Field(default=0.05, gt=0, description="process noise of a boat holding its course")
    nis_memory: float = Field(default=0.25, gt=0, le=1, description="weight of the newest innovation in the mean")
    nis_saturation: float = Field(default=4.0, gt=1, description="mean normalised innovation at full noise")
    maneuver_accel_sd_mps2: float = Field(
        default=3.0, gt=0, description="second-chance gate of a confirmed track that found no measurement"
    )
    # association
    gate_probability: float = Field(default=0.999, gt=0.5, lt=1, description="chi-square gate")
    hint_gate_probability: float = Field(
        default=0.99999, gt=0.5, lt=1, description="gate (on the manoeuvre covariance) of a pair a sensor id links"
    )
    initiate_in_gate: bool = Field(
        default=False, description="an unassigned observation inside some track's gate may start a track"
    )
    hint_timeout_s: float = Field(default=30.0, gt=0, description="a sensor's own track id links to ours this long")
    id_mismatch_cost: float = Field(
        default=9.0, ge=0, description="cost added when a sensor gives another of its ids to a track it fed"
    )
    scan_window_s: float = Field(default=0.5, ge=0, description="observations of one sensor this close: one scan")
    # measurements
    use_velocity: bool = Field(default=True, description="use a reported velocity as an extra measurement")
    max_range_sd_fraction: float = Field(
        default=0.1, gt=0, description="a range less accurate than this part of it is not used (bearing only)"
    )
    velocity_gate_sd_mps: float = Field(
        default=1.5, gt=0, description="least sd of a reported velocity in the gate (a boat may just have started)"
    )
    velocity_sd_floor_mps: float = Field(default=0.5, gt=0, description="least 1-sigma of a reported velocity")
    init_velocity_sd_mps: float = Field(default=5.0, gt=0, description="velocity sd of a track started at rest")
    # confirmation, status and deletion
    confirm_m: int = Field(default=3, ge=1, description="M of N: hits needed ...")
    confirm_n: int = Field(default=5, ge=1, description="... among the last N scans that could have seen it")
    ais_confirms: bool = Field(default=True, description="one AIS report confirms a track (a transponder)")
    coast_after_s: float = Field(default=10.0, gt=0, description="confirmed without update this long: coasting")
    delete_tentative_s: float = Field(default=10.0, gt=0)
    delete_confirmed_s: float = Field(default=60.0, gt=0)
    delete_ais_s: float = Field(default=180.0, gt=0, description="a track fed by AIS (moored: 3 min reports)")
    max_position_sd_m: float = Field(default=300.0, gt=0, description="deleted when its position sd grows beyond")
    # duplicates
    merge_probability: float = Field(default=0.99, gt=0.5, lt=1, description="chi-square test of two tracks' states")
    merge_window_s: float = Field(
        default=30.0, ge=0, description="two tracks one sensor updated in one scan this recently are distinct"
    )
    # identity
    class_floor: float = Field(default=0.02, gt=0, lt=0.3, description="least probability of any class")
    min_class_confidence: float = Field(default=0.5, ge=0, le=1, description="below: the track's class is unknown")
    # time and output
    lag_s: float = Field(default=0.05, ge=0, description="observations are held this long to be put in time order")
    late_tolerance_s: float = Field(
        default=2.0, ge=0, description="an observation up to this much later than lag_s is used at the processed time"
    )
    late_speed_mps: float = Field(
        default=8.0, ge=0, description="a late position's uncertainty grows by this speed x its lateness"
    )
    history_len: int = Field(default=20, ge=0, description="positions kept for the map")
    history_every_s: float = Field(default=5.0, ge=0)
    coast_report_s: float = Field(default=1.0, gt=0, description="a coasting track's prediction is re-reported")

    @model_validator(mode="after")
    def _consistent(self) -> TrackerSettings:
        if self.confirm_m > self.confirm_n:
            raise ValueError(f"confirm_m ({self.confirm_m}) must not exceed confirm_n ({self.confirm_n})")
        if self.quiet_accel_sd_mps2 > self.accel_sd_mps2:
            raise ValueError("quiet_accel_sd_mps2 must not exceed accel_sd_mps2")
        if self.delete_confirmed_s <= self.coast_after_s:
            raise ValueError("delete_confirmed_s must exceed coast_after_s")
        return self
