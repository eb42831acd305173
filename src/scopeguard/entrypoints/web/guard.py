"""What every request and answer goes through: size limits, error shapes, security headers.

- **Bodies** are capped by ``web.max_request_bytes`` (Flask's ``MAX_CONTENT_LENGTH``):
  Werkzeug counts the bytes as they stream in, chunked or not, and stops with 413
  at the limit, so a 400 MB body never sits in a worker's memory. Forms get a
  smaller cap of their own.
- **Query strings** longer than ``web.max_query_bytes`` are refused with 414.
- **Errors** under ``/api/``, ``/hooks/`` and ``/forge/`` are JSON,
  ``{"error": "not_found", "message": "..."}``, for routes that do not exist and
  methods not allowed too; an unexpected exception is logged and answers a
  plain 500 without a traceback.
- **Headers** on every answer: a Content-Security-Policy (no script anywhere;
  pages may be framed only by this site and Jira, everything else by nobody),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``, and
  ``Strict-Transport-Security`` when ScopeGuard is served over HTTPS.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError, RequestURITooLarge

from scopeguard.config import WebSettings
from scopeguard.entrypoints.web.context import services
from scopeguard.presentation.documents import error_document

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/hooks/", "/forge/")
"""Paths whose every answer, errors included, is JSON."""
FORM_MAX_BYTES = 64 * 1024
"""A sign-in or token form is a few hundred bytes."""
HSTS = "max-age=31536000"


def init_app(app: Flask) -> None:
    """Install the limits, error handlers and headers on ``app``."""
    web = services_web(app)
    app.config.update(
        MAX_CONTENT_LENGTH=web.max_request_bytes,
        MAX_FORM_MEMORY_SIZE=min(FORM_MAX_BYTES, web.max_request_bytes),
        MAX_FORM_PARTS=64,
    )
    app.before_request(_bounded_query)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def services_web(app: Flask) -> WebSettings:
    """The app's ``web:`` settings (outside a request)."""
    web: WebSettings = app.extensions["scopeguard"].settings.web
    return web


def wants_json() -> bool:
    """Whether this request's answers are JSON (the API, webhooks, Forge)."""
    return request.path.startswith(JSON_PREFIXES) or request.path in ("/api", "/api/v1")


def _bounded_query() -> None:
    if len(request.query_string) > services().settings.web.max_query_bytes:
        raise RequestURITooLarge("the query string is too long")


def json_error(code: int, error: str, message: str) -> Response:
    """A JSON error answer."""
    response = jsonify(error_document(error, message))
    response.status_code = code
    return response


def _http_error(error: HTTPException) -> Response | HTTPException:
    code = error.code or 500
    if wants_json():
        response = json_error(code, error.name.lower().replace(" ", "_"), error.description or "")
        allowed = getattr(error, "valid_methods", None)
        if code == 405 and allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response
    return error


def _unexpected(error: Exception) -> Response | HTTPException:
    if isinstance(error, HTTPException):  # pragma: no cover - routed to _http_error
        return _http_error(error)
    log.exception("unexpected error on %s %s", request.method, request.path)
    if wants_json():
        return json_error(500, "internal_server_error", "an unexpected error; it was logged")
    return InternalServerError()


def frame_ancestors() -> str:
    """Who may frame the pages: this site and Jira (the 800 px panel inside Jira)."""
    jira = urlsplit(services().settings.jira.base_url)
    return f"'self' {jira.scheme}://{jira.netloc} https://*.atlassian.net"


def _security_headers(response: Response) -> Response:
    headers = response.headers
    if "Content-Security-Policy" not in headers:
        if response.mimetype == "text/html":
            # No script runs on any page; styles and images only from here.
            policy = (
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                f"base-uri 'none'; frame-ancestors {frame_ancestors()}"
            )
        else:
            # JSON, images, PDFs: nothing to run, nobody to frame them.
            policy = "default-src 'none'; frame-ancestors 'none'; sandbox"
        headers["Content-Security-Policy"] = policy
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if services().settings.web.https or request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response
