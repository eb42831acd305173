"""Approval drag: how long delivered work sits in the client's review before the client acts.

A wait starts when an issue enters a review status (``workflow.review_statuses``)
and ends at the client's next action on that issue (a comment, a transition,
any change) or when the issue leaves review, whichever comes first; moving from
one review status to another keeps it waiting. Measured in the agency's
working hours (:mod:`scopeguard.domain.risk.waits`)::

    approval_drag = median working hours of the window's review waits

The agency's other clients are the yardstick (the score normalises against them).
"""

from __future__ import annotations

from dataclasses import dataclass

from scopeguard.domain.risk.activity import ActionKind, ClientActivity, review_test
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
from scopeguard.domain.risk.stats import median, quantile
from scopeguard.domain.risk.waits import MeasuredWait, Wait, WaitIndex
from scopeguard.domain.risk.worktime import WorkingTime


def review_waits(activity: ClientActivity) -> list[Wait]:
    """Every wait of the client's issues in review (see the module's docstring)."""
    waits: list[Wait] = []
    reviewed = review_test(activity.context)
    for issue in activity.issues:
        opened = None
        status: str | None = None
        for action in issue.actions:
            item = action.item
            if action.kind is ActionKind.STATUS and item is not None:
                into = reviewed(item.to_id, item.to_string)
                if opened is None:
                    if into:
                        opened, status = action, item.to_string
                    continue
                if not into or action.side is Side.CLIENT:
                    waits.append(Wait(issue.key, opened, action, status=status))
                    opened = None
                    if into:
                        # The client moved it on to another review status: a new wait.
                        opened, status = action, item.to_string
                continue
            if opened is not None and action.side is Side.CLIENT:
                waits.append(Wait(issue.key, opened, action, status=status))
                opened = None
        if opened is not None:
            waits.append(Wait(issue.key, opened, None, status=status))
    return waits


def wait_evidence(
    measured: MeasuredWait, kind: EvidenceKind, activity_names: dict[str, str], ended: str
) -> Evidence:
    """A wait as evidence: when it began, how long it took, how it ended."""
    wait = measured.wait
    closer = wait.closed
    if measured.open or closer is None:
        how = "still waiting"
    else:
        who = activity_names.get(closer.actor, closer.actor) if closer.actor else None
        how = f"{ended} {closer.kind.value.replace('_', ' ')}" + (f" by {who}" if who else "")
    return Evidence(
        issue=wait.issue,
        at=wait.start,
        kind=kind,
        hours=round(measured.hours, 2),
        detail=how,
        text=None,
    )


@dataclass(frozen=True, slots=True)
class ApprovalDragData:
    """The client's review waits, indexed by time."""

    index: WaitIndex
    working: WorkingTime
    names: dict[str, str]

    def measure(self, window: Window, *, evidence: bool = True) -> Measurement:
        """Median working hours of the review waits of ``window``."""
        if not evidence:
            just, still_open = self.index.hours(window)
            if not just:
                return NOTHING
            return Measurement(
                value=median(just),
                basis=len(just),
                details={"p90": quantile(just, 0.9), "open": float(still_open)},
            )
        waits = self.index.measure(window)
        if not waits:
            return NOTHING
        hours = [w.hours for w in waits]
        found: tuple[Evidence, ...] = ()
        if evidence:
            longest = sorted(waits, key=lambda w: -w.hours)[:EVIDENCE_LIMIT]
            found = tuple(
                wait_evidence(w, EvidenceKind.REVIEW_WAIT, self.names, "ended by") for w in longest
            )
        return Measurement(
            value=median(hours),
            basis=len(waits),
            details={"p90": quantile(hours, 0.9), "open": float(sum(w.open for w in waits))},
            evidence=found,
        )


def prepare_approval_drag(activity: ClientActivity, policy: RiskPolicy) -> ApprovalDragData:
    """Find the client's review waits once."""
    return ApprovalDragData(
        WaitIndex(review_waits(activity), policy.working), policy.working, dict(activity.names)
    )


def approval_drag(activity: ClientActivity, window: Window, policy: RiskPolicy) -> Measurement:
    """Approval drag of one client over one window (the module's docstring)."""
    return prepare_approval_drag(activity, policy).measure(window)
