"""Who may see the panel: the API token, a signed sign-in cookie, or another registered check.

With ``web.api_token`` unset the panel is open (a trusted network, the demo).
With it set, a browser signs in once by posting the token to ``/signin``; the
answer is a session cookie signed with ``web.secret_key`` (``HttpOnly``,
``SameSite=Lax``, ``Secure`` when ``web.public_url`` is https). Scripts may send
``Authorization: Bearer <token>`` instead, as for the API.

Forms are CSRF-safe: they are POST-only and carry a per-session random token
that must match the one in the signed cookie; ``SameSite=Lax`` keeps the
cookie off cross-site POSTs in the first place. Tokens are compared in constant
time. The cookie holds a keyed digest of the API token, not the token, so
changing ``web.api_token`` signs every browser out.

Other ways in (the Forge app's token, inside Jira) register a check with
:func:`add_panel_access_check`; :func:`require_panel_access` accepts a request
when any way in accepts it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from scopeguard.bootstrap import Services
from scopeguard.config import Settings
from scopeguard.entrypoints.web.context import services
from scopeguard.entrypoints.web.language import gettext

log = logging.getLogger(__name__)

blueprint = Blueprint("auth", __name__, template_folder="templates")

AccessCheck = Callable[[], bool]
"""Returns ``True`` when the current request may see the panel."""

_CHECKS = "scopeguard.panel_access_checks"
_SIGNED_IN = "panel"
_CSRF = "csrf"
SESSION_COOKIE = "scopeguard_session"
SESSION_HOURS = 12


def init_app(app: Flask) -> None:
    """Session cookie settings and the sign-in routes."""
    web = services_settings(app).web
    if web.secret_key:
        app.secret_key = web.secret_key
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=web.public_url.lower().startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )
    app.extensions.setdefault(_CHECKS, [])
    app.register_blueprint(blueprint)


def services_settings(app: Flask) -> Settings:
    """The app's settings (outside a request)."""
    found: Services = app.extensions["scopeguard"]
    return found.settings


def add_panel_access_check(app: Flask, check: AccessCheck) -> None:
    """Accept panel requests for which ``check()`` is true (e.g. a valid Forge token)."""
    checks: list[AccessCheck] = app.extensions.setdefault(_CHECKS, [])
    checks.append(check)


def _mark(token: str) -> str:
    # A keyed digest of the API token: identifies which token signed the browser
    # in without putting the token itself in the cookie.
    return hmac.new(b"scopeguard-panel-session", token.encode(), hashlib.sha256).hexdigest()


def _api_token() -> str | None:
    return services().settings.web.api_token


def signed_in() -> bool:
    """Whether this browser has signed in with the current API token."""
    token = _api_token()
    held = session.get(_SIGNED_IN)
    return bool(token) and isinstance(held, str) and hmac.compare_digest(held, _mark(str(token)))


def bearer_ok(token: str) -> bool:
    """Whether the request carries ``Authorization: Bearer <token>`` (constant-time)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def panel_access_granted() -> bool:
    """Whether the current request may see the panel."""
    token = _api_token()
    if not token:
        return True
    if signed_in() or bearer_ok(token):
        return True
    checks: list[AccessCheck] = current_app.extensions.get(_CHECKS, [])
    return any(check() for check in checks)


def require_panel_access() -> BaseResponse | None:
    """``None`` when the request may proceed; else the answer that refuses it.

    Pages redirect to the sign-in form (and back after it); images and other
    non-page requests get a plain 401.
    """
    if panel_access_granted():
        return None
    accepts_html = request.accept_mimetypes.accept_html and request.method == "GET"
    if accepts_html and ".charts" not in (request.endpoint or ""):
        return redirect(url_for("auth.signin", next=request.full_path.rstrip("?")), code=303)
    response = Response("sign in first", status=401, mimetype="text/plain")
    response.headers["WWW-Authenticate"] = 'Bearer realm="scopeguard"'
    return response


def csrf_token() -> str:
    """This session's form token (created on first use)."""
    token = session.get(_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_CSRF] = token
    return token


def csrf_valid() -> bool:
    """Whether the posted form carries this session's form token."""
    expected = session.get(_CSRF)
    given = request.form.get("csrf_token", "")
    return isinstance(expected, str) and hmac.compare_digest(given.encode(), expected.encode())


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an absolute or scheme-relative URL (open redirect).
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
            and "\\" not in target
        ):
            return target
    return url_for("panel.portfolio")


def _form(error: str | None, status: int) -> Response:
    body = render_template(
        "panel/signin.html",
        error=error,
        next=_safe_next(request.values.get("next")),
        csrf=csrf_token(),
    )
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/signin")
def signin() -> BaseResponse:
    """The sign-in form (straight on to the panel when no token is configured)."""
    if not _api_token() or signed_in():
        return redirect(_safe_next(request.args.get("next")), code=303)
    return _form(None, 200)


@blueprint.post("/signin")
def signin_post() -> BaseResponse:
    """Check the posted token; on success sign the browser in and go on."""
    token = _api_token()
    if not token:
        return redirect(_safe_next(request.form.get("next")), code=303)
    if not csrf_valid():
        return _form(gettext("The form expired. Please try again."), 400)
    given = request.form.get("token", "")
    if not hmac.compare_digest(given.encode(), token.encode()):
        log.info("panel sign-in refused from %s", request.remote_addr)
        return _form(gettext("That access token is not correct."), 401)
    session.clear()
    session.permanent = True
    session[_SIGNED_IN] = _mark(token)
    session[_CSRF] = secrets.token_urlsafe(32)  # a fresh form token after signing in
    return redirect(_safe_next(request.form.get("next")), code=303)


@blueprint.post("/signout")
def signout() -> BaseResponse:
    """Forget the sign-in (POST with the form token only)."""
    if not csrf_valid():
        return Response("the form expired", status=400, mimetype="text/plain")
    session.clear()
    return redirect(url_for("auth.signin"), code=303)
