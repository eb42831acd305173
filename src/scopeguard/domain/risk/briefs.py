"""Vague briefs: how unclear the issues the client writes are.

Each issue the client created is checked as it was written (its summary and
its description before any edit) with the brief checker
(:func:`scopeguard.domain.brief.check_brief`)::

    vague_briefs = mean over the client's new issues of (100 − clarity) ÷ 100
    flagged      = share of them with no or a short description, no acceptance
                   criteria, or vague or undocumented wording

So 0 means every brief was perfectly clear and 1 that none said anything usable.
"""

from __future__ import annotations

from dataclasses import dataclass

from scopeguard.domain.brief import BriefReport, Shortfall, check_brief
from scopeguard.domain.risk.activity import ClientActivity, IssueActivity
from scopeguard.domain.risk.lexicon import LexiconKind, PhraseMatcher, marked, quote
from scopeguard.domain.risk.people import Side
from scopeguard.domain.risk.policy import RiskPolicy
from scopeguard.domain.risk.signals import (
    EVIDENCE_LIMIT,
    NOTHING,
    Evidence,
    EvidenceKind,
    Measurement,
    Window,
)
from scopeguard.domain.risk.stats import span

MISSING_DESCRIPTION = "no_description"
"""The reason named when an issue has no description at all (the summary was checked alone)."""


@dataclass(frozen=True, slots=True)
class IssueBrief:
    """One client-created issue and what the checker found in it."""

    issue: IssueActivity
    text: str
    report: BriefReport
    described: bool

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the issue counts as vague (empty when it does not)."""
        found: list[str] = [] if self.described else [MISSING_DESCRIPTION]
        found.extend(
            reason.value for reason in self.report.shortfalls if reason is not Shortfall.EMPTY
        )
        return tuple(found)


def issue_brief(issue: IssueActivity, matcher: PhraseMatcher, *, min_words: int = 30) -> IssueBrief:
    """Check an issue's brief as it was created: summary, a blank line, description."""
    description = (issue.initial_description or "").strip()
    text = issue.initial_summary if not description else f"{issue.initial_summary}\n\n{description}"
    return IssueBrief(
        issue, text, check_brief(text, matcher, min_words=min_words), bool(description)
    )


@dataclass(frozen=True, slots=True)
class VagueBriefsData:
    """The client's new issues, checked once, in order of creation."""

    briefs: tuple[IssueBrief, ...]
    times: tuple[float, ...]

    def measure(self, window: Window, *, evidence: bool = True) -> Measurement:
        """Mean unclarity of the client's issues created in ``window``."""
        chosen = [self.briefs[i] for i in span(self.times, window.since, window.until)]
        if not chosen:
            return NOTHING
        unclear = [(100 - brief.report.score) / 100 for brief in chosen]
        flagged = sum(1 for brief in chosen if brief.reasons)
        found: tuple[Evidence, ...] = ()
        if evidence:
            ranked = sorted(
                (brief for brief in chosen if brief.reasons),
                key=lambda b: (b.report.score, -b.issue.facts.created.timestamp()),
            )
            found = tuple(_evidence(brief) for brief in ranked[:EVIDENCE_LIMIT])
        return Measurement(
            value=sum(unclear) / len(unclear),
            basis=len(chosen),
            details={"flagged": flagged / len(chosen)},
            evidence=found,
        )


def _evidence(brief: IssueBrief) -> Evidence:
    phrases = [m for m in brief.report.phrases if m.kind is not LexiconKind.URGENT]
    marks: tuple[tuple[int, int], ...] = ()
    if phrases:
        text, marks = marked(brief.text, phrases)
    else:
        text = quote(brief.text)
    return Evidence(
        issue=brief.issue.key,
        at=brief.issue.facts.created,
        kind=EvidenceKind.VAGUE_BRIEF,
        text=text,
        marks=marks,
        detail=f"clarity {brief.report.score}: " + ", ".join(brief.reasons),
    )


def prepare_vague_briefs(
    activity: ClientActivity, policy: RiskPolicy, matcher: PhraseMatcher
) -> VagueBriefsData:
    """Check every issue the client created (see the module's docstring)."""
    created = sorted(
        (issue for issue in activity.issues if issue.created_by is Side.CLIENT),
        key=lambda issue: issue.facts.created,
    )
    briefs = tuple(issue_brief(issue, matcher, min_words=policy.min_words) for issue in created)
    return VagueBriefsData(briefs, tuple(b.issue.facts.created.timestamp() for b in briefs))


def vague_briefs(
    activity: ClientActivity, window: Window, policy: RiskPolicy, matcher: PhraseMatcher
) -> Measurement:
    """Vague briefs of one client over one window (the module's docstring)."""
    return prepare_vague_briefs(activity, policy, matcher).measure(window)
