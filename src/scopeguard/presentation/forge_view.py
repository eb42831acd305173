"""What the Forge project page shows of a client's risk (when ``forge.show_risk`` is on).

The score, the level, the verdict and the top three reasons, each with its first
events: a short version of the panel's internal section, built from the stored
risk document. Labels are the app's own (``messages.js``), keyed by the names here.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

from scopeguard.presentation.documents import FindingDocument, RiskDocument, top_findings

REASONS = 3
"""Reasons the project page lists."""
EVENTS = 3
"""Events per reason."""


class ForgeEventDocument(TypedDict):
    """One event behind a reason."""

    issue: str
    at: str
    kind: str
    text: NotRequired[str]


class ForgeReasonDocument(TypedDict):
    """A signal that stands out."""

    signal: str
    side: str
    value: float
    peer_median: float | None
    events: list[ForgeEventDocument]


class ForgeRiskDocument(TypedDict):
    """``clients[].risk`` of ``/forge/v1/project-summary``."""

    score: int | None
    level: str | None
    agency_score: int | None
    verdict: str
    reasons: list[ForgeReasonDocument]


def _reason(finding: FindingDocument) -> ForgeReasonDocument:
    events: list[ForgeEventDocument] = []
    for event in finding["evidence"][:EVENTS]:
        shown: ForgeEventDocument = {
            "issue": event["issue"],
            "at": event["at"],
            "kind": event["kind"],
        }
        if "text" in event:
            shown["text"] = event["text"]
        events.append(shown)
    return {
        "signal": finding["signal"],
        "side": finding["side"],
        "value": finding["value"],
        "peer_median": finding["peer_median"],
        "events": events,
    }


def forge_risk(document: RiskDocument) -> ForgeRiskDocument:
    """The stored risk document cut to what the project page shows: the side the
    verdict points to gives the first reasons."""
    return {
        "score": document["score"],
        "level": document["level"],
        "agency_score": document["agency_score"],
        "verdict": document["verdict"],
        "reasons": [_reason(finding) for finding in top_findings(document, REASONS)],
    }
