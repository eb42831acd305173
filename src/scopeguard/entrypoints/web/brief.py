"""Before signing: a page where a PM pastes a brief (or names a synced issue) and sees
what the brief checker finds: vague wording, things never written down, missing
acceptance criteria, and the questions to send back in the brief's language.

Anyone who may use the panel may use it (a brief is not a client's risk); an issue
is read only from a client the person may see.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from scopeguard.adapters.store.issue_text import stored_brief
from scopeguard.domain.brief import check_brief
from scopeguard.entrypoints.web import auth
from scopeguard.entrypoints.web.context import services
from scopeguard.presentation.brief_document import BriefDocument, brief_document

blueprint = Blueprint("brief", __name__)

MAX_BRIEF_CHARS = 200_000
"""A brief longer than this is refused (the request body limit is the outer bound)."""


@blueprint.before_request
def _guard() -> BaseResponse | None:
    return auth.require_panel_access()


@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of the checked text, with the kind of phrase it is (``None``: plain)."""

    text: str
    kind: str | None


def pieces(text: str, document: BriefDocument) -> list[Piece]:
    """The text cut at the phrases found, for marking them in place."""
    found: list[Piece] = []
    at = 0
    for phrase in sorted(document["phrases"], key=lambda p: p["start"]):
        if phrase["start"] < at:
            continue
        if phrase["start"] > at:
            found.append(Piece(text[at : phrase["start"]], None))
        found.append(Piece(text[phrase["start"] : phrase["end"]], phrase["kind"]))
        at = phrase["end"]
    if at < len(text):
        found.append(Piece(text[at:], None))
    return found


@blueprint.get("/brief")
def brief_form() -> str:
    """The empty form."""
    return render_template("panel/brief.html", text="", issue="", result=None, marked=[])


@blueprint.post("/brief")
def brief_check() -> str:
    """Check the pasted brief, or the synced issue's summary and description."""
    if not auth.csrf_valid():
        abort(400, description="the form expired")
    text = request.form.get("text", "")
    issue = request.form.get("issue", "").strip()
    if issue:
        with services().database.session() as session:
            found = stored_brief(session, issue[:64])
        if found is None or not auth.can_see(found.client_key):
            abort(404, description=f"no synced issue {issue!r} that you may see")
        text = f"{found.summary}\n\n{found.description or ''}".strip()
    if len(text) > MAX_BRIEF_CHARS:
        abort(413, description="the brief is too long")
    risk = services().risk
    report = check_brief(text, risk.matcher, min_words=services().settings.risk.min_words)
    document = brief_document(report)
    return render_template(
        "panel/brief.html", text=text, issue=issue, result=document, marked=pieces(text, document)
    )
