"""A person's own page (their personal API tokens) and the admins' audit log.

- ``/account`` — who you are, your tokens (name, first characters, created, last
  used, revoked); create one (shown once, on the answer to the POST) or revoke one.
- ``/admin/audit`` — the audit log, newest first, 100 lines a page
  (``?before=<id>``: keyset paging, however long the log grows). Admins only.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from scopeguard.adapters.store.people import User
from scopeguard.entrypoints.web import auth
from scopeguard.entrypoints.web.context import services

blueprint = Blueprint("people", __name__)

AUDIT_PAGE = 100
MAX_ID = 2**63 - 1


def _user() -> User:
    live = auth.live_session()
    if live is None:
        # Tokens belong to a person: an API token or open mode has no account page.
        abort(403, description="sign in with your account to manage tokens")
    return live.user


def _page(new_token: str | None = None, status: int = 200) -> Response:
    user = _user()
    body = render_template(
        "panel/account.html",
        user=user,
        tokens=services().people.tokens(user),
        new_token=new_token,
    )
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"  # a new token must not sit in a cache
    return response


@blueprint.before_request
def _signed_in() -> BaseResponse | None:
    return auth.require_panel_access()


@blueprint.get("/account")
def account() -> Response:
    """The signed-in person's account and tokens."""
    return _page()


@blueprint.post("/account/tokens")
def create_token() -> Response:
    """A new read-only personal token, shown once."""
    if not auth.csrf_valid():
        abort(400, description="the form expired")
    raw, _token = services().people.new_token(
        _user(), request.form.get("name", ""), address=request.remote_addr
    )
    return _page(new_token=raw, status=201)


@blueprint.post("/account/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Response:
    """Revoke one of the person's tokens."""
    if not auth.csrf_valid():
        abort(400, description="the form expired")
    if token_id > MAX_ID or not services().people.revoke(
        _user(), token_id, address=request.remote_addr
    ):
        abort(404)
    return _page()


@blueprint.get("/admin/audit")
@auth.admin_only
def audit_log() -> str:
    """The audit log, a page at a time."""
    before_text = request.args.get("before")
    before = None
    if before_text is not None:
        if not before_text.isascii() or not before_text.isdigit() or len(before_text) > 18:
            abort(404)
        before = int(before_text)
    entries = services().people.audit_log(limit=AUDIT_PAGE, before_id=before)
    older = entries[-1].id if len(entries) == AUDIT_PAGE else None
    return render_template("panel/audit.html", entries=entries, older=older)
