"""The JSON API (``/api/v1``): clients, summaries, daily series, evidence trails, and the
OpenAPI document that describes them (``/api/v1/openapi.json``)."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from functools import cache

from flask import Blueprint, Response, abort, jsonify, request
from werkzeug.exceptions import HTTPException

from scopeguard import __version__
from scopeguard.entrypoints.web import auth
from scopeguard.entrypoints.web.context import client_or_404, services
from scopeguard.presentation.documents import client_entries, error_document, trail_document
from scopeguard.presentation.openapi import openapi_document

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


@blueprint.before_request
def require_token() -> Response | None:
    """Every API call needs a principal: a personal token, a session, or open mode."""
    who = auth.principal()
    if who is None:
        response = jsonify(error_document("unauthorized", "missing or wrong API token"))
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="scopeguard"'
        return response
    if who.read_only and request.method not in ("GET", "HEAD"):
        abort(403, description="API tokens may only read")
    return None


@blueprint.errorhandler(HTTPException)
def json_error(error: HTTPException) -> tuple[Response, int]:
    """API errors are JSON too, never an HTML page."""
    code = error.code or 500
    name = error.name.lower().replace(" ", "_")
    return jsonify(error_document(name, error.description or "")), code


def _json_bytes(plain: bytes, compressed: Callable[[], bytes]) -> Response:
    """A JSON body encoded ahead of time, gzip-compressed when the client accepts it.

    A 20,000-issue summary is about a megabyte of JSON; compressing it once per
    snapshot instead of per response keeps the endpoint cheap under load.
    """
    response = Response(mimetype="application/json")
    response.vary.add("Accept-Encoding")
    if request.accept_encodings.quality("gzip") > 0:
        response.set_data(compressed())
        response.headers["Content-Encoding"] = "gzip"
    else:
        response.set_data(plain)
    return response


@blueprint.get("/clients")
def clients() -> Response:
    """Every configured client with its health."""
    analysis = services().analysis
    figures = [
        analysis.snapshot(client).figures
        for client in services().settings.clients
        if auth.can_see(client.key)  # a pm's token lists only their clients
    ]
    # Risk is internal: only an admin sees the scores; everyone else gets null.
    who = auth.principal()
    scores = services().risk.scores() if who is not None and who.is_admin else None
    return jsonify(client_entries(figures, scores))


@blueprint.get("/clients/<key>/summary")
def summary(key: str) -> Response:
    """Where the client's contract stands now."""
    snapshot = services().analysis.snapshot(client_or_404(key))
    return _json_bytes(snapshot.summary_json, lambda: snapshot.summary_json_gzip)


@blueprint.get("/clients/<key>/timeseries")
def timeseries(key: str) -> Response:
    """The daily series from contract start to today (or contract end)."""
    snapshot = services().analysis.snapshot(client_or_404(key))
    return _json_bytes(snapshot.series_json, lambda: snapshot.series_json_gzip)


@blueprint.get("/clients/<key>/risk")
@auth.admin_only
def risk(key: str) -> Response:
    """The client's risk: score, verdict, signals with their events, the weekly series."""
    client = client_or_404(key)
    stored = services().risk.current().get(client.key)
    if stored is None:
        abort(404, description=f"no risk assessment for client {key!r}")
    return jsonify(stored.document)


@blueprint.get("/clients/<key>/issues/<issue_key>")
def issue(key: str, issue_key: str) -> Response:
    """One issue's revision rounds and reopens: the evidence trail."""
    trail = services().analysis.issue_trail(client_or_404(key), issue_key)
    if trail is None:
        abort(404, description=f"unknown issue {issue_key!r} for client {key!r}")
    return jsonify(trail_document(trail, services().settings.agency.zone))


@cache
def _openapi_json() -> tuple[bytes, bytes, str]:
    """The OpenAPI document encoded once per process (it changes only with the release):
    plain, gzip-compressed, and its ETag."""
    document = openapi_document(version=__version__, session_cookie=auth.SESSION_COOKIE)
    plain = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return plain, gzip.compress(plain, compresslevel=6, mtime=0), hashlib.sha256(plain).hexdigest()


@blueprint.get("/openapi.json")
def openapi() -> Response:
    """This API described (OpenAPI 3.1), generated from the types that build its answers."""
    plain, compressed, etag = _openapi_json()
    response = _json_bytes(plain, lambda: compressed)
    response.set_etag(etag)
    response.make_conditional(request)  # 304 for a caller holding this release's document
    return response
