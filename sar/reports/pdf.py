"""The report as a PDF (matplotlib's PdfPages): a summary page, the figures, the map, coverage
over time (plot and days), and one table per group kind (median / p90 and count per stage pair),
split over landscape A4 pages."""

from __future__ import annotations

import io
from typing import Any

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from sar.reports.formats import DEFINITIONS, duration, matrix
from sar.reports.model import COVERAGE_NOTE, GROUP_KINDS, PAIRS, ResponseTimeReport, StatRow, pair_name
from sar.reports.plots import FIGURES, coverage_axes, figure, map_figure

A4_LANDSCAPE_IN = (11.69, 8.27)
ROWS_PER_PAGE = 24
CELL = 22  # characters per pair column


def _page() -> Figure:
    return figure(*A4_LANDSCAPE_IN, layout=None)  # tables place themselves; a layout engine only costs time


def _summary_page(report: ResponseTimeReport) -> Figure:
    fig = _page()
    p = report.period
    fig.suptitle(f"Response times, {p.first_day} to {p.last_day}", fontsize=16)
    top, bottom = fig.subplots(2, 1, height_ratios=[1.2, 1])
    top.axis("off")
    rows = [
        [pair_name(pr), str(r.count), duration(r.median_s), duration(r.p90_s), duration(r.max_s)]
        for pr, r in zip(PAIRS, report.select("all"))
    ]
    table = top.table(cellText=rows, colLabels=["stage pair", "count", "median", "p90", "max"], loc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1.0, 1.3)
    types = ", ".join(f"{k} {v}" for k, v in sorted(report.by_type.items()))
    top.set_title(f"{report.incidents} incidents ({types})", fontsize=10)
    bottom.axis("off")
    notes = [*DEFINITIONS, COVERAGE_NOTE[0].upper() + COVERAGE_NOTE[1:] + "."]
    bottom.text(0, 1, "\n".join(f"- {n}" for n in notes), va="top", fontsize=8, wrap=True)
    return fig


def _coverage_page(report: ResponseTimeReport) -> Figure:
    """The coverage plot, and the days as text (the first ``ROWS_PER_PAGE``; the rest in JSON/HTML)."""
    fig = _page()
    top, bottom = fig.subplots(2, 1, height_ratios=[1.2, 1])
    coverage_axes(top, report)
    bottom.axis("off")
    lines = [f"{'UTC day':<12}{'observed':>10}{'samples':>9}{'km in gaps':>12}{'with a gap':>12}{'worst ETA':>14}"]
    for d in report.coverage[:ROWS_PER_PAGE]:
        if d.observed_s <= 0:
            lines.append(f"{d.day.isoformat():<12}{'-':>10}{d.samples:>9}{'-':>12}{'-':>12}{'-':>14}")
            continue
        worst = "unreachable" if d.unreachable else duration(d.worst_eta_s)
        lines.append(
            f"{d.day.isoformat():<12}{d.observed_s / 3600:>8.2f} h{d.samples:>9}{d.mean_gap_km or 0.0:>12.2f}"
            f"{100.0 * (d.gap_share or 0.0):>10.1f} %{worst:>14}"
        )
    if len(report.coverage) > ROWS_PER_PAGE:
        lines.append(f"... {len(report.coverage) - ROWS_PER_PAGE} more days in the JSON and HTML reports")
    bottom.text(0, 1, "\n".join(lines), va="top", family="monospace", fontsize=6.5, linespacing=1.4)
    return fig


def _table_pages(report: ResponseTimeReport, kind: str) -> list[Figure]:
    """Groups x pairs as monospaced text (a matplotlib table costs ~20 ms a row to draw)."""
    groups, cells = matrix(report, kind)
    width = max([len(kind), *(len(g) for g in groups)]) + 1
    heads = [pair_name(p).split("->") for p in PAIRS]
    header = [
        kind.ljust(width) + "".join(f"{a:>{CELL}}" for a, _ in heads),
        " " * width + "".join(f"{'-> ' + b:>{CELL}}" for _, b in heads),
    ]
    pages = []
    for first in range(0, max(len(groups), 1), ROWS_PER_PAGE):
        fig = _page()
        lines = [*header, "-" * (width + CELL * len(PAIRS))]
        for g in range(first, min(first + ROWS_PER_PAGE, len(groups))):
            lines.append(groups[g].ljust(width) + "".join(f"{_cell(r):>{CELL}}" for r in cells[g]))
            lines.append(" " * width + "".join(f"{'n=' + str(r.count):>{CELL}}" for r in cells[g]))
        title = f"By {kind.replace('_', ' ')}: median / p90, count" + (" (continued)" if first else "")
        fig.text(0.04, 0.94, title, fontsize=12)
        fig.text(0.04, 0.90, "\n".join(lines) if groups else "no incidents", family="monospace", fontsize=6.5,
                 va="top", linespacing=1.5)  # fmt: skip
        pages.append(fig)
    return pages


def _cell(r: StatRow) -> str:
    return f"{duration(r.median_s)} / {duration(r.p90_s)}"


def to_pdf(report: ResponseTimeReport, layers: dict[str, Any] | None = None) -> bytes:
    buf = io.BytesIO()
    p = report.period
    with PdfPages(buf, metadata={"Title": f"Response times {p.first_day} to {p.last_day}"}) as pdf:
        pdf.savefig(_summary_page(report))
        for _title, build in FIGURES:
            pdf.savefig(build(report))
        pdf.savefig(map_figure(report, layers))
        pdf.savefig(_coverage_page(report))
        for kind in GROUP_KINDS[1:]:
            for page in _table_pages(report, kind):
                pdf.savefig(page)
    return buf.getvalue()
