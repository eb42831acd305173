"""Who is who: the agency's people, the client's people, and the client's project manager.

The agency lists its people (``agency.team``: Jira account ids, emails, or Jira
groups whose members the sync looks up); a client may name its own people
(``clients[].client_users``). Anyone else acting on a client's issues is the
client. Every entry may be limited in time (``since``/``until``), because people
join, leave and change sides. Accounts the agency wants ignored (automation
bots) belong to neither side.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Side(StrEnum):
    """Which side of the engagement an action was taken by."""

    CLIENT = "client"
    AGENCY = "agency"
    NONE = "none"
    """Nobody the signals count: an ignored account (a bot) or an action without an author."""


@dataclass(frozen=True, slots=True)
class Member:
    """One entry of a people list: an account, an email or a group, optionally time-bounded.

    Exactly one of ``account``, ``email`` and ``group`` is set. ``since`` is
    inclusive and ``until`` exclusive; ``None`` leaves that end open.
    """

    account: str | None = None
    email: str | None = None
    group: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if sum(value is not None for value in (self.account, self.email, self.group)) != 1:
            raise ValueError("a member is exactly one of an account, an email or a group")
        for moment in (self.since, self.until):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("member periods need aware moments")
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("a member's `until` must be after its `since`")

    def covers(self, at: datetime) -> bool:
        """Whether the entry applies at ``at``."""
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)

    @property
    def timeless(self) -> bool:
        """Whether the entry applies at every moment."""
        return self.since is None and self.until is None


@dataclass(frozen=True, slots=True)
class Directory:
    """What the sync knows about Jira users: their emails and the members of named groups.

    Team and client lists may name people by email or group; this is how those
    names meet the account ids Jira writes on every action.
    """

    emails: Mapping[str, str] = field(default_factory=dict)
    """Account id → email address (any case)."""
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Group name (any case) → the account ids of its members."""


_Period = tuple[datetime | None, datetime | None]


class Sides:
    """Tells, for one client, whether an account acting at a moment is the agency or the client.

    Order of the rules: an ignored account is nobody's; an account the client's
    own list names (at that moment) is the client, even if it is also in the
    agency's list (a client's people may have accounts on the agency's site);
    an account in the agency's team is the agency; anyone else is the client.
    Deciding is a dictionary look-up for the usual, timeless entries.
    """

    __slots__ = ("_agency", "_client", "_ignored", "_memo")

    def __init__(
        self,
        agency: Iterable[Member],
        client_users: Iterable[Member] = (),
        directory: Directory = Directory(),
        ignored: Iterable[Member] = (),
    ) -> None:
        self._agency = _periods(agency, directory)
        self._client = _periods(client_users, directory)
        self._ignored = _periods(ignored, directory)
        self._memo: dict[str, Side] = {}

    def side(self, account: str | None, at: datetime) -> Side:
        """The side of ``account`` acting at ``at``; an action without an account is nobody's."""
        if account is None:
            return Side.NONE
        known = self._memo.get(account)
        if known is not None:
            return known
        ignored = self._ignored.get(account)
        client = self._client.get(account)
        agency = self._agency.get(account)
        timed = any(
            periods is not None and any(period != (None, None) for period in periods)
            for periods in (ignored, client, agency)
        )
        if _within(ignored, at):
            side = Side.NONE
        elif _within(client, at):
            side = Side.CLIENT
        elif _within(agency, at):
            side = Side.AGENCY
        else:
            side = Side.CLIENT
        if not timed:
            self._memo[account] = side
        return side

    def is_agency(self, account: str | None, at: datetime) -> bool:
        """Whether ``account`` acts for the agency at ``at``."""
        return self.side(account, at) is Side.AGENCY


def _periods(members: Iterable[Member], directory: Directory) -> dict[str, list[_Period]]:
    """Account id → the periods in which the list names it (emails and groups resolved)."""
    by_email: dict[str, list[str]] = {}
    for account, email in directory.emails.items():
        by_email.setdefault(email.casefold(), []).append(account)
    groups = {name.casefold(): accounts for name, accounts in directory.groups.items()}
    found: dict[str, list[_Period]] = {}
    for member in members:
        period = (member.since, member.until)
        if member.account is not None:
            accounts: Iterable[str] = (member.account,)
        elif member.email is not None:
            # Data Center often writes the email, or the user name, as the account.
            accounts = (*by_email.get(member.email.casefold(), ()), member.email)
        else:
            accounts = groups.get((member.group or "").casefold(), frozenset())
        for account in accounts:
            found.setdefault(account, []).append(period)
    return found


def _within(periods: list[_Period] | None, at: datetime) -> bool:
    if not periods:
        return False
    return any(
        (since is None or at >= since) and (until is None or at < until) for since, until in periods
    )


@dataclass(frozen=True, slots=True)
class PmAssignment:
    """The client's project manager for a period (``clients[].pm``)."""

    account: str
    since: datetime | None = None
    until: datetime | None = None

    def covers(self, at: datetime) -> bool:
        """Whether this assignment applies at ``at``."""
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)


def pm_at(assignments: Iterable[PmAssignment], default: str | None, at: datetime) -> str | None:
    """The client's PM at ``at``: the configured assignment covering it, else ``default``."""
    for assignment in assignments:
        if assignment.covers(at):
            return assignment.account
    return default


@dataclass(frozen=True, slots=True)
class ClientPeople:
    """Everything the signals need to know about the people of one client."""

    sides: Sides
    pm: tuple[PmAssignment, ...] = ()
    """Configured PMs; empty: the most frequent agency assignee of the client's issues."""
