"""PDF reports: Jinja templates to HTML, WeasyPrint to PDF, fonts embedded."""
