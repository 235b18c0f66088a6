"""Kalman filter maths in the metric CRS, vectorised over many tracks (or track-measurement pairs).

State ``[x, y, vx, vy]`` (m, m/s), nearly constant velocity: continuous white acceleration noise
of spectral density ``q = accel_sd**2`` (per second; one per track), so predicting in two steps
equals one step.
Measurements: a position (linear), or range and true bearing from a sensor site (extended Kalman,
linearised at the prediction), or a bearing alone. Bearings are radians, clockwise from true north;
a site's meridian convergence (grid azimuth of true north) and scale turn them to the grid.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.stats import chi2

Array = NDArray[np.float64]

MIN_RANGE_M = 1.0  # a target on the site itself has no bearing: clamp the range there


def chi2_gate(probability: float, dim: int) -> float:
    """Squared Mahalanobis distance below which ``probability`` of true measurements fall."""
    return float(chi2.ppf(probability, dim))


def wrap_pi(angle_rad: Array) -> Array:
    """Angles in [-pi, pi)."""
    return np.asarray((angle_rad + math.pi) % (2.0 * math.pi) - math.pi, dtype=float)


def predict(x: Array, p: Array, dt_s: Array, q: Array | float) -> tuple[Array, Array]:
    """States ``x`` [n,4] and covariances ``p`` [n,4,4] moved ahead by ``dt_s`` [n] (>= 0) with
    noise densities ``q`` (m^2/s^3, one or [n])."""
    dt = dt_s[:, None, None]
    qn = np.broadcast_to(np.asarray(q, dtype=float), dt_s.shape)[:, None, None]
    x2 = x.copy()
    x2[:, :2] += dt_s[:, None] * x[:, 2:]
    ppp, ppv, pvp, pvv = p[:, :2, :2], p[:, :2, 2:], p[:, 2:, :2], p[:, 2:, 2:]
    eye = np.eye(2)
    p2 = np.empty_like(p)
    p2[:, :2, :2] = ppp + dt * (ppv + pvp) + dt * dt * pvv + (qn * dt**3 / 3.0) * eye
    p2[:, :2, 2:] = ppv + dt * pvv + (qn * dt**2 / 2.0) * eye
    p2[:, 2:, :2] = np.swapaxes(p2[:, :2, 2:], 1, 2)
    p2[:, 2:, 2:] = pvv + (qn * dt) * eye
    return x2, p2


def shifted_position(x: Array, p: Array, delta_s: Array) -> tuple[Array, Array]:
    """Position [m,2] and its covariance [m,2,2] ``delta_s`` [m] after the states (no process noise:
    ``delta_s`` is a fraction of a scan window)."""
    d = delta_s[:, None, None]
    pos = x[:, :2] + delta_s[:, None] * x[:, 2:]
    cov = p[:, :2, :2] + d * (p[:, :2, 2:] + p[:, 2:, :2]) + d * d * p[:, 2:, 2:]
    return pos, cov


def shift_jacobian(delta_s: Array) -> Array:
    """d(position at +delta)/d(state): ``[I, delta I]`` [m,2,4]."""
    j = np.zeros((len(delta_s), 2, 4))
    j[:, 0, 0] = j[:, 1, 1] = 1.0
    j[:, 0, 2] = j[:, 1, 3] = delta_s
    return j


def polar(pos: Array, site: Array, convergence_rad: Array, scale: Array) -> tuple[Array, Array]:
    """Predicted (range m, true bearing rad) [m,2] of positions from sites, and the Jacobian
    d(range, bearing)/d(position) [m,2,2]. Grid distances are ``scale`` times true ones."""
    dx, dy = pos[:, 0] - site[:, 0], pos[:, 1] - site[:, 1]
    rho2 = np.maximum(dx * dx + dy * dy, MIN_RANGE_M**2)
    rho = np.sqrt(rho2)
    h = np.stack([rho / scale, np.arctan2(dx, dy) - convergence_rad], axis=1)
    g = np.empty((len(rho), 2, 2))
    g[:, 0, 0], g[:, 0, 1] = dx / (rho * scale), dy / (rho * scale)
    g[:, 1, 0], g[:, 1, 1] = dy / rho2, -dx / rho2
    return h, g


def polar_to_xy(
    site: Array, range_m: Array, bearing_rad: Array, convergence_rad: Array, scale: Array, cov_rb: Array
) -> tuple[Array, Array]:
    """Positions [m,2] and their covariances [m,2,2] of (range, true bearing) measurements with
    covariance ``cov_rb`` [m,2,2] (the inverse of :func:`polar`, linearised)."""
    az = bearing_rad + convergence_rad
    rho = range_m * scale
    s, c = np.sin(az), np.cos(az)
    pos = site + np.stack([rho * s, rho * c], axis=1)
    j = np.empty((len(rho), 2, 2))
    j[:, 0, 0], j[:, 0, 1] = scale * s, rho * c
    j[:, 1, 0], j[:, 1, 1] = scale * c, -rho * s
    return pos, j @ cov_rb @ np.swapaxes(j, 1, 2)


def inv2(m: Array) -> tuple[Array, Array]:
    """Inverses and determinants of 2x2 matrices [m,2,2] (closed form)."""
    a, b, c, d = m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1]
    det = a * d - b * c
    inv = np.stack([np.stack([d, -b], axis=1), np.stack([-c, a], axis=1)], axis=1) / det[:, None, None]
    return inv, det


def joint_mahalanobis(y: Array, yv: Array, s: Array, c: Array, sv: Array) -> tuple[Array, Array]:
    """Squared Mahalanobis distance and log det of the joint innovation (``y`` [m,2], ``yv`` [m,2])
    with covariance blocks ``s`` (of y), ``c`` (cross) and ``sv`` (of yv), all [m,2,2]: by the
    Schur complement, in closed form. A component that does not count has zero innovation, unit
    variance and no cross terms."""
    sv_inv, sv_det = inv2(sv)
    gain = c @ sv_inv
    schur_inv, schur_det = inv2(s - gain @ np.swapaxes(c, 1, 2))
    r = y - (gain @ yv[:, :, None])[:, :, 0]
    d2 = (yv * (sv_inv @ yv[:, :, None])[:, :, 0]).sum(axis=1) + (r * (schur_inv @ r[:, :, None])[:, :, 0]).sum(axis=1)
    return d2, np.log(sv_det) + np.log(schur_det)


def update(x: Array, p: Array, y: Array, h: Array, r: Array) -> tuple[Array, Array, Array]:
    """Kalman update of states [m,4] with innovations ``y`` [m,d], measurement Jacobians ``h``
    [m,d,4] and noise ``r`` [m,d,d]; Joseph form, so covariances stay symmetric and positive.
    Also returns each innovation's squared Mahalanobis distance [m]."""
    ht = np.swapaxes(h, 1, 2)
    s = h @ p @ ht + r
    d2 = (y * np.linalg.solve(s, y[:, :, None])[:, :, 0]).sum(axis=1)
    k = np.swapaxes(np.linalg.solve(s, h @ p), 1, 2)  # P H' S^-1, from S symmetric
    x2 = x + (k @ y[:, :, None])[:, :, 0]
    ikh = np.eye(4) - k @ h
    p2 = ikh @ p @ np.swapaxes(ikh, 1, 2) + k @ r @ np.swapaxes(k, 1, 2)
    return x2, 0.5 * (p2 + np.swapaxes(p2, 1, 2)), d2


def position_sd(p: Array) -> Array:
    """Square root of the larger eigenvalue of each position covariance [n] (closed form, 2x2)."""
    a, b, c = p[:, 0, 0], p[:, 0, 1], p[:, 1, 1]
    half_tr = 0.5 * (a + c)
    return np.asarray(np.sqrt(half_tr + np.sqrt(np.maximum(0.25 * (a - c) ** 2 + b * b, 0.0))), dtype=float)
