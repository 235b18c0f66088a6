"""The report as JSON, CSV and self-contained HTML (figures inline as PNG, no external URL).

CSV columns (one row per group x stage pair, in report order): ``group_kind`` (all, agency,
section, km_band, type, hour, shift, iso_week), ``group``, ``from_stage``, ``to_stage``,
``count``, ``median_s``, ``p90_s``, ``max_s`` (seconds with 3 decimals; empty when count is 0).
The CSV is unchanged by coverage over time: that is per day, not per group and stage pair, and is
in the JSON (``coverage``), the HTML and the PDF only.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from html import escape
from typing import Any

from sar.reports.model import (
    COVERAGE_NOTE,
    CSV_COLUMNS,
    GROUP_KINDS,
    PAIRS,
    SERVED_WITHIN_S,
    CoverageDay,
    ResponseTimeReport,
    StatRow,
    pair_name,
)
from sar.reports.plots import FIGURES, coverage_figure, map_figure, png

DEFINITIONS = (
    "Period: incidents opened (detected) from the first day 00:00 UTC to the end of the last day (UTC).",
    "A stage time is the first event of that stage of the incident; a pair counts the incidents that "
    "reached both stages (a negative difference, stages recorded out of order, is left out).",
    "Median and p90: numpy percentiles, linear interpolation between the sorted values (method 'linear').",
    "Agency: of the responding asset (the one on scene first, else the latest asset stage reached).",
    "Hour and shift: local time of detection, Europe/Chisinau; day shift 08:00-20:00, night 20:00-08:00.",
    "ISO week: of the UTC detection date. River km bands: 10 km per section.",
)


def duration(seconds: float | None) -> str:
    """A readable duration: seconds under 2 min, minutes under 2 h, else hours."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def to_json(report: ResponseTimeReport) -> bytes:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=1).encode("utf-8")


def to_csv(report: ResponseTimeReport) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in report.rows:
        secs = ["" if x is None else f"{x:.3f}" for x in (r.median_s, r.p90_s, r.max_s)]
        w.writerow([r.group_kind, r.group, r.from_stage, r.to_stage, r.count, *secs])
    return buf.getvalue()


def matrix(report: ResponseTimeReport, kind: str) -> tuple[list[str], list[list[StatRow]]]:
    """A group kind as groups x pairs (rows in report order)."""
    rows = report.select(kind)
    groups = list(dict.fromkeys(r.group for r in rows))
    by = {(r.group, r.from_stage, r.to_stage): r for r in rows}
    return groups, [[by[(g, a.value, b.value)] for a, b in PAIRS] for g in groups]


def _img(data: bytes, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}">'


def _table(report: ResponseTimeReport, kind: str) -> str:
    groups, cells = matrix(report, kind)
    head = "".join(f"<th>{escape(pair_name(p))}</th>" for p in PAIRS)
    body = []
    for g, row in zip(groups, cells):
        tds = "".join(
            f'<td title="max {escape(duration(r.max_s))}">{escape(duration(r.median_s))} / '
            f"{escape(duration(r.p90_s))}<small> n={r.count}</small></td>"
            for r in row
        )
        body.append(f"<tr><th>{escape(g)}</th>{tds}</tr>")
    return (
        f'<h3 id="{escape(kind)}">By {escape(kind.replace("_", " "))}</h3>'
        f"<table><thead><tr><th>{escape(kind)}</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _summary(report: ResponseTimeReport) -> str:
    rows = "".join(
        f"<tr><th>{escape(pair_name(p))}</th><td>{r.count}</td><td>{escape(duration(r.median_s))}</td>"
        f"<td>{escape(duration(r.p90_s))}</td><td>{escape(duration(r.max_s))}</td></tr>"
        for p, r in zip(PAIRS, report.select("all"))
    )
    return (
        "<table><thead><tr><th>stage pair</th><th>count</th><th>median</th><th>p90</th><th>max</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


def _service(report: ResponseTimeReport) -> str:
    rows = "".join(
        f"<tr><th>{escape(w.week)}</th><td>{w.incidents}</td><td>{w.on_scene}</td><td>{w.within}</td>"
        f"<td>{100.0 * w.within / w.incidents:.1f} %</td></tr>"
        for w in report.service
        if w.incidents
    )
    return (
        f"<table><thead><tr><th>ISO week</th><th>incidents</th><th>boat on scene</th>"
        f"<th>within {SERVED_WITHIN_S / 60:.0f} min</th><th>share</th></tr></thead><tbody>{rows}</tbody></table>"
    )


_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right;white-space:nowrap}
thead th{background:#f0f0f0}tbody th{text-align:left}small{color:#777}
img{max-width:100%;display:block;margin:.5em 0 1.5em}
"""


def _coverage(report: ResponseTimeReport) -> str:
    def cell(d: CoverageDay) -> str:
        if d.observed_s <= 0:
            return "<td>-</td><td>-</td><td>-</td>"
        worst = "unreachable" if d.unreachable else duration(d.worst_eta_s)
        return f"<td>{d.mean_gap_km:.2f}</td><td>{100.0 * (d.gap_share or 0.0):.1f} %</td><td>{escape(worst)}</td>"

    rows = "".join(
        f"<tr><th>{d.day.isoformat()}</th><td>{d.observed_s / 3600:.2f} h</td><td>{d.samples}</td>{cell(d)}</tr>"
        for d in report.coverage
    )
    return (
        "<table><thead><tr><th>UTC day</th><th>observed</th><th>samples</th><th>mean km in gaps</th>"
        f"<th>time with a gap</th><th>worst ETA</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def to_html(report: ResponseTimeReport, layers: dict[str, Any] | None = None) -> str:
    p = report.period
    figures = [_img(png(build(report)), title) for title, build in FIGURES]
    figures.append(_img(png(map_figure(report, layers)), "Map of the incidents"))
    types = ", ".join(f"{escape(k)} {v}" for k, v in sorted(report.by_type.items()))
    kinds = [k for k in GROUP_KINDS if k != "all"]
    nav = " | ".join(f'<a href="#{k}">{escape(k.replace("_", " "))}</a>' for k in kinds)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Response times {p.first_day} to {p.last_day}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Response times, {p.first_day} to {p.last_day}</h1>"
        f"<p>{report.incidents} incidents ({types}). Generated by Dniester Watch.</p>"
        f"<h2>All incidents</h2>{_summary(report)}{''.join(figures)}"
        f"<h2>Service by ISO week</h2>{_service(report)}"
        f"<h2>Coverage over time</h2>{_coverage(report)}{_img(png(coverage_figure(report)), 'Coverage over time')}"
        f"<h2>By group</h2><p>Each cell: median / p90 (n = count; hover for max). {nav}</p>"
        + "".join(_table(report, k) for k in kinds)
        + "<h2>Definitions</h2><ul>"
        + "".join(f"<li>{escape(d)}</li>" for d in DEFINITIONS)
        + f"<li>{escape(COVERAGE_NOTE[0].upper() + COVERAGE_NOTE[1:])}.</li>"
        + "<li>CSV: the stage statistics only; coverage over time is in the JSON, HTML and PDF.</li></ul></body></html>"
    )
