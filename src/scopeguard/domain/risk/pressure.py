"""Escalation and requests for another manager: the client pushing, in actions and in words.

::

    escalation        = escalations ÷ the client's counted actions
    pm_change_request = the client's comments asking for another manager or person

An *escalation* is one of: the client raising an issue's priority
(``risk.priorities``, highest first); the client moving a due date earlier; an
issue the client created at the top priority; a client comment, or an issue the
client created, with urgent wording (the ``urgent`` lexicon: "ASAP", «срочно»).
A request for another PM is a client comment (visible to the client: the
client's own) with a phrase of the ``pm_change`` lexicon («давайте сменим
менеджера», "can we get someone else on this").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date
from typing import NamedTuple

from scopeguard.domain.risk.activity import (
    PRESSURE_KINDS,
    Action,
    ActionKind,
    ClientActivity,
    action_evidence,
)
from scopeguard.domain.risk.lexicon import LexiconKind, Match, PhraseMatcher, marked
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


def quoted(
    action: Action, matches: list[Match], kind: EvidenceKind, names: dict[str, str]
) -> Evidence:
    """A comment (or brief) as evidence, cut around its first match, every match marked."""
    piece, marks = marked(action.text or "", matches)
    return replace(
        action_evidence(action, names, kind),
        text=piece,
        marks=marks,
        detail=", ".join(dict.fromkeys(m.phrase for m in matches)),
    )


def _due(text: str | None) -> date | None:
    # Cloud writes "2026-10-01", Data Center "2026-10-01 00:00:00.0".
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


PRIORITY_RAISED = "priority_raised"
DUE_DATE_PULLED_IN = "due_date_pulled_in"
TOP_PRIORITY = "created_at_top_priority"
URGENT_WORDING = "urgent_wording"
ESCALATION_KINDS = (PRIORITY_RAISED, DUE_DATE_PULLED_IN, TOP_PRIORITY, URGENT_WORDING)
"""The four kinds of escalation; the measurement's details count each."""


class _Escalation(NamedTuple):
    """One escalation, its evidence built only when a window shows it (most never are)."""

    ts: float
    category: str
    action: Action
    kind: EvidenceKind
    detail: str
    """The reason (priority raised…), or for urgent wording its label."""
    matches: tuple[Match, ...] = ()
    """For urgent wording: the phrases found in ``action.text``."""

    def evidence(self, names: dict[str, str]) -> Evidence:
        if self.matches:
            return _labelled(quoted(self.action, list(self.matches), self.kind, names), self.detail)
        return replace(action_evidence(self.action, names, self.kind), detail=self.detail)


@dataclass(frozen=True, slots=True)
class EscalationData:
    """Every escalation of the client, and the times of its counted actions."""

    escalations: tuple[_Escalation, ...]
    times: tuple[float, ...]
    action_times: tuple[float, ...]
    names: dict[str, str] = field(default_factory=dict)

    def measure(self, window: Window, *, evidence: bool = True) -> Measurement:
        """Escalations per counted client action in ``window``."""
        actions = len(span(self.action_times, window.since, window.until))
        if actions == 0:
            return NOTHING
        chosen = [self.escalations[i] for i in span(self.times, window.since, window.until)]
        found = (
            tuple(e.evidence(self.names) for e in reversed(chosen[-EVIDENCE_LIMIT:]))
            if evidence
            else ()
        )
        counts = Counter(e.category for e in chosen)
        kinds: dict[str, float | None] = {
            category: float(counts[category]) for category in ESCALATION_KINDS
        }
        return Measurement(
            value=len(chosen) / actions,
            basis=actions,
            details={"escalations": len(chosen), **kinds},
            evidence=found,
        )


def prepare_escalation(
    activity: ClientActivity, policy: RiskPolicy, matcher: PhraseMatcher
) -> EscalationData:
    """Find the client's escalations (see the module's docstring)."""
    scale = policy.priorities
    names = dict(activity.names)
    found: list[_Escalation] = []
    urgent_only = (LexiconKind.URGENT,)

    for issue in activity.issues:
        for action in issue.actions:
            if action.side is not Side.CLIENT:
                continue
            item = action.item
            kind = action.kind
            if kind is ActionKind.COMMENT:
                if action.text and not action.internal:
                    urgent = matcher.find(action.text, urgent_only)
                    if urgent:
                        found.append(
                            _Escalation(
                                action.ts,
                                URGENT_WORDING,
                                action,
                                EvidenceKind.COMMENT,
                                "urgent",
                                tuple(urgent),
                            )
                        )
            elif kind is ActionKind.PRIORITY and item is not None:
                if scale.raised(item.from_string, item.to_string):
                    found.append(
                        _Escalation(
                            action.ts,
                            PRIORITY_RAISED,
                            action,
                            EvidenceKind.PRIORITY_CHANGE,
                            f"priority raised: {item.from_string} → {item.to_string}",
                        )
                    )
            elif kind is ActionKind.DUE_DATE and item is not None:
                before, after = _due(item.from_string), _due(item.to_string)
                if before is not None and after is not None and after < before:
                    found.append(
                        _Escalation(
                            action.ts,
                            DUE_DATE_PULLED_IN,
                            action,
                            EvidenceKind.DUE_DATE_CHANGE,
                            f"due date pulled in: {before.isoformat()} → {after.isoformat()}",
                        )
                    )
            elif kind is ActionKind.ISSUE_CREATED:
                if scale.is_top(issue.initial_priority):
                    found.append(
                        _Escalation(
                            action.ts,
                            TOP_PRIORITY,
                            action,
                            EvidenceKind.ISSUE_CREATED,
                            f"created at top priority: {issue.initial_priority}",
                        )
                    )
                brief = f"{issue.initial_summary}\n\n{issue.initial_description or ''}"
                urgent = matcher.find(brief, urgent_only)
                if urgent:
                    found.append(
                        _Escalation(
                            action.ts,
                            URGENT_WORDING,
                            action._replace(text=brief),
                            EvidenceKind.ISSUE_CREATED,
                            "urgent",
                            tuple(urgent),
                        )
                    )
    found.sort(key=lambda e: e.ts)
    counted = [a.ts for a in activity.client_actions if a.kind in PRESSURE_KINDS and not a.internal]
    return EscalationData(tuple(found), tuple(e.ts for e in found), tuple(counted), names)


def _labelled(evidence: Evidence, label: str) -> Evidence:
    return replace(evidence, detail=f"{label}: {evidence.detail}")


def escalation(
    activity: ClientActivity, window: Window, policy: RiskPolicy, matcher: PhraseMatcher
) -> Measurement:
    """Escalation of one client over one window (the module's docstring)."""
    return prepare_escalation(activity, policy, matcher).measure(window)


@dataclass(frozen=True, slots=True)
class PmChangeData:
    """The client's comments asking for another manager, and the times of its counted actions."""

    requests: tuple[tuple[Action, tuple[Match, ...]], ...]
    """Each request with the phrases found in it (its evidence is built when shown)."""
    times: tuple[float, ...]
    action_times: tuple[float, ...]
    names: dict[str, str] = field(default_factory=dict)

    def measure(self, window: Window, *, evidence: bool = True) -> Measurement:
        """How many such comments the client wrote in ``window``."""
        actions = len(span(self.action_times, window.since, window.until))
        if actions == 0:
            return NOTHING
        chosen = [self.requests[i] for i in span(self.times, window.since, window.until)]
        found = (
            tuple(
                quoted(action, list(matches), EvidenceKind.COMMENT, self.names)
                for action, matches in reversed(chosen[-EVIDENCE_LIMIT:])
            )
            if evidence
            else ()
        )
        return Measurement(value=float(len(chosen)), basis=actions, evidence=found)


def prepare_pm_change_request(
    activity: ClientActivity, policy: RiskPolicy, matcher: PhraseMatcher
) -> PmChangeData:
    """Find the client's comments that ask for another manager or person."""
    requests: list[tuple[Action, tuple[Match, ...]]] = []
    wanted = (LexiconKind.PM_CHANGE,)
    for action in activity.client_actions:
        if action.kind is not ActionKind.COMMENT or action.internal or not action.text:
            continue
        matches = matcher.find(action.text, wanted)
        if matches:
            requests.append((action, tuple(matches)))
    counted = [a.ts for a in activity.client_actions if a.kind in PRESSURE_KINDS and not a.internal]
    return PmChangeData(
        tuple(requests),
        tuple(action.ts for action, _ in requests),
        tuple(counted),
        dict(activity.names),
    )


def pm_change_request(
    activity: ClientActivity, window: Window, policy: RiskPolicy, matcher: PhraseMatcher
) -> Measurement:
    """Requests for another manager by one client over one window (the module's docstring)."""
    return prepare_pm_change_request(activity, policy, matcher).measure(window)
