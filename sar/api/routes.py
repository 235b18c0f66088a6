"""``/api/routes``: a boat's travel time by water between two points."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from geo.routing import KNOT_MPS
from sar.api.deps import Lat, Lon, Routes
from sar.api.security import ANYONE, allow

router = APIRouter(prefix="/api/routes", tags=["routes"], dependencies=[allow(ANYONE)])

SpeedKn = Annotated[float, Query(gt=0, le=80, allow_inf_nan=False, description="speed through water, knots")]


@router.get("/eta")
def eta(
    from_lon: Lon, from_lat: Lat, to_lon: Lon, to_lat: Lat, routes: Routes, speed_kn: SpeedKn = 20.0
) -> dict[str, Any]:
    """ETA (s), distance by water (m) and the path on the water as a GeoJSON LineString."""
    route = routes.eta((from_lon, from_lat), (to_lon, to_lat), speed_kn * KNOT_MPS)
    return {**route.to_dict(), "speed_kn": speed_kn}
