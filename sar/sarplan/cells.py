"""Probability grid of a particle cloud: cells ``cell_length_m`` along the river by ``bands``
equal strips across the water, as GeoJSON Polygon features in WGS84 (only non-empty cells).

A cell's probability is its share of all particles (those that left the section count in the
denominator, so the cells of a frame sum to the share still in the section).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from sar.sarplan.rivercoords import SectionCoords

if TYPE_CHECKING:
    from sar.sarplan.drift import Particles


def cell_keys(coords: SectionCoords, p: Particles, cell_length_m: float, bands: int) -> NDArray[np.int64]:
    """Cell key ``bin * bands + band`` of every particle still in the section."""
    hw = coords.half_width_m
    inside = ~p.left
    last_bin = int(np.ceil(coords.length_m / cell_length_m)) - 1
    b = np.clip(np.floor(p.s[inside] / cell_length_m), 0, last_bin).astype(np.int64)
    k = np.clip(np.floor((p.n[inside] + hw) / (2.0 * hw / bands)), 0, bands - 1).astype(np.int64)
    out: NDArray[np.int64] = b * bands + k
    return out


def grid_cells(
    coords: SectionCoords, snapshots: Sequence[Particles], cell_length_m: float, bands: int
) -> list[tuple[dict[str, Any], ...]]:
    """One tuple of cell features per snapshot; polygons built once for all snapshots."""
    counted = []
    for p in snapshots:
        keys, counts = np.unique(cell_keys(coords, p, cell_length_m, bands), return_counts=True)
        counted.append((keys, counts / max(len(p.s), 1)))
    all_keys = np.unique(np.concatenate([k for k, _ in counted])) if counted else np.zeros(0, np.int64)
    shapes = _polygons(coords, all_keys, cell_length_m, bands)
    return [
        tuple(
            {
                "type": "Feature",
                "geometry": shapes[int(key)][0],
                "properties": {"probability": round(float(prob), 5), **shapes[int(key)][1]},
            }
            for key, prob in zip(keys, probs)
        )
        for keys, probs in counted
    ]


def _polygons(
    coords: SectionCoords, keys: NDArray[np.int64], cell_length_m: float, bands: int
) -> dict[int, tuple[dict[str, Any], dict[str, float]]]:
    """GeoJSON geometry and properties per cell key (one projection call for all rings)."""
    hw = coords.half_width_m
    width = 2.0 * hw / bands
    rings_s, rings_n, sizes, props = [], [], [], []
    for key in keys:
        b, k = divmod(int(key), bands)
        s0, s1 = b * cell_length_m, min((b + 1) * cell_length_m, coords.length_m)
        n0, n1 = -hw + k * width, -hw + (k + 1) * width
        ss = coords.chainages_between(s0, s1)
        # counter-clockwise (RFC 7946): downstream along the right edge, back along the left
        rs = np.concatenate([ss, ss[::-1], ss[:1]])
        rn = np.concatenate([np.full(len(ss), n1), np.full(len(ss), n0), [n1]])
        rings_s.append(rs)
        rings_n.append(rn)
        sizes.append(len(rs))
        props.append(
            {
                "river_km_from": round(s0 / 1000.0, 4),
                "river_km_to": round(s1 / 1000.0, 4),
                "offset_from_m": round(n0, 2),
                "offset_to_m": round(n1, 2),
            }
        )
    if not sizes:
        return {}
    x, y = coords.to_xy(np.concatenate(rings_s), np.concatenate(rings_n))
    lon, lat = coords.to_lonlat(x, y)
    lonlat = np.round(np.stack([lon, lat], axis=1), 6).tolist()
    out: dict[int, tuple[dict[str, Any], dict[str, float]]] = {}
    start = 0
    for key, size, prop in zip(keys, sizes, props):
        ring = lonlat[start : start + size]
        start += size
        out[int(key)] = ({"type": "Polygon", "coordinates": [ring]}, prop)
    return out
