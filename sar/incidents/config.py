"""Thresholds of the incident rules and of the incident book (part of the one settings object).

Every distance is in metres from the border (the river axis on the river sections), every
duration in seconds. Defaults are the operational starting point; tune per site in the TOML file.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sensors.model import TargetClass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CrossingSettings(_Strict):
    """A crossing needs the track established on one side, then established on the other.

    Established = at least ``max(min_offset_m, sd_factor * position_sd_m)`` beyond the border
    for ``dwell_s`` and ``min_samples`` consecutive samples: noise around the axis never counts.
    """

    min_offset_m: float = Field(default=25.0, gt=0)
    sd_factor: float = Field(default=2.0, ge=0, description="depth must also exceed this many position sd")
    dwell_s: float = Field(default=20.0, ge=0)
    min_samples: int = Field(default=3, ge=1)
    cooperative: Literal["ignore", "low"] = Field(
        default="ignore", description="AIS vessels crossing (ferries, patrols): no incident, or a low-impact one"
    )
    max_trail: int = Field(default=3600, ge=10, description="samples kept between the two sides, to place the crossing")


class PersonInWaterSettings(_Strict):
    min_confidence: float = Field(default=0.6, ge=0, le=1)
    require_optical: bool = Field(default=True, description="only a camera or drone can say 'person'")


class RendezvousSettings(_Strict):
    """Two tracks together near the border; hysteresis: they meet at ``max_distance_m`` and
    part beyond ``release_distance_m``."""

    max_distance_m: float = Field(default=50.0, gt=0)
    release_distance_m: float = Field(default=100.0, gt=0)
    near_border_m: float = Field(default=200.0, gt=0)
    border_margin_m: float = Field(default=50.0, ge=0, description="hysteresis on leaving the border zone")
    min_duration_s: float = Field(default=180.0, ge=0)

    @model_validator(mode="after")
    def _release_beyond_meet(self) -> Self:
        if self.release_distance_m < self.max_distance_m:
            raise ValueError("release_distance_m must be >= max_distance_m")
        return self


class LoiteringSettings(_Strict):
    """A non-cooperative track that stays inside a circle of ``area_radius_m`` near the border."""

    near_border_m: float = Field(default=150.0, gt=0)
    border_margin_m: float = Field(default=50.0, ge=0)
    min_duration_s: float = Field(default=300.0, gt=0)
    area_radius_m: float = Field(default=150.0, gt=0)
    leave_radius_m: float = Field(default=300.0, gt=0, description="ends once this far from where it loitered")
    ignore_classes: frozenset[TargetClass] = Field(
        default=frozenset({TargetClass.PERSON, TargetClass.DEBRIS}),
        description="a person drifting is a SAR case and debris drifts: neither loiters",
    )

    @model_validator(mode="after")
    def _leave_beyond_area(self) -> Self:
        if self.leave_radius_m < self.area_radius_m:
            raise ValueError("leave_radius_m must be >= area_radius_m")
        return self


class DarkTargetSettings(_Strict):
    """A vessel whose AIS went silent while radar or a camera still holds it, near the border."""

    ais_silence_s: float = Field(default=120.0, gt=0)
    holder_max_age_s: float = Field(default=30.0, gt=0, description="a non-AIS sensor saw it this recently")
    near_border_m: float = Field(default=500.0, gt=0)
    border_margin_m: float = Field(default=100.0, ge=0)
    high_within_m: float = Field(default=50.0, ge=0, description="impact high this close to the border")


class BookSettings(_Strict):
    update_interval_s: float = Field(default=30.0, ge=0, description="at most one 'updated' timeline entry per")
    min_move_m: float = Field(default=10.0, ge=0, description="smaller moves do not change an incident")
    close_grace_s: float = Field(default=60.0, ge=0, description="an ended event is closed by its rule after")
    manual_confidence: float = Field(default=0.5, ge=0, le=1, description="confidence of an unverified report")
    rule_every_s: dict[str, float] = Field(
        default_factory=lambda: {"rendezvous": 1.0, "loitering": 1.0, "dark_target": 1.0},
        description="rules whose events last minutes run this often (s); the others at every evaluation",
    )


class IncidentSettings(_Strict):
    ais_timeout_s: float = Field(default=180.0, gt=0, description="AIS this recent makes a track cooperative")
    crossing: CrossingSettings = Field(default_factory=CrossingSettings)
    person_in_water: PersonInWaterSettings = Field(default_factory=PersonInWaterSettings)
    rendezvous: RendezvousSettings = Field(default_factory=RendezvousSettings)
    loitering: LoiteringSettings = Field(default_factory=LoiteringSettings)
    dark_target: DarkTargetSettings = Field(default_factory=DarkTargetSettings)
    book: BookSettings = Field(default_factory=BookSettings)
