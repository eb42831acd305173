"""The client-risk part of ``scopeguard.yaml``: who is who, and the ``risk:`` section.

- ``agency.team``: the agency's people: Jira account ids, emails, or Jira groups
  (``group:Designers``) whose members the sync looks up. Anyone else acting on a
  client's issues is the client.
- ``clients[].client_users``: the client's people, named explicitly (the same forms).
- ``clients[].pm``: the client's project manager (an account id), or a list of
  ``{account, since, until}`` when the PM changed; default: the agency account
  assigned to most of the client's issues.
- ``risk:``: windows, thresholds, weights, the late-night span, priorities,
  ignored accounts (bots) and lexicon additions.

Each entry of a people list is a string (``712020:ab12…``, ``pm@agency.example``,
``group:Designers``) or a mapping ``{account | email | group, since, until}``;
``since``/``until`` are dates (00:00 in the agency's zone) or datetimes.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from scopeguard.domain.risk.lexicon import LexiconKind
from scopeguard.domain.risk.people import Member, PmAssignment
from scopeguard.domain.risk.policy import DEFAULT_PRIORITIES, PriorityScale, RiskPolicy
from scopeguard.domain.risk.signals import SignalName
from scopeguard.domain.risk.worktime import WorkingTime


class _Strict(BaseModel):
    # The same rule as every other section: an unknown key is a mistake, not a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_GROUP_PREFIX = "group:"


def _moment(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return datetime.combine(value, time.min, tzinfo=zone)


class PersonSettings(_Strict):
    """One person or group of a people list, optionally for a period."""

    account: str | None = Field(default=None, min_length=1)
    email: str | None = None
    group: str | None = Field(default=None, min_length=1)
    since: date | datetime | None = None
    until: date | datetime | None = None

    @model_validator(mode="after")
    def _one_name(self) -> PersonSettings:
        named = [v for v in (self.account, self.email, self.group) if v is not None]
        if len(named) != 1:
            raise ValueError("name exactly one of account, email, group")
        if self.email is not None and not _EMAIL.match(self.email):
            raise ValueError(f"{self.email!r} is not an email address")
        if self.since is not None and self.until is not None:
            since, until = (
                _moment(self.since, ZoneInfo("UTC")),
                _moment(self.until, ZoneInfo("UTC")),
            )
            if until <= since:
                raise ValueError("`until` must be after `since`")
        return self

    def member(self, zone: ZoneInfo) -> Member:
        """The domain's entry, with bare dates read in the agency's zone."""
        return Member(
            account=self.account,
            email=self.email,
            group=self.group,
            since=None if self.since is None else _moment(self.since, zone),
            until=None if self.until is None else _moment(self.until, zone),
        )


def _person(value: Any) -> Any:
    """A string entry becomes its mapping: an email, ``group:<name>``, else an account id."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.casefold().startswith(_GROUP_PREFIX):
        return {"group": text[len(_GROUP_PREFIX) :].strip()}
    if "@" in text:
        return {"email": text}
    return {"account": text}


Person = Annotated[PersonSettings, BeforeValidator(_person)]


class PmSettings(_Strict):
    """The client's PM for a period."""

    account: str = Field(min_length=1)
    since: date | datetime | None = None
    until: date | datetime | None = None

    def assignment(self, zone: ZoneInfo) -> PmAssignment:
        """The domain's assignment, with bare dates read in the agency's zone."""
        return PmAssignment(
            account=self.account,
            since=None if self.since is None else _moment(self.since, zone),
            until=None if self.until is None else _moment(self.until, zone),
        )


def _pms(value: Any) -> Any:
    """``pm: ACCOUNT`` is a list of one; list items may be plain account ids too."""
    if value is None:
        return ()
    if isinstance(value, str | dict):
        value = [value]
    if isinstance(value, list | tuple):
        return [{"account": item} if isinstance(item, str) else item for item in value]
    return value


Pms = Annotated[tuple[PmSettings, ...], BeforeValidator(_pms)]


class LateNightSettings(_Strict):
    """The late-night span of the off-hours signal (across midnight when start > end)."""

    start: time = time(22, 0)
    end: time = time(7, 0)

    @model_validator(mode="after")
    def _span(self) -> LateNightSettings:
        if self.start == self.end:
            raise ValueError("risk.late_night.start and end must differ")
        return self


class WeightsSettings(_Strict):
    """The signals' weights within each half (client side, agency side)."""

    off_hours: float = Field(default=1.0, ge=0)
    vague_briefs: float = Field(default=1.0, ge=0)
    revision_churn: float = Field(default=2.0, ge=0)
    requirement_churn: float = Field(default=1.0, ge=0)
    escalation: float = Field(default=1.0, ge=0)
    approval_drag: float = Field(default=1.0, ge=0)
    scope_pressure: float = Field(default=2.0, ge=0)
    pm_change_request: float = Field(default=1.0, ge=0)
    responsiveness: float = Field(default=1.0, ge=0)
    neglect: float = Field(default=1.0, ge=0)

    @model_validator(mode="after")
    def _each_half(self) -> WeightsSettings:
        values = self.as_mapping()
        client = sum(values[n] for n in SignalName if n not in _AGENCY)
        agency = sum(values[n] for n in _AGENCY)
        if client <= 0 or agency <= 0:
            raise ValueError("give at least one client-side and one agency-side signal a weight")
        return self

    def as_mapping(self) -> dict[SignalName, float]:
        """Weights by signal."""
        return {name: float(getattr(self, name.value)) for name in SignalName}


_AGENCY = frozenset({SignalName.RESPONSIVENESS, SignalName.NEGLECT})


class LexiconSettings(_Strict):
    """Phrases added to the shipped lexicons, per kind (English or Russian, any word form)."""

    vague: tuple[str, ...] = ()
    undocumented: tuple[str, ...] = ()
    urgent: tuple[str, ...] = ()
    deadline: tuple[str, ...] = ()
    acceptance: tuple[str, ...] = ()
    pm_change: tuple[str, ...] = ()

    def additions(self) -> dict[LexiconKind, tuple[str, ...]]:
        """The phrases by kind, for :meth:`~scopeguard.domain.risk.lexicon.Lexicon.extended`."""
        return {kind: tuple(getattr(self, kind.value)) for kind in LexiconKind}


Priority = str | tuple[str, ...]


class RiskSettings(_Strict):
    """The ``risk:`` section."""

    window_weeks: int = Field(default=4, ge=1, le=26)
    """Each weekly score looks at this many weeks ending with that week."""
    early_weeks: int = Field(default=3, ge=1, le=26)
    """The early warning compares a contract's first this-many weeks with the others'."""
    elevated_score: float = Field(default=50.0, ge=0, le=100)
    alert_score: float = Field(default=75.0, ge=0, le=100)
    """The score from which a client's level is high (and client_risk_high alerts)."""
    min_actions: int = Field(default=5, ge=1)
    """Fewer counted client actions than this in a window: not enough data."""
    min_peers: int = Field(default=2, ge=1)
    """Signals are normalised against at least this many other clients."""
    min_words: int = Field(default=30, ge=1)
    """Briefs and descriptions shorter than this many words are too short."""
    late_night: LateNightSettings = LateNightSettings()
    weights: WeightsSettings = WeightsSettings()
    priorities: tuple[Priority, ...] = DEFAULT_PRIORITIES
    """Priority names highest first; a list in one place names equal priorities."""
    ignore: tuple[Person, ...] = ()
    """Accounts whose actions count for neither side (automation bots)."""
    lexicon: LexiconSettings = LexiconSettings()

    @model_validator(mode="after")
    def _thresholds(self) -> RiskSettings:
        if self.elevated_score > self.alert_score:
            raise ValueError("risk.elevated_score must not be above risk.alert_score")
        if not self.priorities:
            raise ValueError("risk.priorities needs at least one priority")
        return self

    def policy(self, zone: ZoneInfo, days: tuple[str, ...], start: time, end: time) -> RiskPolicy:
        """The engine's policy on the agency's working hours."""
        working = WorkingTime.named(
            zone, days, start, end, late_start=self.late_night.start, late_end=self.late_night.end
        )
        return RiskPolicy(
            working=working,
            weights=self.weights.as_mapping(),
            window_weeks=self.window_weeks,
            early_weeks=self.early_weeks,
            elevated_score=self.elevated_score,
            alert_score=self.alert_score,
            min_actions=self.min_actions,
            min_peers=self.min_peers,
            min_words=self.min_words,
            priorities=PriorityScale(self.priorities),
        )
