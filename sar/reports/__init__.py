"""Response-time reports: stage times from the database, statistics per group, four formats.

- :mod:`sar.reports.period`: the period (whole UTC days, at most 400) and ``ReportError``;
- :mod:`sar.reports.model`: the definitions and the report's types;
- :mod:`sar.reports.query` + :mod:`sar.reports.compute`: ``compute_report(engine, period)``;
- :mod:`sar.reports.coverage`: coverage over time per UTC day from the coverage samples;
- :mod:`sar.reports.output`: ``render(report, "json" | "csv" | "html" | "pdf", layers)``;
- :mod:`sar.reports.command`: ``dwatch report`` and ``dwatch history``.

Kept free of imports so that the command line loads matplotlib only when it draws.
"""

import logging

# Set before matplotlib is imported: a fresh install builds matplotlib's font cache and looks up
# fonts it lacks (STIX), and those warnings are not the user's business on a report's stderr
# (the DejaVu fallback draws every label).
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
