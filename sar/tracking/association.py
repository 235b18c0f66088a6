"""Global nearest-neighbour association of one scan to the tracks, vectorised.

1. Candidates: track-measurement pairs within a cheap Euclidean bound of the gate (all tracks
   for a bearing-only measurement), so the exact statistics are computed for few pairs.
2. Exact gate: squared Mahalanobis distance of the innovation (position, or range and bearing, or
   bearing; jointly with a reported velocity) below the chi-square gate of its dimension; cost =
   negative log likelihood (d2 + ln det S + dim ln 2 pi) plus identity costs from the tracker
   (infinite for a forbidden pair, e.g. two different MMSIs).
3. A measurement whose sensor id is linked to a track goes to that track if the pair passes the
   gate, or a wider one (on the manoeuvre covariance if the track may manoeuvre): the sensor's own
   tracking is strong evidence.
4. The rest: pairs alone in their row and column directly, then ``linear_sum_assignment`` on the
   conflicting ones.
5. Second chance: tracks that may manoeuvre (confirmed ones that missed their last chance, so one
   outlier does not throw a track off) and the still unassigned measurements, with covariances
   predicted from the last update under a larger acceleration noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from sar.tracking.kalman import Array, joint_mahalanobis, polar, predict, shift_jacobian, shifted_position, wrap_pi
from sar.tracking.measure import Scan

IntArray = NDArray[np.intp]
ExtraCost = Callable[[IntArray, IntArray], Array]  # (track rows, scan columns) -> added cost, inf: forbidden
BIG = 1e9
LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class Gates:
    """Squared-distance gates by measurement dimension (index 1 to 4): the normal one and the one
    for a pair a sensor's own id links."""

    by_dim: Array
    hint_by_dim: Array

    def of(self, dim: NDArray[np.int_]) -> Array:
        return np.asarray(self.by_dim[dim], dtype=float)

    def hint_of(self, dim: NDArray[np.int_]) -> Array:
        return np.asarray(self.hint_by_dim[dim], dtype=float)


@dataclass
class Pairs:
    """Chosen (track row, scan column) pairs and the covariance each update starts from."""

    rows: IntArray
    cols: IntArray
    p: Array  # [m,4,4]
    manoeuvre: NDArray[np.bool_]  # taken through the manoeuvre gate

    @staticmethod
    def of(rows: IntArray, cols: IntArray, p: Array, manoeuvre: bool) -> Pairs:
        return Pairs(rows, cols, p, np.full(len(rows), manoeuvre))

    @staticmethod
    def empty() -> Pairs:
        return Pairs.of(np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), np.zeros((0, 4, 4)), False)

    def __add__(self, other: Pairs) -> Pairs:
        return Pairs(
            np.concatenate([self.rows, other.rows]),
            np.concatenate([self.cols, other.cols]),
            np.concatenate([self.p, other.p]),
            np.concatenate([self.manoeuvre, other.manoeuvre]),
        )


def linearise(x: Array, scan: Scan, cols: IntArray) -> tuple[Array, Array]:
    """Innovations [m,2] (zero first component for bearing-only) and Jacobians d(measurement)/d(state)
    [m,2,4] of states ``x`` [m,4] against scan columns ``cols`` [m]."""
    delta = scan.delta_s[cols]
    pos, _ = shifted_position(x, np.zeros((len(cols), 4, 4)), delta)
    j = shift_jacobian(delta)
    y = scan.z[cols] - pos
    g = np.broadcast_to(np.eye(2), (len(cols), 2, 2)).copy()
    pol = scan.polar[cols]
    if pol.any():
        c = cols[pol]
        hp, gp = polar(pos[pol], scan.site[c], scan.convergence[c], scan.scale[c])
        yp = scan.z[c] - hp
        yp[:, 1] = wrap_pi(yp[:, 1])
        yp[:, 0] = np.where(scan.dim[c] == 1, 0.0, yp[:, 0])
        y[pol], g[pol] = yp, gp
    return y, g @ j


def pair_stats(
    x: Array, p: Array, scan: Scan, cols: IntArray, velocity: bool = True
) -> tuple[Array, Array, NDArray[np.int_]]:
    """(d2, negative log likelihood, dimension) of each pair (states and covariances gathered per
    pair): the position (or range and bearing, or bearing), jointly with a reported velocity."""
    y, h = linearise(x, scan, cols)
    hp = h @ p
    s = hp @ np.swapaxes(h, 1, 2) + scan.r[cols]
    c = hp[:, :, 2:].copy()  # cov(position innovation, velocity innovation) = H P E', E picks velocity
    bearing_only = scan.dim[cols] == 1
    s[bearing_only, 0, :] = s[bearing_only, :, 0] = c[bearing_only, 0, :] = 0.0
    s[bearing_only, 0, 0] = 1.0
    vel = scan.vel[cols]
    has = ~np.isnan(vel[:, 0]) & velocity
    yv = np.where(has[:, None], vel - x[:, 2:], 0.0)
    sv = p[:, 2:, 2:] + (scan.vel_gate_sd[cols] ** 2)[:, None, None] * np.eye(2)
    sv[~has], c[~has] = np.eye(2), 0.0
    d2, logdet = joint_mahalanobis(y, yv, s, c, sv)
    dim = np.where(bearing_only, 1, 2) + 2 * has
    return d2, d2 + logdet + dim * LOG_2PI, dim


def candidates(x: Array, p: Array, scan: Scan, gate: float, slack: float = 2.0) -> tuple[IntArray, IntArray]:
    """Pairs that may pass a gate of ``gate``: squared distance in x/y, with the measurement's
    covariance taken at the measurement, below ``slack * gate`` (dense over all pairs, closed form);
    every track for a bearing-only measurement."""
    n, k = len(x), len(scan)
    if n == 0 or k == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    located = ~np.isnan(scan.xy[:, 0])
    d = scan.delta_s[None, :]
    a = p[:, 0, 0, None] + scan.xy_cov[None, :, 0, 0]
    b = p[:, 0, 1, None] + scan.xy_cov[None, :, 0, 1]
    c = p[:, 1, 1, None] + scan.xy_cov[None, :, 1, 1]
    dx = x[:, 0, None] - np.where(located, scan.xy[:, 0], 0.0)[None, :]
    dy = x[:, 1, None] - np.where(located, scan.xy[:, 1], 0.0)[None, :]
    if np.any(scan.delta_s):
        dx, dy = dx + d * x[:, 2, None], dy + d * x[:, 3, None]
        a = a + d * 2.0 * p[:, 0, 2, None] + d * d * p[:, 2, 2, None]
        b = b + d * (p[:, 0, 3, None] + p[:, 2, 1, None]) + d * d * p[:, 2, 3, None]
        c = c + d * 2.0 * p[:, 1, 3, None] + d * d * p[:, 3, 3, None]
    d2 = (c * dx * dx - 2.0 * b * dx * dy + a * dy * dy) / (a * c - b * b)
    rows, cols = np.nonzero((d2 < slack * gate) | ~located[None, :])
    return rows.astype(np.intp), cols.astype(np.intp)


def solve(rows: IntArray, cols: IntArray, cost: Array) -> NDArray[np.bool_]:
    """Which of the gated pairs (finite cost) to take: a pair alone in its row and its column
    directly, the conflicting ones by ``linear_sum_assignment`` (pairs out of the gate never)."""
    chosen = np.zeros(len(rows), dtype=bool)
    if len(rows) == 0:
        return chosen
    row_n = np.bincount(rows)[rows]
    col_n = np.bincount(cols)[cols]
    alone = (row_n == 1) & (col_n == 1)
    chosen[alone] = True
    rest = np.flatnonzero(~alone)
    if len(rest):
        ur, ri = np.unique(rows[rest], return_inverse=True)
        uc, ci = np.unique(cols[rest], return_inverse=True)
        m = np.full((len(ur), len(uc)), BIG)
        idx = np.full((len(ur), len(uc)), -1, dtype=np.intp)
        m[ri, ci], idx[ri, ci] = cost[rest], rest
        a, b = linear_sum_assignment(m)
        got = idx[a, b]
        chosen[got[(got >= 0) & (m[a, b] < BIG)]] = True
    return chosen


def gated_pairs(
    x: Array, p: Array, scan: Scan, gates: Gates, extra: ExtraCost
) -> tuple[IntArray, IntArray, Array, Array]:
    """Candidate pairs that pass the exact gate and the identity rules: rows, cols, d2, cost."""
    rows, cols = candidates(x, p, scan, float(gates.by_dim[1:].max()))
    if len(rows) == 0:
        return rows, cols, np.zeros(0), np.zeros(0)
    d2, cost, dim = pair_stats(x[rows], p[rows], scan, cols)
    cost = cost + extra(rows, cols)
    ok = (d2 < gates.of(dim)) & np.isfinite(cost)
    return rows[ok], cols[ok], d2[ok], cost[ok]


@dataclass(frozen=True)
class Manoeuvre:
    """Covariances of the tracks predicted from their last update with a larger acceleration."""

    p_upd: Array
    t_upd_s: Array
    q: float
    eligible: NDArray[np.bool_]  # second chance: confirmed tracks that missed their last chance
    hinted: NDArray[np.bool_]  # ... and for a sensor-id link also coasting ones

    def covariances(self, rows: IntArray, x: Array, t_s: float) -> Array:
        return predict(x[rows], self.p_upd[rows], np.maximum(t_s - self.t_upd_s[rows], 0.0), self.q)[1]


def associate(
    x: Array, p: Array, scan: Scan, hints: IntArray, gates: Gates, extra: ExtraCost, man: Manoeuvre
) -> tuple[Pairs, NDArray[np.bool_]]:
    """Pairs of track rows and scan columns for one scan (see the module docstring), and which
    columns fell in some track's normal gate. ``hints[k]`` is the row column k's id links to, or -1."""
    rows, cols, _, cost = gated_pairs(x, p, scan, gates, extra)
    in_gate = np.zeros(len(scan), dtype=bool)
    in_gate[cols] = True
    first = _hinted(x, p, scan, hints, gates, extra, man)
    keep = ~np.isin(rows, first.rows) & ~np.isin(cols, first.cols)
    rows, cols, cost = rows[keep], cols[keep], cost[keep]
    take = solve(rows, cols, cost)
    out = first + Pairs.of(rows[take], cols[take], p[rows[take]], False)
    free_rows = np.flatnonzero(man.eligible & ~np.isin(np.arange(len(x)), out.rows))
    free_cols = np.flatnonzero(~np.isin(np.arange(len(scan)), out.cols) & (scan.dim == 2))
    if len(free_rows) and len(free_cols):
        out = out + _second_chance(x, scan, free_rows, free_cols, gates, extra, man)
    return out, in_gate


def _hinted(x: Array, p: Array, scan: Scan, hints: IntArray, gates: Gates, extra: ExtraCost, man: Manoeuvre) -> Pairs:
    """Pairs the sensors' own ids ask for, gated on position alone (a sensor that keeps its id
    through a turn says more than a velocity that disagrees): the normal gate, else the wider hint
    gate on the manoeuvre covariance (tracks that missed or coast) or the normal one."""
    ks = np.flatnonzero(hints >= 0)
    if len(ks) == 0:
        return Pairs.empty()
    hr = hints[ks]
    _, first = np.unique(hr, return_index=True)  # one measurement per track
    ks, hr = ks[first], hr[first]
    forbidden = ~np.isfinite(extra(hr, ks))
    ks, hr = ks[~forbidden], hr[~forbidden]
    d2, _, dim = pair_stats(x[hr], p[hr], scan, ks, velocity=False)
    normal = d2 < gates.of(dim)
    out = Pairs.of(hr[normal], ks[normal], p[hr[normal]], False)
    r2, k2 = hr[~normal], ks[~normal]
    if len(r2):
        hi = man.hinted[r2]
        p2 = p[r2].copy()
        p2[hi] = man.covariances(r2[hi], x, scan.time_s)
        d2, _, dim = pair_stats(x[r2], p2, scan, k2, velocity=False)
        ok = d2 < gates.hint_of(dim)
        out = out + Pairs(r2[ok], k2[ok], p2[ok], hi[ok])
    return out


def _second_chance(
    x: Array, scan: Scan, rows: IntArray, cols: IntArray, gates: Gates, extra: ExtraCost, man: Manoeuvre
) -> Pairs:
    """GNN of the leftovers with manoeuvre covariances."""
    p_hi = man.covariances(rows, x, scan.time_s)
    sub = _subscan(scan, cols)
    r, c, _, cost = gated_pairs(x[rows], p_hi, sub, gates, lambda rr, cc: extra(rows[rr], cols[cc]))
    take = solve(r, c, cost)
    return Pairs.of(rows[r[take]], cols[c[take]], p_hi[r[take]], True)


def _subscan(scan: Scan, cols: IntArray) -> Scan:
    """The scan restricted to some columns (for the second chance)."""
    return Scan(
        sensor_id=scan.sensor_id, kind=scan.kind, time_s=scan.time_s, obs=[scan.obs[i] for i in cols],
        delta_s=scan.delta_s[cols], dim=scan.dim[cols], polar=scan.polar[cols], z=scan.z[cols], r=scan.r[cols],
        site=scan.site[cols], convergence=scan.convergence[cols], scale=scan.scale[cols], xy=scan.xy[cols],
        xy_cov=scan.xy_cov[cols], vel=scan.vel[cols], vel_sd=scan.vel_sd[cols], vel_gate_sd=scan.vel_gate_sd[cols],
        keys=[scan.keys[i] for i in cols],
        mmsi=scan.mmsi[cols],
    )  # fmt: skip
