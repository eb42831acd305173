"""Archived monthly reports on the web: the PDF download and the list of a client's reports.

- ``/clients/<key>/reports/<YYYY-MM>.pdf`` — the archived PDF (``?download=1`` to save it).
- ``/clients/<key>/reports.json`` — the client's reports, newest month first.

Both are behind the panel's access check (:mod:`scopeguard.entrypoints.web.auth`). The
panel lists the reports with :func:`scopeguard.adapters.store.report_archive.list_reports`.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request
from werkzeug.wrappers import Response as BaseResponse

from scopeguard.adapters.store.report_archive import find_report, list_reports, read_report
from scopeguard.domain.month import Month
from scopeguard.entrypoints.web import auth
from scopeguard.entrypoints.web.context import client_or_404, services

blueprint = Blueprint("reports", __name__)


@blueprint.before_request
def require_access() -> BaseResponse | None:
    """The same sign-in as the panel."""
    return auth.require_panel_access()


@blueprint.get("/clients/<key>/reports/<month>.pdf")
@auth.admin_only
def report_pdf(key: str, month: str) -> BaseResponse:
    """One archived report as a PDF: an export, so admins only, and audited."""
    client = client_or_404(key)
    try:
        wanted = Month.parse(month)
    except ValueError:
        abort(404)
    settings = services().settings
    with services().database.session() as session:
        row = find_report(session, client.key, wanted)
    if row is None:
        abort(404, description=f"no report of {client.key} for {wanted}")
    try:
        content = read_report(settings, row)
    except FileNotFoundError:
        abort(404, description=f"the file of the report of {client.key} for {wanted} is missing")
    who = auth.principal()
    services().people.record(
        "export.report",
        actor=who.username if who is not None else None,
        target=client.key,
        detail=f"{wanted} {'download' if request.args.get('download') else 'view'}",
        address=request.remote_addr,
    )
    response = Response(content, mimetype="application/pdf")
    disposition = "attachment" if request.args.get("download") else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{client.key}-{wanted}.pdf"'
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(row.sha256)
    return response.make_conditional(request)


@blueprint.get("/clients/<key>/reports.json")
def report_list(key: str) -> Response:
    """The client's archived reports."""
    client = client_or_404(key)
    with services().database.session() as session:
        reports = list_reports(session, client.key)
    return jsonify([report.to_dict() for report in reports])
