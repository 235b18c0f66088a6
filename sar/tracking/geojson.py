"""Tracks as GeoJSON features (for ``GET /api/tracks`` and ``/ws/live``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from geo.river import RiverModel
from sar.tracking.model import Track


def track_features(tracks: list[Track], river: RiverModel, now: datetime) -> list[dict[str, Any]]:
    """One Point feature per track, with where it is on the river (one vectorised locate)."""
    if not tracks:
        return []
    where = river.locate_xy(np.array([t.x_m for t in tracks]), np.array([t.y_m for t in tracks]))
    out = []
    for i, t in enumerate(tracks):
        sec = int(where.section_index[i])
        out.append(
            {
                "type": "Feature",
                "id": t.id,
                "geometry": {"type": "Point", "coordinates": [round(t.lon, 7), round(t.lat, 7)]},
                "properties": {
                    "id": t.id,
                    "status": t.status.value,
                    "time": t.time.isoformat(),
                    "class": t.target_class.value,
                    "class_confidence": round(t.class_confidence, 3),
                    "sources": sorted({s.sensor_id for s in t.sources}),
                    "source_kinds": sorted({s.kind.value for s in t.sources}),
                    "cooperative": t.cooperative(now),
                    "mmsi": t.mmsi,
                    "name": t.name,
                    "speed_mps": round(t.speed_mps, 2),
                    "course_deg": round(t.course_deg, 1),
                    "position_sd_m": round(t.position_sd_m, 1),
                    "section": river.sections[sec].name if sec >= 0 else None,
                    "river_km": round(float(where.chainage_m[i]) / 1000, 3) if sec >= 0 else None,
                    "side": str(where.side[i]) or None,
                    "on_water": bool(where.on_water[i]),
                    "tail": [[round(lon, 6), round(lat, 6)] for _ts, lon, lat in t.history],
                },
            }
        )
    return out


def feature_collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}
