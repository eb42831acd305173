"""Off-hours pressure: how much of what the client does lands outside the agency's working hours.

Counted actions are the client's issues created, comments written or edited,
status and priority changes (:data:`~scopeguard.domain.risk.activity.PRESSURE_KINDS`),
each placed on the agency's clock (``agency.timezone``), wherever the client is::

    off_hours  = actions outside agency.working_hours ÷ actions
    late_night = actions between risk.late_night.start and .end (22:00–07:00) ÷ actions
    weekend    = actions on days that are not working days ÷ actions
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scopeguard.domain.risk.activity import (
    PRESSURE_KINDS,
    Action,
    ClientActivity,
    action_evidence,
)
from scopeguard.domain.risk.policy import RiskPolicy
from scopeguard.domain.risk.signals import (
    EVIDENCE_LIMIT,
    NOTHING,
    Evidence,
    Measurement,
    Window,
)
from scopeguard.domain.risk.stats import span


@dataclass(frozen=True, slots=True)
class OffHoursData:
    """The client's counted actions, each classified once, with running counts."""

    actions: tuple[Action, ...]
    times: tuple[float, ...]
    off: tuple[bool, ...]
    late: tuple[bool, ...]
    rest: tuple[bool, ...]
    names: dict[str, str]
    running: tuple[tuple[int, int, int], ...] = field(init=False, repr=False, compare=False)
    """(off, late, rest) counts of the actions before each index (one more entry than
    actions), so a window's counts are two look-ups rather than a sum over its actions."""

    def __post_init__(self) -> None:
        counts = [(0, 0, 0)]
        off = late = rest = 0
        for is_off, is_late, is_rest in zip(self.off, self.late, self.rest, strict=True):
            off += is_off
            late += is_late
            rest += is_rest
            counts.append((off, late, rest))
        object.__setattr__(self, "running", tuple(counts))

    def measure(self, window: Window, *, evidence: bool = True) -> Measurement:
        """The shares over ``window`` (the module's docstring)."""
        indices = span(self.times, window.since, window.until)
        total = len(indices)
        if total == 0:
            return NOTHING
        before, after = self.running[indices.start], self.running[indices.stop]
        off = after[0] - before[0]
        late = after[1] - before[1]
        rest = after[2] - before[2]
        found: tuple[Evidence, ...] = ()
        if evidence:
            # The latest first: what is happening now matters more than months ago.
            found = tuple(
                action_evidence(self.actions[i], self.names)
                for i in reversed(indices)
                if self.off[i]
            )[:EVIDENCE_LIMIT]
        return Measurement(
            value=off / total,
            basis=total,
            details={"late_night": late / total, "weekend": rest / total, "off_hours_actions": off},
            evidence=found,
        )


def prepare_off_hours(activity: ClientActivity, policy: RiskPolicy) -> OffHoursData:
    """Classify each counted client action once (see the module's docstring)."""
    working = policy.working
    actions = tuple(
        a for a in activity.client_actions if a.kind in PRESSURE_KINDS and not a.internal
    )
    classified = [working.classify(a.at) for a in actions]
    return OffHoursData(
        actions=actions,
        times=tuple(a.ts for a in actions),
        off=tuple(not in_hours for in_hours, _, _ in classified),
        late=tuple(late for _, late, _ in classified),
        rest=tuple(rest for _, _, rest in classified),
        names=dict(activity.names),
    )


def off_hours(activity: ClientActivity, window: Window, policy: RiskPolicy) -> Measurement:
    """Off-hours pressure of one client over one window (the module's docstring)."""
    return prepare_off_hours(activity, policy).measure(window)
