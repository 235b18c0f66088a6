"""``GET /api/tracks``: the fused picture as GeoJSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from sar.api.security import READERS, allow
from sar.pipeline import Pipeline
from sar.tracking.geojson import feature_collection, track_features

router = APIRouter(prefix="/api/tracks", tags=["tracks"], dependencies=[allow(READERS)])


@router.get("")
async def tracks(
    request: Request,
    include_tentative: Annotated[bool, Query(description="also tracks not yet confirmed")] = False,
) -> dict[str, Any]:
    """Confirmed and coasting tracks (Point features; properties: id, status, class, sources,
    cooperative, mmsi, name, speed_mps, course_deg, section, river_km, side, tail)."""
    pipeline: Pipeline = request.app.state.pipeline
    now = pipeline.clock.now()
    found = pipeline.tracker.tracks(include_tentative=include_tentative)
    return feature_collection(track_features(found, pipeline.river, now))
