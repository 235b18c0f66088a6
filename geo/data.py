"""Loading the shipped geodata (package ``dwatch_data``) into projected GeoDataFrames."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import geopandas as gpd

from geo.crs import METRIC_CRS, WGS84

BOUNDARY_FILE = "md_ua_boundary.geojson"
COUNTRIES_FILE = "md_ua_countries.geojson"
PLACES_FILE = "places.geojson"
CENTERLINE_FILE = "dniester_centerline_wdbii.geojson"

ATTRIBUTION = (
    "© OpenStreetMap contributors (ODbL 1.0); GSHHG, P. Wessel & W.H.F. Smith (LGPL), "
    "from CIA World Data Bank II; GeoNames (geonames.org), CC BY 4.0; "
    "WRI Global Power Plant Database v1.3, CC BY 4.0"
)


@dataclass(frozen=True)
class GeoData:
    """The layers computation uses, in the metric CRS, plus the raw GeoJSON (WGS84) of all four
    for display (the coarse WDBII centreline is context only, never projected)."""

    boundary: gpd.GeoDataFrame
    countries: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    clip_bbox: tuple[float, float, float, float]
    raw: dict[str, dict[str, Any]]


def read_geojson(name: str) -> dict[str, Any]:
    """Read one shipped GeoJSON file by name."""
    text = resources.files("dwatch_data").joinpath(name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _frame(fc: dict[str, Any]) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame.from_features(fc["features"], crs=WGS84)
    if not frame.geometry.is_valid.all():
        frame = frame.set_geometry(frame.geometry.make_valid())
    return frame.to_crs(METRIC_CRS)


def load_geodata() -> GeoData:
    """Load and project every layer once."""
    raw = {n: read_geojson(n) for n in (BOUNDARY_FILE, COUNTRIES_FILE, PLACES_FILE, CENTERLINE_FILE)}
    bbox = raw[BOUNDARY_FILE].get("metadata", {}).get("clip_bbox", [26.5, 45.9, 30.5, 48.7])
    return GeoData(
        boundary=_frame(raw[BOUNDARY_FILE]),
        countries=_frame(raw[COUNTRIES_FILE]),
        places=_frame(raw[PLACES_FILE]),
        clip_bbox=(float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])),
        raw=raw,
    )
