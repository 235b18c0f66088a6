"""Settings of the river model and the route graph (part of the one validated settings object)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

LonLat = tuple[float, float]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dam(_Strict):
    """A dam that boats cannot pass (in addition to those in ``places.geojson``)."""

    name: str
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class RoadTransfer(_Strict):
    """Boats carried by road between two launch points (for example around Dubasari dam)."""

    name: str
    a: LonLat
    b: LonLat
    duration_s: float = Field(gt=0)


class GeoSettings(_Strict):
    """Where the river is and how wide: the water area is the axis buffered by a half-width."""

    water_half_width_m: float = Field(default=100.0, gt=0, le=2000)
    section_corridor_m: float = Field(
        default=3000.0, gt=0, description="points within this distance of an axis belong to its section"
    )


class RoutingSettings(_Strict):
    """Route graph parameters: node spacing, river current, dams, road transfers."""

    node_spacing_m: float = Field(default=200.0, gt=1, le=200)
    current_mps: dict[str, float] = Field(
        default_factory=lambda: {"north": 0.8, "south": 0.8},
        description="surface current along the axis per section, m/s (positive downstream)",
    )
    max_snap_m: float = Field(default=2000.0, gt=0, description="farthest a route end may be from the river axis")
    dam_snap_m: float = Field(default=1000.0, gt=0, description="a dam this close to an axis cuts the section there")
    extra_dams: list[Dam] = Field(default_factory=list)
    road_transfers: list[RoadTransfer] = Field(default_factory=list)
