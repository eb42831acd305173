"""The Forge app's remote endpoints (``/forge/v1``), called from Jira through ``invokeRemote``.

Each call carries ``Authorization: Bearer <Forge Invocation Token>``; it is
verified on every call (:mod:`scopeguard.adapters.forge_token`) and the installation's
site must be one this ScopeGuard serves. Which project and issue the panel is
showing is read from the token's signed context, never from the request body
or query string: those come from the user's browser and could name any
project.

- ``GET|POST /forge/v1/project-summary`` — the scope summary of every client
  mapped to the token's Jira project (``jira:projectPage``).
- ``GET|POST /forge/v1/issue-trail`` — the token's issue: its revision rounds
  against the client's allowance (``jira:issuePanel``).

Refusals are JSON: 401 for a missing, forged, expired or foreign token, 403 for
a Jira site not configured, 404 for a project no client maps to, 503 when
Atlassian's signing keys cannot be fetched.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.blueprints import BlueprintSetupState

from scopeguard.adapters.charts import render_chart
from scopeguard.adapters.forge_token import ForgeTokenError, JwksUnavailableError
from scopeguard.bootstrap import Services
from scopeguard.config import ClientSettings
from scopeguard.domain.keys import project_of
from scopeguard.entrypoints.web.context import services
from scopeguard.entrypoints.web.panel import chart_cache, snapshot_stamp
from scopeguard.entrypoints.web.render_cache import RenderKey
from scopeguard.presentation.alert_messages import panel_url
from scopeguard.presentation.documents import error_document, trail_document
from scopeguard.presentation.forge_view import forge_risk
from scopeguard.presentation.i18n import normalize_language
from scopeguard.usecases.forge_access import ForgeAccess, ForgeGate, SiteNotAllowedError
from scopeguard.usecases.snapshots import Snapshot

log = logging.getLogger(__name__)

blueprint = Blueprint("forge", __name__, url_prefix="/forge/v1")

_GATE = "scopeguard.forge"


@blueprint.record_once
def _create_gate(state: BlueprintSetupState) -> None:
    # One gate (and so one JWKS cache) per app, built when the blueprint is registered.
    found: Services = state.app.extensions["scopeguard"]
    state.app.extensions[_GATE] = ForgeGate.for_settings(found.settings)


def forge_gate() -> ForgeGate | None:
    """The app's Forge gate, or ``None`` when ``forge:`` is not configured.

    Other blueprints (the panel) may use it to accept a Forge token too.
    """
    gate: ForgeGate | None = current_app.extensions.get(_GATE)
    return gate


def _error(status: int, error: str, message: str) -> Response:
    response = jsonify(error_document(error, message))
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = (
            'Bearer realm="scopeguard-forge", error="invalid_token"'
        )
    return response


@blueprint.before_request
def require_forge_token() -> Response | None:
    """Verify the Forge Invocation Token and the site; stores the access in ``g.forge``."""
    gate = forge_gate()
    if gate is None:
        return _error(404, "not_found", "the Forge app is not configured (forge: section)")
    try:
        g.forge = gate.authenticate(request.headers.get("Authorization"))
    except ForgeTokenError as exc:
        # The reason is logged for the operator; the caller learns only that it failed.
        log.info("Forge call refused: %s", exc.reason)
        return _error(401, "unauthorized", "missing or invalid Forge invocation token")
    except SiteNotAllowedError as exc:
        log.warning("Forge call refused: %s", exc)
        return _error(403, "forbidden", "this Jira site is not connected to ScopeGuard")
    except JwksUnavailableError as exc:
        log.error("Forge call not verifiable: %s", exc)
        return _error(503, "unavailable", "cannot verify the Forge token right now")
    return None


@blueprint.after_request
def _no_store(response: Response) -> Response:
    # Per-user, per-project data: never cached by a proxy between Forge and us.
    response.headers["Cache-Control"] = "no-store"
    return response


def _access() -> ForgeAccess:
    access: ForgeAccess = g.forge
    return access


def _project_key(access: ForgeAccess) -> str | None:
    context = access.context
    if context.project_key:
        return context.project_key
    # An issue key names its project: ABC-12 is in ABC.
    return project_of(context.issue_key)


def _clients_or_error(access: ForgeAccess) -> tuple[str, list[ClientSettings]] | Response:
    project = _project_key(access)
    if project is None:
        return _error(400, "bad_request", "the invocation carries no Jira project")
    clients = access.clients_for_project(project)
    if not clients:
        return _error(404, "not_found", f"no ScopeGuard client for Jira project {project}")
    return project, clients


@blueprint.route("/project-summary", methods=["GET", "POST"])
def project_summary() -> Response:
    """Every client mapped to the token's project, with its summary (the API's JSON)."""
    found = _clients_or_error(_access())
    if isinstance(found, Response):
        return found
    project, clients = found
    analysis = services().analysis
    settings = services().settings
    forge = settings.forge
    show_risk = forge is not None and forge.show_risk
    risks = services().risk.current() if show_risk else {}
    entries = []
    for client in clients:
        snapshot = analysis.snapshot(client)
        stored = risks.get(client.key)
        entries.append(
            {
                "key": client.key,
                "name": client.name,
                "dashboard_url": panel_url(settings, client.key),
                "summary": snapshot.summary_document,
                # Inlined by the app: no image permission needed inside Jira.
                "creep_chart_svg": _creep_svg(client, snapshot),
                "risk": None if stored is None else forge_risk(stored.document),
            }
        )
    body: dict[str, Any] = {"project": project, "show_risk": show_risk, "clients": entries}
    return jsonify(body)


def _creep_svg(client: ClientSettings, snapshot: Snapshot) -> str:
    """The headline unit's creep-over-time chart as SVG text, cached per snapshot."""
    unit = snapshot.summary.scope.unit
    language = normalize_language(client.contract.report.language)
    what = ("creep", language, "svg", unit)
    body = chart_cache().get_or_render(
        RenderKey(client.key, snapshot_stamp(snapshot), what),
        lambda: render_chart("creep", snapshot.figures, language=language, fmt="svg", unit=unit),
    )
    return body.decode("utf-8")


@blueprint.route("/issue-trail", methods=["GET", "POST"])
def issue_trail() -> Response:
    """The token's issue: revision rounds and reopens against the client's allowance."""
    access = _access()
    issue_key = access.context.issue_key
    if issue_key is None:
        return _error(400, "bad_request", "the invocation carries no Jira issue")
    found = _clients_or_error(access)
    if isinstance(found, Response):
        return found
    project, clients = found
    analysis = services().analysis
    for client in clients:
        trail = analysis.issue_trail(client, issue_key)
        if trail is None:
            continue
        rounds = len(trail.rounds)
        allowance = trail.revisions_per_issue
        return jsonify(
            project=project,
            issue=issue_key,
            tracked=True,
            client={
                "key": client.key,
                "name": client.name,
                "dashboard_url": panel_url(services().settings, client.key),
            },
            rounds=rounds,
            allowance=allowance,
            over_limit=rounds > allowance,
            trail=trail_document(trail, services().settings.agency.zone),
        )
    # The project is mapped, but this issue is outside every client's scope (or
    # not synced yet): a normal state for the panel to show, not an error.
    return jsonify(
        project=project,
        issue=issue_key,
        tracked=False,
        clients=[{"key": c.key, "name": c.name} for c in clients],
    )
