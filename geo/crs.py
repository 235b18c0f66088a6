"""The one metric CRS of the project (UTM 35N) and the transformers to and from WGS84.

Built once by the river model; nothing else in the project builds pyproj transformers.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer

from geo.errors import InvalidCoordinate

WGS84 = "EPSG:4326"
METRIC_CRS = "EPSG:32635"


class Projector:
    """Forward (lon/lat -> x/y metres) and inverse projection between WGS84 and UTM 35N."""

    def __init__(self) -> None:
        self._fwd = Transformer.from_crs(WGS84, METRIC_CRS, always_xy=True)
        self._inv = Transformer.from_crs(METRIC_CRS, WGS84, always_xy=True)

    def to_xy(self, lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        lon_a, lat_a = check_lonlat(lon, lat)
        x, y = self._fwd.transform(lon_a, lat_a)
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def to_lonlat(self, x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        lon, lat = self._inv.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def check_lonlat(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return lon/lat as float arrays, or raise InvalidCoordinate naming the first bad value."""
    try:
        lon_a = np.asarray(lon, dtype=float)
        lat_a = np.asarray(lat, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidCoordinate(f"coordinates must be numbers: {exc}") from None
    if lon_a.shape != lat_a.shape:
        raise InvalidCoordinate(f"lon and lat differ in shape: {lon_a.shape} vs {lat_a.shape}")
    bad = ~(np.isfinite(lon_a) & np.isfinite(lat_a) & (np.abs(lon_a) <= 180) & (np.abs(lat_a) <= 90))
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise InvalidCoordinate(
            f"invalid coordinate lon={lon_a.ravel()[i]!r} lat={lat_a.ravel()[i]!r}: "
            "lon must be in [-180, 180] and lat in [-90, 90], finite"
        )
    return lon_a, lat_a
