"""Churn: revision rounds against the allowance, requirements rewritten mid-work, scope added.

::

    revision_churn    = revision rounds ÷ delivered issues ÷ max(1, revisions_per_issue)
    requirement_churn = client edits of a summary or description after work on that
                        issue started ÷ issues in progress
    scope_pressure    = creep added (percentage points of the contracted headline
                        amount) ÷ weeks

A *revision round* is the contract metric's (``docs/metrics.md``): work sent back
from review or done. An issue is *delivered* in a window when it entered a
review or done status, or had a round, in it. An issue is *in progress* in a
window when its work started before the window ends and it was not done before
the window starts. *Creep* is the summary's: unapproved added scope plus
estimate growth of baseline issues, in the contract's headline unit, dated when
it happened, so the rate over a window is exactly the summary's creep percent
at the window's end minus that at its start.
"""

from __future__ import annotations

from dataclasses import dataclass

from scopeguard.domain.facts import RevisionEvent
from scopeguard.domain.ledger import SCALE, UNIT_INDEX, Bucket, entries
from scopeguard.domain.model import StatusCategory
from scopeguard.domain.risk.activity import (
    Action,
    ActionKind,
    ClientActivity,
    action_evidence,
    review_test,
)
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

# --- revision churn ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Round:
    ts: float
    issue: str
    event: RevisionEvent

    def evidence(self) -> Evidence:
        # Built when shown: the headline window shows a few of a client's hundreds of rounds.
        event = self.event
        return Evidence(
            issue=self.issue,
            at=event.at,
            kind=EvidenceKind.REVISION,
            actor=event.author_name or event.author_account,
            detail=f"{event.from_status} → {event.to_status}"
            + (" (reopened)" if event.is_reopen else ""),
        )


@dataclass(frozen=True, slots=True)
class RevisionChurnData:
    """Every revision round and every delivery of the client's issues, in time order."""

    rounds: tuple[_Round, ...]
    round_times: tuple[float, ...]
    deliveries: tuple[tuple[float, str], ...]
    delivery_times: tuple[float, ...]
    allowance: int

    def measure(self, window: Window, *, evidence: bool = True) -> Measurement:
        """Rounds per delivered issue in ``window``, against the allowance."""
        rounds = [self.rounds[i] for i in span(self.round_times, window.since, window.until)]
        delivered = {r.issue for r in rounds}
        delivered.update(
            self.deliveries[i][1] for i in span(self.delivery_times, window.since, window.until)
        )
        if not delivered:
            return NOTHING
        per_issue = len(rounds) / len(delivered)
        found = tuple(r.evidence() for r in reversed(rounds[-EVIDENCE_LIMIT:])) if evidence else ()
        return Measurement(
            value=per_issue / max(1, self.allowance),
            basis=len(delivered),
            details={"rounds": len(rounds), "rounds_per_issue": per_issue},
            evidence=found,
        )


def prepare_revision_churn(activity: ClientActivity, policy: RiskPolicy) -> RevisionChurnData:
    """Collect the rounds (from the issues' facts) and deliveries (status changes)."""
    rounds: list[_Round] = []
    deliveries: list[tuple[float, str]] = []
    reviewed = review_test(activity.context)
    for issue in activity.issues:
        for event in issue.facts.revisions:
            rounds.append(_Round(event.at.timestamp(), issue.key, event))
        for action in issue.actions:
            item = action.item
            if action.kind is not ActionKind.STATUS or item is None:
                continue
            into_review = reviewed(item.to_id, item.to_string)
            done = action.category is StatusCategory.DONE
            if into_review or done:
                deliveries.append((action.ts, issue.key))
    rounds.sort(key=lambda r: r.ts)
    deliveries.sort()
    return RevisionChurnData(
        rounds=tuple(rounds),
        round_times=tuple(r.ts for r in rounds),
        deliveries=tuple(deliveries),
        delivery_times=tuple(ts for ts, _ in deliveries),
        allowance=activity.context.contract.revisions_per_issue,
    )


def revision_churn(activity: ClientActivity, window: Window, policy: RiskPolicy) -> Measurement:
    """Revision churn of one client over one window (the module's docstring)."""
    return prepare_revision_churn(activity, policy).measure(window)


# --- requirement churn ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequirementChurnData:
    """The client's mid-work edits, and each issue's span of work."""

    edits: tuple[Action, ...]
    edit_times: tuple[float, ...]
    work: tuple[tuple[float, float | None], ...]
    """Per issue whose work started: (started, done or ``None``)."""
    names: dict[str, str]

    def measure(self, window: Window, *, evidence: bool = True) -> Measurement:
        """Edits after work started, per issue in progress in ``window``."""
        since, until = window.since, window.until
        active = sum(
            1 for started, done in self.work if started < until and (done is None or done >= since)
        )
        if active == 0:
            return NOTHING
        edits = [self.edits[i] for i in span(self.edit_times, since, until)]
        found: tuple[Evidence, ...] = ()
        if evidence:
            found = tuple(action_evidence(a, self.names) for a in reversed(edits))[:EVIDENCE_LIMIT]
        return Measurement(
            value=len(edits) / active,
            basis=active,
            details={"edits": len(edits)},
            evidence=found,
        )


def prepare_requirement_churn(activity: ClientActivity, policy: RiskPolicy) -> RequirementChurnData:
    """Find the client's summary and description edits made after work started."""
    edits: list[Action] = []
    work: list[tuple[float, float | None]] = []
    for issue in activity.issues:
        if issue.work_started is None:
            continue
        started = issue.work_started.timestamp()
        work.append((started, None if issue.done_at is None else issue.done_at.timestamp()))
        edits.extend(
            action
            for action in issue.actions
            if action.kind in (ActionKind.DESCRIPTION, ActionKind.SUMMARY)
            and action.side is Side.CLIENT
            and action.ts > started
        )
    edits.sort(key=lambda a: a.ts)
    return RequirementChurnData(
        edits=tuple(edits),
        edit_times=tuple(a.ts for a in edits),
        work=tuple(work),
        names=dict(activity.names),
    )


def requirement_churn(activity: ClientActivity, window: Window, policy: RiskPolicy) -> Measurement:
    """Requirement churn of one client over one window (the module's docstring)."""
    return prepare_requirement_churn(activity, policy).measure(window)


# --- scope pressure ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Creep:
    ts: float
    issue: str
    quanta: int
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class ScopePressureData:
    """Every change of creep in the headline unit, dated, in quanta of the unit."""

    changes: tuple[_Creep, ...]
    times: tuple[float, ...]
    scale: int
    contracted: float
    policy: RiskPolicy

    def measure(self, window: Window, *, evidence: bool = True) -> Measurement:
        """Creep percentage points added per week in ``window``."""
        weeks = window.weeks(self.policy.working.zone)
        if weeks <= 0 or self.contracted <= 0:
            return NOTHING
        chosen = [self.changes[i] for i in span(self.times, window.since, window.until)]
        added = sum(c.quanta for c in chosen) / self.scale
        points = added / self.contracted * 100
        found: tuple[Evidence, ...] = ()
        if evidence:
            found = tuple(c.evidence for c in reversed(chosen) if c.quanta > 0)[:EVIDENCE_LIMIT]
        return Measurement(
            value=points / weeks,
            basis=len(chosen),
            details={"creep_points": round(points, 3), "weeks": round(weeks, 3)},
            evidence=found,
        )


def prepare_scope_pressure(activity: ClientActivity, policy: RiskPolicy) -> ScopePressureData:
    """Read the creep entries of the scope ledger (the summary's own) for the headline unit."""
    contract = activity.context.contract
    unit = contract.headline_unit
    index = UNIT_INDEX[unit]
    creep_buckets = (int(Bucket.ADDED), int(Bucket.INFLATION))
    changes: list[_Creep] = []
    for issue in activity.issues:
        for at, bucket, entry_unit, quanta in entries(issue.facts, contract):
            if entry_unit != index or bucket not in creep_buckets:
                continue
            detail = "entered the scope" if bucket == Bucket.ADDED else "estimate grew"
            if quanta < 0:
                detail = "approved as a change request"
            changes.append(
                _Creep(
                    at.timestamp(),
                    issue.key,
                    quanta,
                    Evidence(
                        issue=issue.key,
                        at=at,
                        kind=EvidenceKind.SCOPE_ADDED,
                        detail=f"{detail}: {quanta / SCALE[unit]:g} {unit.value}",
                    ),
                )
            )
    changes.sort(key=lambda c: c.ts)
    return ScopePressureData(
        changes=tuple(changes),
        times=tuple(c.ts for c in changes),
        scale=SCALE[unit],
        contracted=contract.scope[unit],
        policy=policy,
    )


def scope_pressure(activity: ClientActivity, window: Window, policy: RiskPolicy) -> Measurement:
    """Scope pressure of one client over one window (the module's docstring)."""
    return prepare_scope_pressure(activity, policy).measure(window)
