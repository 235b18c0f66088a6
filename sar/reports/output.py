"""One entry for every format: :func:`render`."""

from __future__ import annotations

from typing import Any

from sar.reports.formats import to_csv, to_html, to_json
from sar.reports.model import FORMATS, ResponseTimeReport
from sar.reports.pdf import to_pdf
from sar.reports.period import ReportError


def render(report: ResponseTimeReport, fmt: str, layers: dict[str, Any] | None = None) -> bytes:
    """The report in a format of FORMATS; ``layers`` (``geo.layers.build_layers``) draw the map
    of the HTML and PDF reports (without them the map has no river)."""
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return to_csv(report).encode("utf-8")
    if fmt == "html":
        return to_html(report, layers).encode("utf-8")
    if fmt == "pdf":
        return to_pdf(report, layers)
    raise ReportError(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")
