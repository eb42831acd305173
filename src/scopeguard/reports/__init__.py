"""Monthly client PDF reports: data, rendering, archive, email and the scheduled run.

- :mod:`~scopeguard.reports.data` — the report's figures from the metric facts
  (the domain's ``summarize`` at the month's end and the month before);
- :mod:`~scopeguard.reports.render` — Jinja templates to HTML, WeasyPrint to PDF;
- :mod:`~scopeguard.reports.service` — one client's report from the stored data;
- :mod:`~scopeguard.reports.archive` — the file store and the ``reports`` table;
- :mod:`~scopeguard.reports.mail` — emailing an archived report, once;
- :mod:`~scopeguard.reports.scheduled` — the monthly run the scheduler calls.
"""
