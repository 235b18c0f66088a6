"""``/api/geo``: map layers and where a point is on the river border."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel

from sar.api.deps import AppSettings, Lat, Layers, Lon, River
from sar.api.security import ANYONE, allow

router = APIRouter(prefix="/api/geo", tags=["geo"], dependencies=[allow(ANYONE)])


class LocationOut(BaseModel):
    lon: float
    lat: float
    section: str | None
    river_km: float | None
    offset_m: float | None
    bank: Literal["left", "right"] | None
    side: str | None
    on_water: bool
    border_distance_m: float


@router.get("/layers")
def layers(layers: Layers, settings: AppSettings) -> dict[str, Any]:
    """River axis, water area, border, country areas, places and the context centreline (GeoJSON)."""
    return {**layers, "tile_url": settings.ui.tile_url, "tile_attribution": settings.ui.tile_attribution}


@router.get("/locate", response_model=LocationOut)
def locate(lon: Lon, lat: Lat, river: River) -> LocationOut:
    """Section, river km, signed offset (+ right bank looking downstream), side and on-water flag."""
    return LocationOut(**river.locate(lon, lat).to_dict())
