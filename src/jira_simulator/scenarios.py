"""Agency client projects with recognisable behaviours, for demos and end-to-end tests.

Every builder is deterministic for its seed and lays its events out relative to
``now`` in the agency's time zone, so a demo run today and a test run next year
show the same story. Events of all issues are collected on a :class:`Timeline`
and applied in chronological order, which keeps history ids growing with time
across the dataset, as in Jira.

* :func:`toxic_client` – past its limits: deliverables bounced back from Client
  Review 3–5 times, reopened after acceptance, lots of unlabelled scope added
  after the baseline (only two change requests), story-point inflation, vague
  requests, the client commenting at midnight and at weekends.
* :func:`healthy_client` – within limits: at most one revision round per issue,
  approved change requests labelled, no reopens.
* :func:`retainer_client` – a monthly retainer: steady pre-approved tickets,
  moderate revisions.
* :func:`neglected_client` – the PM is the problem: slow answers, days without agency
  activity while the client waits, the project ignored, a request for another PM.
* :func:`agency` – all four on one timeline, returning :class:`ScenarioClient`
  records with a matching contract for the ScopeGuard configuration, and the
  time the agency logged on them (:mod:`jira_simulator.timesheets`).
* :func:`fleet` – any number of such clients (the stories in turn), for
  the multi-worker load tests.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jira_simulator import timesheets
from jira_simulator.dataset import Author, Dataset

CLIENT_REVIEW = "Client Review"
ACCEPTED_RU = "Принято клиентом"
CHANGE_REQUEST_LABEL = "change-request"
RETAINER_LABEL = "retainer"

AGENCY_DEVS: tuple[Author, ...] = (
    ("712020:agency-dev-ivan", "Ivan Petrov"),
    ("712020:agency-dev-maria", "Maria Sokolova"),
    ("712020:agency-dev-oleg", "Oleg Kuznetsov"),
)
AGENCY_PM: Author = ("712020:agency-pm", "Agency PM")
AGENCY_GROUP = "agency-staff"
"""The Jira group of the agency's people (``agency.team: [group:agency-staff]``)."""


@dataclass(frozen=True, slots=True)
class ScenarioClient:
    """One simulated client: its project and the contract ScopeGuard should check.

    ``contract`` has the keys of the configuration's ``contract`` section: ``start``,
    ``end``, ``baseline`` (dates, read as midnight in the agency's zone), ``scope``
    (``issues``, ``story_points``, ``hours``), ``revisions_per_issue``,
    ``revisions_total``, ``reopen_limit``, ``creep_alert_percent``,
    ``change_request_label``, ``hourly_rate`` and ``currency``.
    """

    key: str
    name: str
    project_key: str
    contract: dict[str, Any]
    behaviour: str

    @property
    def jql(self) -> str:
        """The JQL selecting the client's issues."""
        return f"project = {self.project_key}"


class Timeline:
    """Actions stamped with a moment, applied in chronological order by :meth:`run`."""

    def __init__(self) -> None:
        self._events: list[tuple[datetime, int, Callable[[], object]]] = []

    def at(self, moment: datetime, action: Callable[[], object]) -> None:
        """Schedule ``action`` at ``moment`` (ties keep scheduling order)."""
        self._events.append((moment, len(self._events), action))

    def run(self) -> int:
        """Apply every scheduled action; returns how many ran."""
        events = sorted(self._events, key=lambda event: (event[0], event[1]))
        self._events = []
        for _, _, action in events:
            action()
        return len(events)


@dataclass(slots=True)
class _Handle:
    key: str = ""


class _Planner:
    """Random but reproducible moments in (or deliberately out of) working hours."""

    def __init__(
        self, ds: Dataset, timeline: Timeline, rng: random.Random, now: datetime, zone: ZoneInfo
    ):
        self.ds = ds
        self.timeline = timeline
        self.rng = rng
        self.zone = zone
        self.now = now.astimezone(zone)
        self.limit = self.now - timedelta(minutes=5)

    def work_time(self, day: date) -> datetime:
        """A moment between 10:00 and 18:00 on ``day`` (moved to Monday if a weekend)."""
        while day.weekday() >= 5:
            day += timedelta(days=1)
        clock = time(10 + self.rng.randrange(8), self.rng.randrange(60), self.rng.randrange(60))
        return datetime.combine(day, clock, tzinfo=self.zone)

    def after_work(self, moment: datetime, min_hours: float, max_hours: float) -> datetime:
        """A working-hours moment some hours after ``moment``."""
        target = moment + timedelta(hours=self.rng.uniform(min_hours, max_hours))
        local = target.astimezone(self.zone)
        candidate = self.work_time(local.date())
        if candidate <= moment:
            candidate = self.work_time(local.date() + timedelta(days=1))
        return candidate

    def after_night(self, moment: datetime, min_hours: float, max_hours: float) -> datetime:
        """An out-of-hours moment (around midnight, or a weekend) after ``moment``."""
        target = (moment + timedelta(hours=self.rng.uniform(min_hours, max_hours))).astimezone(
            self.zone
        )
        day = target.date()
        if self.rng.random() < 0.5:
            # Late evening or just past midnight.
            if self.rng.random() < 0.5:
                clock = time(23, 30 + self.rng.randrange(30), self.rng.randrange(60))
            else:
                day += timedelta(days=1)
                clock = time(0, self.rng.randrange(50), self.rng.randrange(60))
        else:
            while day.weekday() < 5:
                day += timedelta(days=1)
            clock = time(
                11 + self.rng.randrange(10), self.rng.randrange(60), self.rng.randrange(60)
            )
        candidate = datetime.combine(day, clock, tzinfo=self.zone)
        while candidate <= moment:
            candidate += timedelta(days=1)
        return candidate


@dataclass(slots=True)
class _Script:
    """The life of one issue, scheduled step by step; stops silently at ``now``."""

    planner: _Planner
    handle: _Handle
    cursor: datetime
    status: str
    alive: bool = True
    events: int = 0
    created: datetime | None = None

    def _moment(self, night: bool, gap: tuple[float, float]) -> datetime | None:
        if not self.alive:
            return None
        planner = self.planner
        moment = (
            planner.after_night(self.cursor, *gap)
            if night
            else planner.after_work(self.cursor, *gap)
        )
        if moment >= planner.limit:
            self.alive = False
            return None
        self.cursor = moment
        self.events += 1
        return moment

    def move(
        self, status: str, author: Author, gap: tuple[float, float] = (2, 48), night: bool = False
    ) -> bool:
        """Transition to ``status``; False once ``now`` is reached."""
        if status == self.status:
            return self.alive
        moment = self._moment(night, gap)
        if moment is None:
            return False
        ds, handle = self.planner.ds, self.handle
        self.planner.timeline.at(moment, lambda: ds.transition(handle.key, status, moment, author))
        self.status = status
        return True

    def set(
        self,
        field_id: str,
        value: Any,
        author: Author,
        gap: tuple[float, float] = (1, 24),
        night: bool = False,
    ) -> bool:
        """Change a field (story points, estimate, labels…)."""
        moment = self._moment(night, gap)
        if moment is None:
            return False
        ds, handle = self.planner.ds, self.handle
        self.planner.timeline.at(
            moment, lambda: ds.set_field(handle.key, field_id, value, moment, author)
        )
        return True

    def comment(
        self, body: str, author: Author, gap: tuple[float, float] = (1, 12), night: bool = False
    ) -> bool:
        """Add a comment."""
        moment = self._moment(night, gap)
        if moment is None:
            return False
        ds, handle = self.planner.ds, self.handle
        self.planner.timeline.at(moment, lambda: ds.add_comment(handle.key, body, moment, author))
        return True


def _create(
    planner: _Planner,
    project: str,
    summary: str,
    created: datetime,
    reporter: Author,
    *,
    issue_type: str = "Story",
    labels: tuple[str, ...] = (),
    story_points: float | None = None,
    estimate_hours: float | None = None,
    description: str | None = None,
    assignee: Author | None = AGENCY_PM,
) -> _Script:
    handle = _Handle()
    ds = planner.ds

    def create() -> None:
        issue = ds.add_issue(
            project=project,
            summary=summary,
            created=created,
            issue_type=issue_type,
            status="To Do",
            labels=labels,
            story_points=story_points,
            original_estimate_seconds=(
                int(estimate_hours * 3600) if estimate_hours is not None else None
            ),
            reporter=reporter,
            description=description,
            assignee=assignee,
        )
        handle.key = issue.key

    planner.timeline.at(created, create)
    return _Script(planner=planner, handle=handle, cursor=created, status="To Do", created=created)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def _begin(
    ds: Dataset,
    key: str,
    name: str,
    *,
    start: datetime,
    now: datetime,
    seed: int,
    timeline: Timeline | None,
) -> _Planner:
    """The planner of one client's builder, with its project and the default workflow.

    Without ``timeline`` the planner gets a timeline of its own, which the builder
    runs at its end (see :func:`_finish`).
    """
    zone = start.tzinfo
    if not isinstance(zone, ZoneInfo):
        raise ValueError("scenario moments must carry a ZoneInfo time zone (the agency's)")
    planner = _Planner(ds, timeline or Timeline(), random.Random(seed), now, zone)
    ds.add_default_workflow()
    if ds.find_project(key) is None:
        ds.add_project(key, name)
    return planner


def _finish(planner: _Planner, timeline: Timeline | None) -> None:
    """Apply the builder's events now unless the caller passed a shared ``timeline``."""
    if timeline is None:
        planner.timeline.run()


def _scope(rows: tuple[tuple[str, float, float], ...]) -> dict[str, float]:
    """The contract ``scope`` of ``(summary, story points, hours)`` baseline rows."""
    return {
        "issues": len(rows),
        "story_points": sum(points for _, points, _ in rows),
        "hours": sum(hours for _, _, hours in rows),
    }


# -- the toxic client --------------------------------------------------------------

_TOXIC_BASELINE = (
    ("Homepage hero section", 3.0, 12.0),
    ("Product listing page", 5.0, 20.0),
    ("Checkout flow redesign", 8.0, 32.0),
    ("Brand style guide", 3.0, 10.0),
    ("Newsletter signup form", 2.0, 6.0),
    ("Store locator page", 5.0, 16.0),
    ("Product detail page", 5.0, 20.0),
    ("Mobile navigation menu", 3.0, 12.0),
    ("Footer and legal pages", 2.0, 6.0),
    ("Order confirmation emails", 3.0, 10.0),
)
_TOXIC_VAGUE = (
    "Make it pop",
    "A few small tweaks to the homepage",
    "Can we make the logo bigger?",
    "Quick change to the checkout colours",
    "Just one more landing page",
    "Redo the banner, it feels off",
    "Small fix: the fonts look weird",
    "Add a couple of animations",
    "Make the product photos nicer",
    "Swap the hero video for something more premium",
)
_TOXIC_CHANGE_REQUESTS = ("Gift card support", "Loyalty programme page")
_TOXIC_BRIEFS = (
    "See the call. Make it pop, it should have the wow factor, you know what I mean. ASAP!",
    "Сделайте душевно и красиво, как обсуждали на созвоне. Срочно, ну вы поняли.",
    None,
)
_TOXIC_NIGHT_TALK = (
    "Why is this still not done?? I need it right now, it looks off.",
    "Опять не то. Сделайте красиво, чтобы глаза горели. Срочно!",
    "Make it pop more. Urgent, the board sees it in the morning.",
    "Это нужно было ещё вчера. Как обсуждали, только душевнее.",
)
_TOXIC_PM_CHANGE = (
    "We want a different project manager on this account. Nothing moves.",
    "Давайте сменим менеджера проекта, так дальше работать нельзя.",
)
_TOXIC_BOUNCE_COMMENTS = (
    "Not quite there yet. Can you make it pop more?",
    "My wife doesn't like the blue. Try something warmer.",
    "We discussed this internally, please go back to the previous version but keep the new one.",
    "Can we see three more options?",
    "Looks off on my phone. Fix it before the board meeting tomorrow morning!",
)


def toxic_client(
    ds: Dataset,
    key: str = "TOX",
    *,
    start: datetime,
    now: datetime,
    name: str = "Toxic Retail Co",
    seed: int = 11,
    timeline: Timeline | None = None,
) -> ScenarioClient:
    """A demanding client well past its contract's limits (see the module docstring).

    ``start`` is the contract start (aware, agency zone); the baseline is two weeks
    later. One issue is created at 00:30 local time on the baseline day: after the
    baseline in the agency's zone, but the previous day in UTC for zones east of it.
    Without ``timeline`` the events are applied immediately.
    """
    planner = _begin(ds, key, name, start=start, now=now, seed=seed, timeline=timeline)
    rng = planner.rng
    client: Author = (f"712020:{key.lower()}-client-victor", f"Victor Grant ({name})")
    client_boss: Author = (f"712020:{key.lower()}-client-ceo", f"Diana Frost ({name})")
    baseline_day = start.date() + timedelta(days=14)
    baseline = _midnight(baseline_day, planner.zone)

    scripts: list[_Script] = []
    for index, (summary, points, hours) in enumerate(_TOXIC_BASELINE):
        created = planner.work_time(start.date() + timedelta(days=index % 10))
        scripts.append(
            _create(
                planner,
                key,
                summary,
                created,
                AGENCY_PM,
                story_points=points,
                estimate_hours=hours,
                description=f"Deliverable from the statement of work: {summary.lower()}.",
            )
        )

    # The midnight issue: 00:30 local on the baseline day.
    midnight_issue = _create(
        planner,
        key,
        "Urgent: holiday banner on every page",
        baseline + timedelta(minutes=30),
        client,
        story_points=2.0,
        description="Need this live ASAP, it's just a banner.",
    )

    added: list[_Script] = [midnight_issue]
    span_days = max(1, (planner.now.date() - baseline_day).days - 20)
    for index, summary in enumerate(_TOXIC_VAGUE):
        day = baseline_day + timedelta(days=1 + (index * span_days) // len(_TOXIC_VAGUE))
        created = (
            planner.after_night(_midnight(day, planner.zone), 0, 6)
            if index % 3 == 0
            else planner.work_time(day)
        )
        if created >= planner.limit:
            continue
        added.append(
            _create(
                planner,
                key,
                summary,
                created,
                client,
                issue_type="Task" if index % 2 else "Story",
                story_points=float(rng.choice((1, 2, 3))),
                # Same three choices as ever (the seed's sequence is kept), now with words.
                description=rng.choice(_TOXIC_BRIEFS),
            )
        )
    for index, summary in enumerate(_TOXIC_CHANGE_REQUESTS):
        day = baseline_day + timedelta(days=10 + index * 25)
        created = planner.work_time(day)
        if created >= planner.limit:
            continue
        added.append(
            _create(
                planner,
                key,
                summary,
                created,
                AGENCY_PM,
                labels=(CHANGE_REQUEST_LABEL,),
                story_points=5.0,
                estimate_hours=16.0,
                description="Approved change request, signed by the client.",
            )
        )

    reopen_targets = {1, 3, 6, 8}
    inflation = {0: (5.0, 8.0), 2: (13.0,), 5: (8.0,), 6: (8.0, 13.0), 9: (5.0,)}
    for index, script in enumerate(scripts):
        dev = AGENCY_DEVS[index % len(AGENCY_DEVS)]
        # Work starts once the baseline is set.
        script.cursor = max(script.cursor, baseline - timedelta(days=2)) + timedelta(days=index * 4)
        rounds = 3 + index % 3  # 3, 4 or 5 bounce-backs
        if not script.move("In Progress", dev, gap=(4, 30)):
            continue
        for bump in inflation.get(index, ()):
            script.set("story_points", bump, client, gap=(6, 60))
            script.set("timeoriginalestimate", int(bump * 4 * 3600), AGENCY_PM, gap=(1, 6))
        for _ in range(rounds):
            script.move(CLIENT_REVIEW, dev, gap=(24, 96))
            night = rng.random() < 0.7
            script.comment(rng.choice(_TOXIC_BOUNCE_COMMENTS), client, gap=(3, 30), night=night)
            script.move("In Progress", client, gap=(0.2, 3), night=night)
        script.move(CLIENT_REVIEW, dev, gap=(24, 72))
        accepted = ACCEPTED_RU if index % 2 else "Done"
        script.move(accepted, client_boss if index % 4 == 0 else client, gap=(24, 96))
        if index in reopen_targets:
            script.comment("Actually this is broken again. Reopening.", client, night=True)
            script.move("In Progress", client, gap=(0.1, 1), night=True)
            script.move(CLIENT_REVIEW, dev, gap=(24, 72))
            script.move("Done", client, gap=(24, 96))
            if index == 6:
                # Reopened twice.
                script.move("In Progress", client, gap=(48, 120), night=True)
                script.move(CLIENT_REVIEW, dev, gap=(24, 72))

    for index, script in enumerate(added):
        dev = AGENCY_DEVS[(index + 1) % len(AGENCY_DEVS)]
        if index % 3 == 0:
            script.comment(
                "Any update?? This is a one-minute job.", client, gap=(12, 48), night=True
            )
        if not script.move("In Progress", dev, gap=(12, 72)):
            continue
        for _ in range(1 + index % 3):
            script.move(CLIENT_REVIEW, dev, gap=(24, 96))
            script.move("In Progress", client, gap=(2, 48), night=rng.random() < 0.5)
        script.move(CLIENT_REVIEW, dev, gap=(24, 72))
        if index % 4 != 3:
            script.move("Done", client, gap=(24, 96))

    _talk(planner, scripts + added, client, client_boss, seed)
    _finish(planner, timeline)
    return ScenarioClient(
        key=key,
        name=name,
        project_key=key,
        behaviour=(
            "Past its limits: 3–5 revision rounds per deliverable, reopens after "
            "acceptance, unlabelled scope added after the baseline, story-point "
            "inflation, night and weekend requests."
        ),
        contract={
            "start": start.date(),
            "end": (planner.now + timedelta(days=45)).date(),
            "baseline": baseline_day,
            "scope": _scope(_TOXIC_BASELINE),
            "revisions_per_issue": 2,
            "revisions_total": 20,
            "reopen_limit": 2,
            "creep_alert_percent": 10.0,
            "change_request_label": CHANGE_REQUEST_LABEL,
            "hourly_rate": 95.0,
            "currency": "EUR",
        },
    )


def _talk(
    planner: _Planner, scripts: list[_Script], client: Author, boss: Author, seed: int
) -> None:
    """The demanding client's words: urgent, vague messages around midnight (English and
    Russian), answered by the PM in the morning, and two requests for another PM.

    Laid on the timeline beside the issues' lives with a generator of their own, so the
    issues' histories (and every scope figure) are the same as without them.
    """
    rng = random.Random(seed * 7919)
    zone = planner.zone
    for index in range(30):
        script = scripts[index % len(scripts)]
        start = script.created or planner.limit
        if start >= planner.limit:
            continue
        moment = start + (planner.limit - start) * rng.random()
        day = moment.astimezone(zone).date()
        late = datetime.combine(day, time(23, 10 + rng.randrange(45)), tzinfo=zone)
        answer = _first_thing(day + timedelta(days=1), zone, rng)
        if late <= start or answer >= planner.limit:
            continue
        text = _TOXIC_NIGHT_TALK[index % len(_TOXIC_NIGHT_TALK)]
        _say(planner, script.handle, late, text, boss if index % 5 == 0 else client)
        _say(
            planner,
            script.handle,
            answer,
            "Morning! On it, a new version follows today.",
            AGENCY_PM,
        )
    for index, text in enumerate(_TOXIC_PM_CHANGE):
        when = planner.work_time((planner.limit - timedelta(days=9 - 4 * index)).date())
        reply = when + timedelta(minutes=20 + rng.randrange(40))
        if reply < planner.limit:
            _say(planner, scripts[index].handle, when, text, boss)
            _say(planner, scripts[index].handle, reply, "Understood, let us talk today.", AGENCY_PM)


def _first_thing(day: date, zone: ZoneInfo, rng: random.Random) -> datetime:
    """A moment between 09:05 and 09:55 on ``day``, or on the Monday after a weekend."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(9, 5 + rng.randrange(50)), tzinfo=zone)


_HEALTHY_TALK = (
    (
        "The copy for the second block is attached. Acceptance: matches the attached text, "
        "links checked on mobile.",
        "Thanks, received. It will be on staging tomorrow at noon.",
    ),
    (
        "Добрый день! Текст для раздела во вложении, прошу заменить до пятницы.",
        "Спасибо, заменим в четверг и пришлём ссылку.",
    ),
    ("Staging looks good to us, approved.", "Great, releasing it this afternoon."),
)


def _chat(
    planner: _Planner,
    scripts: list[_Script],
    client: Author,
    start: datetime,
    seed: int,
    *,
    evenings: float = 0.0,
) -> None:
    """A client that writes about once a week, in office hours (but for the ``evenings``
    share, between 19:10 and 21:30), answered within hours (the next morning for those).

    Laid beside the issues' lives with its own generator, as :func:`_talk` is.
    """
    rng = random.Random(seed * 7919)
    day = start.date() + timedelta(days=5)
    index = 0
    while True:
        asked = planner.work_time(day)
        answered = asked + timedelta(minutes=30 + rng.randrange(150))
        if rng.random() < evenings:
            asked = asked.replace(hour=19 + rng.randrange(3), minute=10 + rng.randrange(20))
            answered = _first_thing(asked.date() + timedelta(days=1), planner.zone, rng)
        if answered >= planner.limit:
            return
        question, reply = _HEALTHY_TALK[index % len(_HEALTHY_TALK)]
        open_ones = [s for s in scripts if s.created is not None and s.created < asked]
        if open_ones:
            handle = open_ones[-1 - index % min(3, len(open_ones))].handle
            _say(planner, handle, asked, question, client)
            _say(planner, handle, answered, reply, AGENCY_PM)
        index += 1
        day += timedelta(days=3 + rng.randrange(4))


def _say(planner: _Planner, handle: _Handle, at: datetime, text: str, author: Author) -> None:
    ds = planner.ds
    planner.timeline.at(at, lambda: ds.add_comment(handle.key, text, at, author))


# -- the healthy client ------------------------------------------------------------

_HEALTHY_BASELINE = (
    ("Clinic finder page", 5.0, 16.0),
    ("Appointment booking form", 8.0, 28.0),
    ("Doctor profiles", 3.0, 12.0),
    ("Patient FAQ", 2.0, 6.0),
    ("Insurance partners list", 2.0, 8.0),
    ("Accessibility audit fixes", 5.0, 16.0),
    ("Contact page", 1.0, 4.0),
    ("Blog section", 3.0, 12.0),
    ("Cookie consent banner", 2.0, 6.0),
    ("Analytics setup", 3.0, 8.0),
)
_HEALTHY_CHANGE_REQUESTS = (
    ("Telehealth landing page", 5.0, 16.0),
    ("Spanish translation", 3.0, 12.0),
)


def healthy_client(
    ds: Dataset,
    key: str = "HLT",
    *,
    start: datetime,
    now: datetime,
    name: str = "Harbor Health Clinics",
    seed: int = 23,
    timeline: Timeline | None = None,
) -> ScenarioClient:
    """A client within its limits: ≤1 revision round per issue, labelled change
    requests, no reopens, work in office hours.

    The statement of work is entered in the first days; the baseline is set a week
    after ``start``, so those issues are baseline scope and only the two labelled
    change requests come later.
    """
    planner = _begin(ds, key, name, start=start, now=now, seed=seed, timeline=timeline)
    client: Author = (f"712020:{key.lower()}-client-nina", f"Nina Alvarez ({name})")
    scripts = [
        _create(
            planner,
            key,
            summary,
            planner.work_time(start.date() + timedelta(days=index % 4)),
            AGENCY_PM,
            story_points=points,
            estimate_hours=hours,
            description=f"Statement of work item: {summary.lower()}.",
        )
        for index, (summary, points, hours) in enumerate(_HEALTHY_BASELINE)
    ]
    for index, (summary, points, hours) in enumerate(_HEALTHY_CHANGE_REQUESTS):
        created = planner.work_time(start.date() + timedelta(days=30 + index * 20))
        if created < planner.limit:
            scripts.append(
                _create(
                    planner,
                    key,
                    summary,
                    created,
                    AGENCY_PM,
                    labels=(CHANGE_REQUEST_LABEL,),
                    story_points=points,
                    estimate_hours=hours,
                    description="Change request approved and priced.",
                )
            )
    for index, script in enumerate(scripts):
        dev = AGENCY_DEVS[index % len(AGENCY_DEVS)]
        script.cursor += timedelta(days=index * 3)
        if not script.move("In Progress", dev, gap=(4, 30)):
            continue
        script.move(CLIENT_REVIEW, dev, gap=(48, 120))
        if index % 3 == 0:
            script.comment("Small copy change in the second paragraph, please.", client)
            script.move("In Progress", client, gap=(1, 8))
            script.move(CLIENT_REVIEW, dev, gap=(8, 30))
        script.move(ACCEPTED_RU if index % 2 else "Done", client, gap=(8, 48))
    _chat(planner, scripts, client, start, seed)
    _finish(planner, timeline)
    return ScenarioClient(
        key=key,
        name=name,
        project_key=key,
        behaviour="Within limits: at most one revision round, labelled change requests.",
        contract={
            "start": start.date(),
            "end": (planner.now + timedelta(days=30)).date(),
            "baseline": start.date() + timedelta(days=7),
            "scope": _scope(_HEALTHY_BASELINE),
            "revisions_per_issue": 2,
            "revisions_total": 15,
            "reopen_limit": 2,
            "creep_alert_percent": 10.0,
            "change_request_label": CHANGE_REQUEST_LABEL,
            "hourly_rate": 90.0,
            "currency": "EUR",
        },
    )


# -- the retainer client -----------------------------------------------------------

_RETAINER_TICKETS = (
    "Monthly newsletter template",
    "Update team page",
    "Fix broken links report",
    "Landing page for the spring campaign",
    "Performance tune-up",
    "Social share images",
    "Update pricing table",
    "Podcast episode page",
    "Minor CSS fixes",
    "Event calendar update",
)


def retainer_client(
    ds: Dataset,
    key: str = "RET",
    *,
    start: datetime,
    now: datetime,
    name: str = "Retainly Media Group",
    seed: int = 37,
    tickets_per_month: int = 4,
    timeline: Timeline | None = None,
) -> ScenarioClient:
    """A monthly retainer: ``tickets_per_month`` steady tickets, 0–2 revision rounds.

    Every ticket arrives after the baseline and is pre-approved work under the
    retainer: tickets carry the ``retainer`` label and the contract names that
    label as its change-request label, so they count as approved scope, not creep.
    """
    planner = _begin(ds, key, name, start=start, now=now, seed=seed, timeline=timeline)
    rng = planner.rng
    client: Author = (f"712020:{key.lower()}-client-sam", f"Sam Okafor ({name})")
    months = max(1, round((planner.now - start).days / 30))
    scripts: list[_Script] = []
    for month in range(months):
        for slot in range(tickets_per_month):
            day = start.date() + timedelta(days=month * 30 + slot * 7 + rng.randrange(3))
            created = planner.work_time(day)
            if created >= planner.limit:
                continue
            summary = _RETAINER_TICKETS[(month * tickets_per_month + slot) % len(_RETAINER_TICKETS)]
            scripts.append(
                _create(
                    planner,
                    key,
                    f"{summary} ({created.strftime('%b %Y')})",
                    created,
                    client,
                    issue_type="Task",
                    labels=(RETAINER_LABEL,),
                    story_points=float(rng.choice((1, 2, 3))),
                    estimate_hours=float(rng.choice((2, 4, 6, 8))),
                )
            )
    for index, script in enumerate(scripts):
        dev = AGENCY_DEVS[index % len(AGENCY_DEVS)]
        if not script.move("In Progress", dev, gap=(4, 48)):
            continue
        for _ in range(rng.choice((0, 1, 1, 2))):
            script.move(CLIENT_REVIEW, dev, gap=(24, 72))
            script.move("In Progress", client, gap=(2, 24))
        script.move(CLIENT_REVIEW, dev, gap=(24, 72))
        script.move("Done", client, gap=(8, 48))
    acks = random.Random(seed * 31)
    for script in scripts:
        # Each ticket is acknowledged within the hour: the retainer's service level.
        if script.created is not None:
            ack = script.created + timedelta(minutes=10 + acks.randrange(50))
            if ack < planner.limit:
                _say(planner, script.handle, ack, "Thanks, scheduled for this week.", AGENCY_PM)
    _chat(planner, scripts, client, start, seed, evenings=0.4)
    _finish(planner, timeline)
    end = (planner.now + timedelta(days=30)).date()
    total_months = months + 1
    return ScenarioClient(
        key=key,
        name=name,
        project_key=key,
        behaviour=f"Monthly retainer: about {tickets_per_month} tickets a month, 0–2 revisions.",
        contract={
            "start": start.date(),
            "end": end,
            "baseline": start.date(),
            "scope": {
                "issues": tickets_per_month * total_months,
                "story_points": 8.0 * total_months,
                "hours": 40.0 * total_months,
            },
            "revisions_per_issue": 2,
            "revisions_total": None,
            "reopen_limit": 3,
            "creep_alert_percent": 20.0,
            "change_request_label": RETAINER_LABEL,
            "hourly_rate": 80.0,
            "currency": "EUR",
        },
    )


# -- the neglected client (the PM is the problem) ------------------------------------

AGENCY_PM_SLOW: Author = ("712020:agency-pm-boris", "Boris Volkov")
_NEGLECTED_TICKETS = (
    "Tour search results page",
    "Booking summary email",
    "Destination guide template",
    "Newsletter archive",
    "Travel insurance upsell block",
    "Partner hotels map",
    "Gift voucher checkout",
    "Seasonal offers carousel",
    "Customer reviews widget",
)
_NEGLECTED_BRIEF = (
    "{summary}: the layout follows the approved wireframe v3 in the shared folder, the texts "
    "come from our content team by the 10th, and the page must load in under two seconds on "
    "a mid-range phone.\n\nAcceptance criteria:\n1. Matches wireframe v3 on desktop and "
    "mobile.\n2. All links tracked in analytics.\n3. Reviewed by our editor."
)
_NEGLECTED_QUESTIONS = (
    "Quick question: should the prices include VAT? We need the answer to brief our team.",
    "Подскажите, пожалуйста, когда будет первая версия? Нам нужно согласовать её с партнёрами.",
    "Any news on this? We have been waiting for an answer since last week.",
    "Добрый день! Есть ли новости? Ждём ответа уже несколько дней.",
)


def neglected_client(
    ds: Dataset,
    key: str = "LAG",
    *,
    start: datetime,
    now: datetime,
    name: str = "Lagoon Travel",
    seed: int = 53,
    timeline: Timeline | None = None,
) -> ScenarioClient:
    """A reasonable client whose agency side is the problem: clear briefs with acceptance
    criteria, questions in office hours, quick approvals, and a PM who answers days
    later or not at all; the last weeks the project is ignored, and the client asks for
    another PM. Its verdict should be "check the PM first", not "the client".
    """
    planner = _begin(ds, key, name, start=start, now=now, seed=seed, timeline=timeline)
    rng = planner.rng
    client: Author = (f"712020:{key.lower()}-client-ella", f"Ella Berg ({name})")
    ignored_from = planner.limit - timedelta(days=24)
    scripts: list[_Script] = []
    for index, summary in enumerate(_NEGLECTED_TICKETS):
        # The statement of work, entered by the client in the first days (baseline scope).
        scripts.append(
            _create(
                planner,
                key,
                summary,
                planner.work_time(start.date() + timedelta(days=index % 7)),
                client,
                issue_type="Task",
                story_points=float(rng.choice((2, 3, 5))),
                estimate_hours=float(rng.choice((8, 12, 16))),
                description=_NEGLECTED_BRIEF.format(summary=summary),
                assignee=AGENCY_PM_SLOW,
            )
        )
    for index, script in enumerate(scripts):
        # Each deliverable's turn comes every ten days; the client asks, the agency is slow.
        question = planner.work_time(start.date() + timedelta(days=12 + index * 10))
        if question >= planner.limit:
            continue
        _say(planner, script.handle, question, _NEGLECTED_QUESTIONS[index % 2], client)
        nudge = planner.after_work(question, 50, 80)
        if nudge < planner.limit:
            _say(planner, script.handle, nudge, _NEGLECTED_QUESTIONS[2 + index % 2], client)
        answer = planner.after_work(nudge, 80, 140)
        if answer >= ignored_from:
            continue  # nobody at the agency looks at it any more
        _say(
            planner, script.handle, answer, "Sorry for the delay, looking into it.", AGENCY_PM_SLOW
        )
        dev = AGENCY_DEVS[index % len(AGENCY_DEVS)]
        script.cursor = answer
        if not script.move("In Progress", dev, gap=(48, 120)) or script.cursor >= ignored_from:
            continue
        script.move(CLIENT_REVIEW, dev, gap=(96, 200))
        if index % 4 == 1:
            script.comment(
                "One small fix: the logo should link to the home page.", client, gap=(1, 3)
            )
            script.move("In Progress", client, gap=(0.1, 1))
            script.move(CLIENT_REVIEW, dev, gap=(96, 160))
        script.move("Done", client, gap=(1, 4))
    last = scripts[-1]
    request = planner.work_time((planner.limit - timedelta(days=3)).date())
    if request < planner.limit:
        _say(
            planner,
            last.handle,
            request,
            "Could we get a different project manager? Our questions go unanswered for weeks.",
            client,
        )
    _finish(planner, timeline)
    return ScenarioClient(
        key=key,
        name=name,
        project_key=key,
        behaviour=(
            "The PM is the problem: clear briefs, quick approvals, questions answered days "
            "later or never, the project ignored for the last weeks, a request for another PM."
        ),
        contract={
            "start": start.date(),
            "end": (planner.now + timedelta(days=60)).date(),
            "baseline": start.date() + timedelta(days=10),
            "scope": {"issues": len(_NEGLECTED_TICKETS), "story_points": 30.0, "hours": 110.0},
            "revisions_per_issue": 2,
            "revisions_total": 12,
            "reopen_limit": 2,
            "creep_alert_percent": 15.0,
            "change_request_label": CHANGE_REQUEST_LABEL,
            "hourly_rate": 85.0,
            "currency": "EUR",
        },
    )


def agency(
    ds: Dataset, now: datetime, tz: str | ZoneInfo = "Europe/Moscow"
) -> list[ScenarioClient]:
    """Build the toxic, healthy and retainer clients on one timeline.

    Contracts start at midnight in ``tz``: 150, 120, 180 and 100 days before ``now``
    (toxic, healthy, retainer, neglected). The agency's people are
    the members of the Jira group :data:`AGENCY_GROUP`. Returns the four
    :class:`ScenarioClient` records (toxic, healthy, retainer, neglected).
    """
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    local_now = now.astimezone(zone)
    today = local_now.date()
    timeline = Timeline()
    clients = [
        toxic_client(
            ds, start=_midnight(today - timedelta(days=150), zone), now=local_now, timeline=timeline
        ),
        healthy_client(
            ds, start=_midnight(today - timedelta(days=120), zone), now=local_now, timeline=timeline
        ),
        retainer_client(
            ds, start=_midnight(today - timedelta(days=180), zone), now=local_now, timeline=timeline
        ),
    ]
    clients.append(
        neglected_client(
            ds, start=_midnight(today - timedelta(days=100), zone), now=local_now, timeline=timeline
        )
    )
    timeline.run()
    # Time logged on every client's work; the demanding client's extra rounds cost hours.
    timesheets.log_work(
        ds,
        [client.project_key for client in clients],
        local_now,
        zone,
        AGENCY_DEVS,
        contractor_projects=(clients[0].project_key,),
    )
    for account, display in (*AGENCY_DEVS, AGENCY_PM, AGENCY_PM_SLOW):
        ds.add_group_member(AGENCY_GROUP, (account, display))
    return clients


def fleet(
    ds: Dataset, now: datetime, tz: str | ZoneInfo = "Europe/Moscow", clients: int = 30
) -> list[ScenarioClient]:
    """``clients`` clients for load tests: the toxic, healthy and retainer stories in turn,
    each its own project (``TOX01``, ``HLT02``, ``RET03``, …) with its own seed.

    Contracts start as in :func:`agency`; one timeline, so the site's history is one.
    """
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    local_now = now.astimezone(zone)
    today = local_now.date()
    timeline = Timeline()
    built: list[ScenarioClient] = []
    for index in range(clients):
        number = f"{index + 1:02d}"
        kind = index % 3
        if kind == 0:
            built.append(
                toxic_client(
                    ds,
                    f"TOX{number}",
                    start=_midnight(today - timedelta(days=150), zone),
                    now=local_now,
                    name=f"Toxic Retail Co {number}",
                    seed=11 + index,
                    timeline=timeline,
                )
            )
        elif kind == 1:
            built.append(
                healthy_client(
                    ds,
                    f"HLT{number}",
                    start=_midnight(today - timedelta(days=120), zone),
                    now=local_now,
                    name=f"Healthy Foods {number}",
                    seed=23 + index,
                    timeline=timeline,
                )
            )
        else:
            built.append(
                retainer_client(
                    ds,
                    f"RET{number}",
                    start=_midnight(today - timedelta(days=180), zone),
                    now=local_now,
                    name=f"Retainer Media {number}",
                    seed=37 + index,
                    timeline=timeline,
                )
            )
    timeline.run()
    return built
