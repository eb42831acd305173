"""Who is asking: sessions, personal tokens, sign-in (local and OpenID Connect), roles, CSRF.

Every request (but the health probes and the Forge endpoints, which have their
own trust path) is identified once, before its view runs:

- ``Authorization: Bearer <token>``: a personal API token (read-only), or the
  deprecated ``web.api_token`` service token (a read-only viewer);
- the ``scopeguard_session`` cookie: a session kept in the database, which
  sign-out, disabling the user, a password reset, the idle timeout and the
  absolute timeout end at once for every process;
- nothing, in *open mode* (no account, no identity provider, no service token):
  the demo, or a trusted network, served as an admin.

Forms are protected against cross-site requests twice: the cookies are
``SameSite=Lax`` (never sent with a cross-site POST), and every form carries a
token: the session's own, or before sign-in a random cookie value signed with
the form key (a signed double-submit token).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from scopeguard.adapters.oidc import OidcError
from scopeguard.domain.access import OPEN, Principal
from scopeguard.entrypoints.web.context import services
from scopeguard.entrypoints.web.language import gettext
from scopeguard.usecases.people import LiveSession, PeopleError, digest, role_from_claims

log = logging.getLogger(__name__)

blueprint = Blueprint("auth", __name__, template_folder="templates")

SESSION_COOKIE = "scopeguard_session"
FORM_COOKIE = "scopeguard_form"
OIDC_COOKIE = "scopeguard_oidc"
OIDC_FLOW_MINUTES = 10
"""A sign-in at the identity provider must come back within this."""
UNIDENTIFIED = ("health.", "forge.", "static")
"""Endpoints that never look at sessions or tokens (probes, Forge's own tokens)."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

View = TypeVar("View", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    """Identify every request; the sign-in, sign-out and OIDC routes."""
    app.before_request(_identify)
    app.after_request(_form_cookie)
    app.register_blueprint(blueprint)
    if app.extensions["scopeguard"].settings.web.api_token:
        log.warning(
            "web.api_token is deprecated: it is a read-only viewer token now; give each "
            "script a personal token (Account page) and each person an account"
        )


# -- who is asking -------------------------------------------------------------------------


def _identify() -> None:
    g.principal = None
    g.live = None
    g.bad_token = False
    endpoint = request.endpoint or ""
    if endpoint.startswith(UNIDENTIFIED) or endpoint.endswith(".static"):
        return
    people = services().people
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and given.strip():
        g.principal = people.token_principal(
            given.strip(), address=request.remote_addr, path=request.path
        )
        g.bad_token = g.principal is None
        return
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        live = people.session(cookie)
        if live is not None:
            g.live = live
            g.principal = live.principal
            return
    if people.open_mode():
        g.principal = OPEN


def principal() -> Principal | None:
    """The current request's principal (``None``: not signed in)."""
    found: Principal | None = g.get("principal")
    return found


def live_session() -> LiveSession | None:
    """The current request's browser session, if it has one."""
    found: LiveSession | None = g.get("live")
    return found


def signed_in() -> bool:
    """Whether a person is signed in with a session (so sign-out makes sense)."""
    return live_session() is not None


def _refuse() -> BaseResponse:
    accepts_html = request.accept_mimetypes.accept_html and request.method == "GET"
    if accepts_html and not g.get("bad_token") and request.endpoint not in IMAGE_ENDPOINTS:
        return redirect(url_for("auth.signin", next=request.full_path.rstrip("?")), code=303)
    response = Response("sign in first", status=401, mimetype="text/plain")
    response.headers["WWW-Authenticate"] = 'Bearer realm="scopeguard"'
    response.headers["Cache-Control"] = "no-store"
    return response


IMAGE_ENDPOINTS = frozenset({"panel.client_chart", "panel.portfolio_chart_image"})
"""Charts are loaded by <img>: a redirect to a form would be a broken image, so 401."""


def require_panel_access() -> BaseResponse | None:
    """``None`` when the request may proceed; else the answer that refuses it.

    Pages redirect to the sign-in form (and back after it); images and other
    non-page requests get a plain 401. Tokens may only read.
    """
    who = principal()
    if who is None:
        return _refuse()
    if who.read_only and request.method not in ("GET", "HEAD"):
        abort(403, description="API tokens may only read")
    return None


def require_admin() -> BaseResponse | None:
    """Like :func:`require_panel_access`, and the principal must be an admin."""
    refused = require_panel_access()
    if refused is not None:
        return refused
    who = principal()
    if who is None or not who.is_admin:
        abort(403, description="only admins may see this")
    return None


def admin_only(view: View) -> View:
    """Decorate a view that only admins may call."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        refused = require_admin()
        if refused is not None:
            return refused
        return view(*args, **kwargs)

    guarded.__name__ = view.__name__
    guarded.__doc__ = view.__doc__
    return guarded  # type: ignore[return-value]


def can_see(client_key: str) -> bool:
    """Whether the current principal may see this client."""
    who = principal()
    return who is not None and who.can_see(client_key)


# -- form tokens ---------------------------------------------------------------------------


def _form_nonce() -> str:
    nonce = g.get("form_nonce") or request.cookies.get(FORM_COOKIE)
    if not nonce or len(nonce) > 100:
        nonce = secrets.token_urlsafe(24)
        g.new_form_nonce = nonce
    g.form_nonce = nonce
    return str(nonce)


def _signed(nonce: str) -> str:
    return hmac.new(services().people.form_key(), nonce.encode(), hashlib.sha256).hexdigest()


def csrf_token() -> str:
    """The form token of this browser: its session's, or a signed one before sign-in."""
    live = live_session()
    if live is not None:
        return live.csrf_token
    return _signed(_form_nonce())


def csrf_valid() -> bool:
    """Whether the posted form carries this browser's form token."""
    given = request.form.get("csrf_token", "")
    live = live_session()
    if live is not None:
        return hmac.compare_digest(given.encode(), live.csrf_token.encode())
    nonce = request.cookies.get(FORM_COOKIE)
    if not nonce or len(nonce) > 100:
        return False
    return hmac.compare_digest(given.encode(), _signed(nonce).encode())


def _cookie_options() -> dict[str, Any]:
    return {
        "httponly": True,
        "samesite": "Lax",
        "secure": services().settings.web.https,
        "path": "/",
    }


def _form_cookie(response: Response) -> Response:
    nonce = g.get("new_form_nonce")
    if nonce:
        response.set_cookie(FORM_COOKIE, nonce, max_age=24 * 3600, **_cookie_options())
    return response


# -- sign-in -------------------------------------------------------------------------------


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else the portfolio (no open redirect).

    Control characters (CR/LF would split the ``Location`` header) and
    backslashes (browsers read ``/\\evil`` as ``//evil``) are refused.
    """
    if target and len(target) <= 2000 and not _CONTROL.search(target):
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
    oidc = services().settings.web.oidc
    body = render_template(
        "panel/signin.html",
        error=error,
        next=safe_next(request.values.get("next")),
        csrf=csrf_token(),
        oidc_name=oidc.display_name if oidc is not None else None,
        local=True,
    )
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _signed_in_response(cookie: str, target: str) -> BaseResponse:
    response = redirect(safe_next(target), code=303)
    hours = services().settings.web.session_hours
    response.set_cookie(SESSION_COOKIE, cookie, max_age=int(hours * 3600), **_cookie_options())
    response.delete_cookie(OIDC_COOKIE, path="/")
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/signin")
def signin() -> BaseResponse:
    """The sign-in form (straight on when the browser is signed in or in open mode)."""
    who = principal()
    if who is not None and who.via in ("session", "open"):
        return redirect(safe_next(request.args.get("next")), code=303)
    return _form(None, 200)


@blueprint.post("/signin")
def signin_post() -> BaseResponse:
    """Check the posted username and password; on success start a session and go on."""
    if not csrf_valid():
        return _form(gettext("The form expired. Please try again."), 400)
    username = request.form.get("username", "").strip()[:255]
    password = request.form.get("password", "")[:1024]
    people = services().people
    user = people.check_password(username, password, request.remote_addr) if username else None
    if user is None:
        log.info("panel sign-in refused from %s", request.remote_addr)
        return _form(gettext("That username or password is not correct."), 401)
    if (old := request.cookies.get(SESSION_COOKIE)) is not None:
        people.end_session(old, actor=user.username, address=request.remote_addr)
    started = people.start_session(user, how="password", address=request.remote_addr)
    return _signed_in_response(started.cookie, request.form.get("next", ""))


@blueprint.post("/signout")
def signout() -> BaseResponse:
    """End this browser's session in the database (POST with the form token only)."""
    if not csrf_valid():
        return Response("the form expired", status=400, mimetype="text/plain")
    cookie = request.cookies.get(SESSION_COOKIE)
    live = live_session()
    if cookie:
        services().people.end_session(
            cookie,
            actor=live.user.username if live is not None else None,
            address=request.remote_addr,
        )
    response = redirect(url_for("auth.signin"), code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- OpenID Connect ------------------------------------------------------------------------


def _callback_url() -> str:
    # From the configuration, never from the Host header a client can forge.
    return services().settings.web.public_url.rstrip("/") + url_for("auth.oidc_callback")


@blueprint.get("/signin/oidc")
def oidc_start() -> BaseResponse:
    """Send the browser to the identity provider, remembering the round trip once."""
    client = services().oidc
    if client is None:
        abort(404)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    try:
        url = client.authorization_url(
            redirect_uri=_callback_url(), state=state, nonce=nonce, code_verifier=verifier
        )
    except OidcError as error:
        log.warning("OIDC sign-in unavailable: %s", error)
        return _form(gettext("The identity provider cannot be reached. Try again later."), 503)
    services().people.save_flow(
        digest(state),
        nonce=nonce,
        code_verifier=verifier,
        next_path=safe_next(request.args.get("next")),
    )
    response = redirect(url, code=303)
    response.set_cookie(OIDC_COOKIE, state, max_age=OIDC_FLOW_MINUTES * 60, **_cookie_options())
    return response


@blueprint.get("/signin/oidc/callback")
def oidc_callback() -> BaseResponse:
    """Back from the identity provider: check state, code, ID token; map the role; sign in."""
    client = services().oidc
    settings = services().settings.web.oidc
    if client is None or settings is None:
        abort(404)
    people = services().people
    state = request.args.get("state", "")[:200]
    held = request.cookies.get(OIDC_COOKIE, "")

    def refuse(reason: str, status: int = 401) -> BaseResponse:
        log.info("OIDC sign-in refused from %s: %s", request.remote_addr, reason)
        people.record(
            "signin.refused",
            actor=None,
            detail=f"oidc: {reason}"[:500],
            address=request.remote_addr,
        )
        response = _form(gettext("The sign-in with the identity provider failed."), status)
        response.delete_cookie(OIDC_COOKIE, path="/")
        return response

    if request.args.get("error"):
        return refuse(f"the provider answered {request.args.get('error', '')[:100]!r}")
    if not state or not held or not hmac.compare_digest(state.encode(), held.encode()):
        return refuse("the state does not match this browser's")
    flow = people.take_flow(digest(state), max_age=timedelta(minutes=OIDC_FLOW_MINUTES))
    if flow is None:
        return refuse("unknown, used or expired state (a replay?)")
    nonce, verifier, next_path = flow
    code = request.args.get("code", "")
    if not code or len(code) > 4096:
        return refuse("no code")
    try:
        identity = client.finish(
            redirect_uri=_callback_url(), code=code, code_verifier=verifier, nonce=nonce
        )
    except OidcError as error:
        return refuse(str(error))
    try:
        username, display, role = role_from_claims(settings, identity.claims)
        user = people.oidc_user(
            issuer=identity.issuer,
            subject=identity.subject,
            username=username,
            display_name=display,
            role=role,
        )
    except PeopleError as error:
        return refuse(str(error), 403)
    if not user.active:
        return refuse(f"user {user.username!r} is disabled", 403)
    started = people.start_session(user, how="oidc", address=request.remote_addr)
    return _signed_in_response(started.cookie, next_path)
