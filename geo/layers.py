"""Map layers as GeoJSON (WGS84) for display: axis, water area, border, countries, places."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import mapping

from geo.data import ATTRIBUTION, BOUNDARY_FILE, CENTERLINE_FILE, COUNTRIES_FILE, PLACES_FILE
from geo.river import RiverModel

_DECIMALS = 6


def build_layers(river: RiverModel) -> dict[str, Any]:
    """All display layers; the river axis and water area carry section, length and half-width."""

    def to_lonlat(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = river.projector.to_lonlat(xy[:, 0], xy[:, 1])
        return np.round(np.stack([lon, lat], axis=1), _DECIMALS).astype(np.float64)

    axis = [
        _feature(
            shapely.transform(s.axis, to_lonlat),
            section=s.name,
            length_km=round(s.length_m / 1000, 2),
            right_bank=s.right_bank,
            left_bank=s.left_bank,
        )
        for s in river.sections
    ]
    water = [
        _feature(
            shapely.transform(river.water[s.name], to_lonlat),
            section=s.name,
            half_width_m=river.settings.water_half_width_m,
        )
        for s in river.sections
    ]
    raw = river.data.raw
    return {
        "attribution": ATTRIBUTION,
        "clip_bbox": list(river.data.clip_bbox),
        "river_axis": _collection(axis),
        "water_area": _collection(water),
        "border": _strip_metadata(raw[BOUNDARY_FILE]),
        "countries": _strip_metadata(raw[COUNTRIES_FILE]),
        "places": _strip_metadata(raw[PLACES_FILE]),
        "centerline": _strip_metadata(raw[CENTERLINE_FILE]),
    }


def _feature(geom: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": mapping(geom), "properties": props}


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _strip_metadata(fc: dict[str, Any]) -> dict[str, Any]:
    return _collection(fc["features"])
