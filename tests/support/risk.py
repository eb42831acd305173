"""Client-risk test data: people, policies, records, and whole clients built from a persona.

:func:`persona_client` lays out one client's weeks of work as Jira would have
recorded them (issues, transitions, comments, edits) from a :class:`Persona`
that says how the client behaves and how the agency answers. Everything is
placed relative to a given start in Moscow time and is deterministic for its
seed, so a test reads the same next year.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from scopeguard.adapters.lexicons import shipped_lexicon
from scopeguard.adapters.morphology import morphology
from scopeguard.domain.context import ClientContext
from scopeguard.domain.contract import Contract
from scopeguard.domain.risk.activity import ClientActivity, client_activity
from scopeguard.domain.risk.engine import ClientRecord
from scopeguard.domain.risk.lexicon import PhraseMatcher
from scopeguard.domain.risk.people import ClientPeople, Member, PmAssignment, Sides
from scopeguard.domain.risk.policy import RiskPolicy
from scopeguard.domain.risk.signals import Window, utc
from scopeguard.domain.risk.worktime import WorkingTime
from tests.support.issues import (
    MSK,
    RULES,
    STATUSES,
    IssueBuilder,
    account_of,
    make_contract,
    msk,
)

PM = "Paula Manager"
DEV = "Dmitri Developer"
DESIGNER = "Olga Designer"
AGENCY_PEOPLE = (PM, DEV, DESIGNER)
TEAM = tuple(Member(account=account_of(name)) for name in AGENCY_PEOPLE)
"""The agency's team as ``agency.team`` would list it."""


@cache
def matcher() -> PhraseMatcher:
    """The shipped lexicon compiled with the real morphology (one per test session)."""
    return PhraseMatcher(shipped_lexicon(), morphology())


def working(zone: ZoneInfo = MSK, **changes: object) -> WorkingTime:
    """Mon–Fri 09:00–19:00 in ``zone`` unless told otherwise."""
    values: dict[str, object] = {"days": (0, 1, 2, 3, 4), "start": time(9), "end": time(19)}
    values.update(changes)
    return WorkingTime(zone, **values)  # type: ignore[arg-type]


def policy(zone: ZoneInfo = MSK, **changes: object) -> RiskPolicy:
    """The default policy on :func:`working` time."""
    return RiskPolicy(working(zone), **changes)  # type: ignore[arg-type]


def people(
    *,
    client_users: Sequence[Member] = (),
    pm: Sequence[PmAssignment] = (),
    team: Sequence[Member] = TEAM,
) -> ClientPeople:
    """Sides with the agency's :data:`TEAM` (and anyone else as the client)."""
    return ClientPeople(Sides(team, client_users), tuple(pm))


def record(
    key: str,
    builders: Sequence[IssueBuilder],
    *,
    contract: Contract | None = None,
    client_people: ClientPeople | None = None,
) -> ClientRecord:
    """One client's record for the engine, on the test site's statuses and rules."""
    context = ClientContext.of(contract or make_contract(), RULES, STATUSES, None)
    return ClientRecord(
        key=key,
        context=context,
        issues=tuple(builder.build() for builder in builders),
        people=client_people or people(),
    )


# --- personas -------------------------------------------------------------------------


@dataclass(frozen=True)
class Persona:
    """How a client behaves and how the agency answers it."""

    client: str
    """The client's person (its account is derived from the first name)."""
    night: float = 0.0
    """Share of the client's comments and moves written at night or at the weekend."""
    vague: bool = False
    """Briefs like "make it pop" without acceptance criteria (else clear ones)."""
    rounds: int = 0
    """Revision rounds per issue."""
    edits: int = 0
    """Description rewrites per issue once work has started."""
    escalate: bool = False
    """Raises priorities, pulls due dates in, writes "urgent"."""
    approval_hours: float = 4.0
    """Working hours the client takes to act on work in review."""
    reply_hours: float = 2.0
    """Hours the agency takes to answer the client."""
    skip_days: float = 0.0
    """Probability that the agency answers a client comment only days later."""
    pm_request: bool = False
    """The client asks for another project manager."""
    creep: int = 0
    """Unapproved issues the client adds after the baseline."""
    issues: int = 10
    seed: int = 1
    client_creates: bool = True
    notes: list[str] = field(default_factory=list, compare=False)


_VAGUE_BRIEFS = (
    ("Make the homepage pop", "Something that wows. You know what I mean."),
    ("Redo the banner, it feels off", None),
    ("Сделайте лендинг душевно", "Сделайте душевно, убедительно, чтобы глаза горели."),
    ("A few tweaks to checkout", "Make it nicer and more premium, as discussed."),
)
_CLEAR_BRIEF = (
    "Build the {n} contact form with name, email and message fields for the support team. "
    "It posts to the existing support inbox and shows a thank-you note.\n"
    "Acceptance criteria:\n"
    "1. Name, email and message are required and validated before sending.\n"
    "2. A confirmation email reaches the sender within a minute.\n"
    "3. The form works on the two latest versions of Chrome, Safari and Firefox."
)
_DEMANDING_COMMENTS = (
    "Not there yet, make it pop more. We need this ASAP!",
    "This looks off on my phone, fix it tonight, urgent.",
    "Срочно переделайте, это совсем не то.",
    "My partner doesn't like the colours, try something more premium.",
)
_CALM_COMMENTS = (
    "Looks good. One copy change: replace 'clinic' with 'clinics' in the second paragraph.",
    "Thanks, please use the logo from the brand folder on the footer.",
)
_PM_REQUEST = (
    "We have waited a week again. Can we get someone else on this? "
    "We would like a different project manager."
)


class _Clock:
    """Moments in or out of the agency's working hours, after a given one (Moscow)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def work(self, after: datetime, hours: float) -> datetime:
        """About ``hours`` after ``after``, moved forward into working hours (10:00–18:00)."""
        local = (after + timedelta(hours=hours)).astimezone(MSK)
        while local.weekday() >= 5 or not 10 <= local.hour < 18:
            if local.hour < 10 and local.weekday() < 5:
                local = datetime.combine(local.date(), time(10), MSK)
            else:
                local = datetime.combine(local.date() + timedelta(days=1), time(10), MSK)
        return local + timedelta(minutes=self.rng.randrange(1, 30))

    def night(self, after: datetime) -> datetime:
        """Late that evening, or at the weekend, after ``after``."""
        local = after.astimezone(MSK)
        if self.rng.random() < 0.6:
            moment = datetime.combine(local.date(), time(23, self.rng.randrange(5, 55)), MSK)
        else:
            saturday = local.date() + timedelta(days=(5 - local.weekday()) % 7)
            moment = datetime.combine(saturday, time(12 + self.rng.randrange(8)), MSK)
        while moment <= after:
            moment += timedelta(days=1)
        return moment


def _text(moment: datetime) -> str:
    return moment.astimezone(MSK).replace(tzinfo=None).isoformat(sep=" ", timespec="minutes")


def persona_client(
    key: str, persona: Persona, *, start: datetime, weeks: int
) -> list[IssueBuilder]:
    """The issues of one client over ``weeks`` weeks from ``start`` (see the module docstring).

    The baseline is a week after ``start``: later issues are approved change
    requests, except the persona's ``creep`` ones, which come last.
    """
    rng = random.Random(persona.seed)
    clock = _Clock(rng)
    client = persona.client
    limit = start + timedelta(weeks=weeks)
    baseline = start + timedelta(weeks=1)
    builders: list[IssueBuilder] = []
    total = persona.issues + persona.creep
    for number in range(1, total + 1):
        day = start + timedelta(days=(number - 1) * (7 * weeks - 10) / total)
        night = rng.random() < persona.night

        def when(after: datetime, hours: float, client_side: bool, *, n: bool = night) -> datetime:
            if client_side and n:
                return clock.night(after)
            return clock.work(after, hours)

        created = when(day, 1.0, persona.client_creates)
        creator = client if persona.client_creates else PM
        builder = IssueBuilder(f"{key}-{number}", _text(created)).by(creator)
        if persona.client_creates and persona.vague:
            summary, description = _VAGUE_BRIEFS[number % len(_VAGUE_BRIEFS)]
        else:
            summary, description = f"Contact form {number}", _CLEAR_BRIEF.format(n=number)
        builder.titled(summary).described(description)
        builder.prioritised("Highest" if persona.escalate and number % 3 == 0 else "Medium")
        if persona.escalate:
            builder.due((created + timedelta(days=30)).date().isoformat())
        if number <= persona.issues and created >= baseline:
            # Later work of an honest client arrives as an approved change request.
            builder.labelled("change-request")
        moment = created
        # The agency picks it up.
        moment = when(moment, persona.reply_hours, False)
        if rng.random() < persona.skip_days:
            moment = clock.work(moment + timedelta(days=3), 1)
        builder.assign(PM, _text(moment), by=PM)
        moment = clock.work(moment, 1)
        builder.to("In Progress", _text(moment), by=DEV)
        for edit in range(persona.edits):
            moment = when(moment, 3, True, n=rng.random() < persona.night)
            builder.edit_description(
                f"{description or summary} Also: change number {edit + 1}.",
                _text(moment),
                by=client,
            )
        if persona.escalate:
            moment = when(moment, 2, True)
            builder.set_priority("High" if number % 3 else "Highest", _text(moment), by=client)
            moment = when(moment, 2, True)
            builder.set_due(
                (created + timedelta(days=10)).date().isoformat(), _text(moment), by=client
            )
        for round_number in range(persona.rounds + 1):
            moment = clock.work(moment, 6)
            builder.to("Client Review", _text(moment), by=DEV)
            moment = when(moment, persona.approval_hours, True)
            last = round_number == persona.rounds
            if not last:
                comments = _DEMANDING_COMMENTS if persona.escalate else _CALM_COMMENTS
                builder.comment(
                    _text(moment), comments[(number + round_number) % len(comments)], by=client
                )
                builder.to("In Progress", _text(moment + timedelta(minutes=2)), by=client)
                reply = when(moment, persona.reply_hours, False)
                if rng.random() < persona.skip_days:
                    reply = clock.work(reply + timedelta(days=3), 1)
                builder.comment(_text(reply), "Thanks, on it: a new version follows.", by=DEV)
                moment = reply
            else:
                builder.to("Done", _text(moment), by=client)
        if persona.pm_request and number == total - 1:
            moment = clock.work(moment, 2)
            builder.comment(_text(moment), _PM_REQUEST, by=client)
        if created < limit:
            builders.append(builder)
    return builders


def persona_record(
    key: str,
    persona: Persona,
    *,
    start: datetime,
    weeks: int,
    contract: Contract | None = None,
) -> ClientRecord:
    """A persona's client as a record, its contract starting at ``start``."""
    builders = persona_client(key, persona, start=start, weeks=weeks)
    scope = contract or make_contract(
        start=start,
        baseline=start + timedelta(weeks=1),
        end=start + timedelta(weeks=weeks + 8),
    )
    return record(key, builders, contract=scope)


def activity(
    builders: Sequence[IssueBuilder],
    *,
    key: str = "ACME",
    contract: Contract | None = None,
    client_people: ClientPeople | None = None,
) -> ClientActivity:
    """One client's issues read as sided actions."""
    built = record(key, builders, contract=contract, client_people=client_people)
    return client_activity(built.key, built.context, built.issues, built.people)


def window(since: str, until: str) -> Window:
    """A window between two Moscow moments (``"2026-10-05 00:00"``)."""
    return Window(utc(msk(since)), utc(msk(until)))
