"""The report's figures, drawn with matplotlib's object API on the Agg canvas (no pyplot state,
safe in the server's worker threads): stage times, weekly trend, hour of day, service by week,
and a map of the incidents over the river axis, border and countries from the ``geo`` layers."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sar.reports.model import (
    DAY_SHIFT_HOURS,
    PAIRS,
    SERVED_WITHIN_S,
    TOTAL,
    ResponseTimeReport,
    pair_name,
)
from sar.store.schema import Stage

ACK = (Stage.ALERTED, Stage.ACKNOWLEDGED)
TYPE_COLOURS = {
    "border_crossing": "#d62728",
    "person_in_water": "#1f77b4",
    "rendezvous": "#9467bd",
    "loitering": "#ff7f0e",
    "dark_target": "#2f2f2f",
    "manual": "#2ca02c",
}


def figure(
    width_in: float = 10.0, height_in: float = 4.5, layout: Literal["constrained"] | None = "constrained"
) -> Figure:
    fig = Figure(figsize=(width_in, height_in), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def png(fig: Figure, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _no_data(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} in this period", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def stages_figure(report: ResponseTimeReport) -> Figure:
    """Median and p90 of every stage pair over all incidents (log scale: seconds to hours)."""
    fig = figure(10.0, 4.5)
    ax = fig.subplots()
    rows = report.select("all")
    if not any(r.count for r in rows):
        _no_data(ax, "stage times")
        return fig
    y = np.arange(len(rows))
    med = [r.median_s or np.nan for r in rows]
    p90 = [r.p90_s or np.nan for r in rows]
    ax.barh(y - 0.2, med, height=0.4, label="median", color="#1f77b4")
    ax.barh(y + 0.2, p90, height=0.4, label="p90", color="#ff7f0e")
    ax.set_yticks(y, [f"{pair_name(p)} (n={r.count})" for p, r in zip(PAIRS, rows)])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("seconds (log scale)")
    ax.set_title("Response time per stage, all incidents")
    ax.legend(loc="lower right")
    ax.grid(axis="x", which="both", alpha=0.3)
    return fig


def _series(report: ResponseTimeReport, kind: str, pair: tuple[Stage, Stage], scale: float) -> tuple[Any, ...]:
    rows = [r for r in report.select(kind, pair)]
    labels = [r.group for r in rows]
    med = np.array([np.nan if r.median_s is None else r.median_s / scale for r in rows])
    p90 = np.array([np.nan if r.p90_s is None else r.p90_s / scale for r in rows])
    return labels, med, p90


def _lines(ax: Axes, labels: list[str], med: Any, p90: Any, unit: str, title: str, every: int) -> None:
    x = np.arange(len(labels))
    ax.plot(x, med, marker=".", label="median")
    ax.plot(x, p90, marker=".", label="p90")
    ax.set_xticks(x[::every], labels[::every], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")


def trend_figure(report: ResponseTimeReport) -> Figure:
    """Median and p90 per ISO week: detection to on scene, and alert to acknowledgement."""
    fig = figure(10.0, 6.5)
    top, bottom = fig.subplots(2, 1)
    labels, med, p90 = _series(report, "iso_week", TOTAL, 60.0)
    if not labels:
        _no_data(top, "incidents")
        _no_data(bottom, "incidents")
        return fig
    every = max(1, math.ceil(len(labels) / 26))
    _lines(top, labels, med, p90, "minutes", f"{pair_name(TOTAL)} by ISO week (UTC)", every)
    labels, med, p90 = _series(report, "iso_week", ACK, 1.0)
    _lines(bottom, labels, med, p90, "seconds", f"{pair_name(ACK)} by ISO week (UTC)", every)
    return fig


def hours_figure(report: ResponseTimeReport) -> Figure:
    """By local hour of detection, 00-23 (night shift shaded): acknowledgement and total time."""
    fig = figure(10.0, 6.5)
    axes = fig.subplots(2, 1)
    hours = [f"{h:02d}" for h in range(24)]
    for ax, pair, scale, unit in ((axes[0], ACK, 1.0, "seconds"), (axes[1], TOTAL, 60.0, "minutes")):
        labels, med, p90 = _series(report, "hour", pair, scale)
        if not labels:
            _no_data(ax, "incidents")
            continue
        at = {label: k for k, label in enumerate(labels)}
        full_med = np.array([med[at[h]] if h in at else np.nan for h in hours])
        full_p90 = np.array([p90[at[h]] if h in at else np.nan for h in hours])
        title = f"{pair_name(pair)} by local hour of detection (Europe/Chisinau)"
        _lines(ax, hours, full_med, full_p90, unit, title, 1)
        for h in range(24):
            if not DAY_SHIFT_HOURS[0] <= h < DAY_SHIFT_HOURS[1]:
                ax.axvspan(h - 0.5, h + 0.5, color="#000080", alpha=0.06, lw=0)
    return fig


def service_figure(report: ResponseTimeReport) -> Figure:
    """Incidents per week and the share with a boat on scene within SERVED_WITHIN_S."""
    fig = figure(10.0, 4.0)
    ax = fig.subplots()
    weeks = report.service
    if not weeks:
        _no_data(ax, "incidents")
        return fig
    x = np.arange(len(weeks))
    ax.bar(x, [w.incidents for w in weeks], color="#c7c7c7", label="incidents")
    ax.set_ylabel("incidents per week")
    share = ax.twinx()
    share.plot(x, [100.0 * w.within / w.incidents if w.incidents else np.nan for w in weeks], color="#2ca02c")
    share.set_ylim(0, 100)
    share.set_ylabel(f"% on scene within {SERVED_WITHIN_S / 60:.0f} min")
    every = max(1, math.ceil(len(weeks) / 26))
    ax.set_xticks(x[::every], [w.week for w in weeks][::every], rotation=45, ha="right", fontsize=8)
    ax.set_title(f"Service by ISO week: share of incidents with a boat on scene within {SERVED_WITHIN_S / 60:.0f} min")
    return fig


def coverage_axes(ax: Axes, report: ResponseTimeReport) -> None:
    """Per UTC day: mean river km in gaps (bars), share of time with a gap and worst ETA (lines)."""
    days = [d for d in report.coverage if d.observed_s > 0]
    if not days:
        _no_data(ax, "coverage samples")
        return
    x = np.arange(len(days))
    ax.bar(x, [d.mean_gap_km or 0.0 for d in days], color="#c7c7c7", label="mean km in gaps")
    ax.set_ylabel("mean river km in gaps")
    share = ax.twinx()
    share.plot(x, [100.0 * (d.gap_share or 0.0) for d in days], color="#d62728", label="% of time with a gap")
    worst = [np.nan if d.worst_eta_s is None else d.worst_eta_s / 60.0 for d in days]
    share.plot(x, worst, color="#1f77b4", marker=".", label="worst ETA (min)")
    share.set_ylabel("% of time with a gap / worst ETA (min)")
    share.legend(loc="upper right", fontsize=8)
    every = max(1, math.ceil(len(days) / 31))
    ax.set_xticks(x[::every], [d.day.isoformat() for d in days][::every], rotation=45, ha="right", fontsize=8)
    ax.set_title("Coverage over time by UTC day (days without samples left out)")


def coverage_figure(report: ResponseTimeReport) -> Figure:
    fig = figure(10.0, 4.0)
    coverage_axes(fig.subplots(), report)
    return fig


def map_figure(report: ResponseTimeReport, layers: dict[str, Any] | None) -> Figure:
    """Incidents by type over the countries, the border and the river axis (lon/lat, no tiles):
    one panel per river section (they lie 200 km apart), or one over the incidents without layers."""
    fig = figure(11.0, 6.5)
    pts = report.points
    axes_lines = _coords(layers, "river_axis") or [np.column_stack([pts.lon, pts.lat])]
    panels = fig.subplots(1, len(axes_lines), squeeze=False)[0]
    names = [f["properties"].get("section", "") for f in (layers or {}).get("river_axis", {}).get("features", [])]
    for k, (ax, line) in enumerate(zip(panels, axes_lines)):
        if layers is not None:
            _draw_layers(ax, layers)
        for kind in sorted(set(pts.type.tolist())):
            m = pts.type == kind
            ax.scatter(pts.lon[m], pts.lat[m], s=4, alpha=0.5, lw=0, color=TYPE_COLOURS.get(kind, "#7f7f7f"),
                       label=f"{kind} ({int(m.sum())})", rasterized=True, zorder=3)  # fmt: skip
        if line.size:
            pad = 0.04
            ax.set_xlim(float(np.nanmin(line[:, 0])) - pad, float(np.nanmax(line[:, 0])) + pad)
            ax.set_ylim(float(np.nanmin(line[:, 1])) - pad, float(np.nanmax(line[:, 1])) + pad)
            ax.set_aspect(1.0 / math.cos(math.radians(float(np.nanmean(line[:, 1])))))
        ax.set_title(f"{names[k]} section" if k < len(names) else "incidents", fontsize=10)
        ax.tick_params(labelsize=7)
    if len(pts.lon):
        panels[0].legend(loc="lower left", fontsize=7, markerscale=3)
    p = report.period
    fig.suptitle(f"Incidents {p.first_day} to {p.last_day} ({len(pts.lon)}); longitude / latitude")
    if layers is not None:
        fig.text(0.01, 0.005, str(layers.get("attribution", "")), fontsize=6, color="#555555")
    return fig


def _parts(geometry: dict[str, Any]) -> list[np.ndarray]:
    """The lines (or polygon rings) of a GeoJSON geometry as (n, 2) arrays of lon/lat."""
    kind, c = geometry.get("type"), geometry.get("coordinates", [])
    parts = {"LineString": [c], "MultiLineString": c, "Polygon": c}.get(str(kind), [])
    if kind == "MultiPolygon":
        parts = [ring for poly in c for ring in poly]
    return [np.asarray(p, dtype=float) for p in parts if len(p)]


def _coords(layers: dict[str, Any] | None, name: str) -> list[np.ndarray]:
    return [p for f in (layers or {}).get(name, {}).get("features", []) for p in _parts(f.get("geometry") or {})]


def _draw_layers(ax: Axes, layers: dict[str, Any]) -> None:
    fills = {"MD": "#fff7e0", "UA": "#e8f0ff"}
    for f in layers.get("countries", {}).get("features", []):
        for ring in _parts(f.get("geometry") or {}):
            ax.fill(ring[:, 0], ring[:, 1], color=fills.get(f["properties"].get("iso2"), "#f0f0f0"), lw=0, zorder=0)
    for line in _coords(layers, "border"):
        ax.plot(line[:, 0], line[:, 1], color="#888888", lw=0.6, ls="--", zorder=1)
    for line in _coords(layers, "river_axis"):
        ax.plot(line[:, 0], line[:, 1], color="#4a90d9", lw=1.2, zorder=1)
    towns = [f for f in layers.get("places", {}).get("features", []) if f["properties"].get("kind") == "town"]
    for f in towns:
        lon, lat = f["geometry"]["coordinates"][:2]
        ax.plot(lon, lat, marker="s", ms=2, color="#555555", zorder=2)


FIGURES: tuple[tuple[str, Callable[[ResponseTimeReport], Figure]], ...] = (
    ("Stage times", stages_figure),
    ("Trend by week", trend_figure),
    ("Hour of day", hours_figure),
    ("Service by week", service_figure),
)
