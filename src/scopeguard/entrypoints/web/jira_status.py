"""``/admin/jira``: the status page of ScopeGuard's Jira access (admins only).

The same checks as ``scopeguard doctor`` (:mod:`scopeguard.usecases.doctor`), run
when the page is opened: connectivity, sign-in, each permission the sync uses,
and every client's JQL, each with the configuration key to fix.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from werkzeug.wrappers import Response as BaseResponse

from scopeguard.entrypoints.web import auth
from scopeguard.entrypoints.web.context import services
from scopeguard.usecases.doctor import diagnose

blueprint = Blueprint("jira_status", __name__)


@blueprint.before_request
def _signed_in() -> BaseResponse | None:
    return auth.require_panel_access()


@blueprint.get("/admin/jira")
@auth.admin_only
def jira_status() -> tuple[str, int]:
    """Every check, one row each; 503 when one failed (a monitor can watch the page)."""
    app = services()
    diagnosis = diagnose(app.settings, app.jira.transport)
    body = render_template("panel/jira_status.html", diagnosis=diagnosis)
    return body, 200 if diagnosis.ok else 503
