"""River coordinates of one section: chainage ``s`` along the axis and offset ``n`` across it.

``n`` is positive on the right bank looking downstream (as ``RiverModel.locate``). A point
``(s, n)`` is the axis point at ``s`` moved ``n`` metres along a normal: the segment's own normal
on straight reaches, turning smoothly to the bisector at each vertex within ``blend`` metres of it
(the half-width, or half the segment if shorter). Whatever the normal, that point is at most
``|n|`` from the axis, so ``|n| <= half-width`` is always on the water: drift particles and search
legs built in these coordinates never leave it. Near a bend of ``a`` degrees the lines of
constant ``n`` lie up to ``|n| (1 - cos a/2)`` inside the true offset, the price of that guarantee.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geo.river import RiverModel

F64 = NDArray[np.float64]


class SectionCoords:
    """Vectorised (s, n) <-> metric x/y for one section, plus tangents and offset polylines."""

    def __init__(self, river: RiverModel, section: str) -> None:
        sec = river.section(section)
        xy = np.asarray(sec.axis.coords, dtype=float)[:, :2]
        d = np.diff(xy, axis=0)
        length = np.hypot(d[:, 0], d[:, 1])
        keep = np.concatenate([[True], length > 0])
        self.xy = xy[keep]
        d = np.diff(self.xy, axis=0)
        self.seg_length = np.hypot(d[:, 0], d[:, 1])
        self.cum = np.concatenate([[0.0], np.cumsum(self.seg_length)])
        self.tangent = d / self.seg_length[:, None]
        seg_normal = np.stack([self.tangent[:, 1], -self.tangent[:, 0]], axis=1)  # right of downstream
        vn = np.empty_like(self.xy)
        vn[0], vn[-1] = seg_normal[0], seg_normal[-1]
        mid = seg_normal[:-1] + seg_normal[1:]
        norm = np.hypot(mid[:, 0], mid[:, 1])
        vn[1:-1] = np.where(norm[:, None] > 1e-9, mid / np.maximum(norm, 1e-9)[:, None], seg_normal[1:])
        self.vertex_normal = vn
        self.seg_normal = seg_normal
        half = self.seg_length / 2
        blend = np.full(len(self.xy), 1.0)  # ends: the vertex normal is the segment's, any radius
        blend[1:-1] = np.minimum(np.minimum(half[:-1], half[1:]), float(river.settings.water_half_width_m))
        self.blend = blend
        turn = np.degrees(np.arccos(np.clip((self.tangent[:-1] * self.tangent[1:]).sum(axis=1), -1.0, 1.0)))
        bent = np.flatnonzero(turn > 2.0) + 1  # vertices where the normal visibly turns
        shape = [self.cum, self.cum[bent] - blend[bent], self.cum[bent] + blend[bent]]
        self.shape_s = np.unique(np.concatenate(shape))  # chainages where lines of constant n bend
        self.name = section
        self.length_m = float(self.cum[-1])
        self.half_width_m = float(river.settings.water_half_width_m)
        self.projector = river.projector

    def segment(self, s: ArrayLike) -> NDArray[np.int64]:
        """Index of the axis segment holding chainage ``s`` (clipped to the section)."""
        i = np.searchsorted(self.cum, np.asarray(s, dtype=float), side="right") - 1
        return np.clip(i, 0, len(self.seg_length) - 1).astype(np.int64)

    def to_xy(self, s: ArrayLike, n: ArrayLike) -> tuple[F64, F64]:
        """Metric x/y of river coordinates (``s`` clipped to the section)."""
        s_a = np.clip(np.asarray(s, dtype=float), 0.0, self.length_m)
        n_a = np.asarray(n, dtype=float)
        i = self.segment(s_a)
        a = s_a - self.cum[i]
        base = self.xy[i] + (a / self.seg_length[i])[..., None] * (self.xy[i + 1] - self.xy[i])
        w0 = np.clip(1.0 - a / self.blend[i], 0.0, 1.0)[..., None]
        w1 = np.clip(1.0 - (self.cum[i + 1] - s_a) / self.blend[i + 1], 0.0, 1.0)[..., None]
        normal = (1.0 - w0 - w1) * self.seg_normal[i] + w0 * self.vertex_normal[i] + w1 * self.vertex_normal[i + 1]
        normal /= np.hypot(normal[..., 0], normal[..., 1])[..., None]
        out = base + n_a[..., None] * normal
        return out[..., 0], out[..., 1]

    def to_lonlat(self, x: ArrayLike, y: ArrayLike) -> tuple[F64, F64]:
        return self.projector.to_lonlat(x, y)

    def tangent_at(self, s: ArrayLike) -> tuple[F64, F64]:
        """Unit downstream direction of the axis at chainage ``s``."""
        t = self.tangent[self.segment(s)]
        return t[..., 0], t[..., 1]

    def chainages_between(self, s0: float, s1: float) -> F64:
        """``s0``, the chainages strictly between where lines of constant offset bend (vertices and
        the ends of their blends), and ``s1``; ascending or descending like ``s0 -> s1``."""
        lo, hi = min(s0, s1), max(s0, s1)
        inner = self.shape_s[(self.shape_s > lo) & (self.shape_s < hi)]
        out = np.concatenate([[lo], inner, [hi]])
        return out if s0 <= s1 else out[::-1]

    def offset_line(self, s0: float, s1: float, n: float) -> F64:
        """Polyline (k, 2) from ``s0`` to ``s1`` at constant offset ``n``, through :meth:`chainages_between`.

        No axis vertex lies between two of its points, so each straight piece is a chord between
        two points within ``|n|`` of the same axis segment: on the water when ``|n| <= half-width``.
        """
        s = self.chainages_between(s0, s1)
        x, y = self.to_xy(s, np.full(s.shape, n))
        return np.stack([x, y], axis=1)
