"""Client-risk benchmark: every signal and score for 50 clients, 200,000 comments and changes.

Builds a seeded agency in memory (no Jira, no database: the engine is pure):
50 clients over a 26-week contract, 100 issues each, every issue with comments
(English and Russian text, some vague, urgent or asking for another manager)
and change items (transitions through review, priority and description
changes), 4,000 comments and change items per client. Then times, three
times each, the metric facts of every issue (what the store caches in
production) and ``assess_portfolio``: every signal of every client for every
week, the normalisation, the scores, the verdicts with their evidence, the
early warnings and the per-PM figures. Prints the medians against the target.

    .venv/bin/python benchmarks/signals.py [--clients N] [--events N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from scopeguard.adapters.lexicons import shipped_lexicon
from scopeguard.adapters.morphology import morphology
from scopeguard.domain.context import ClientContext
from scopeguard.domain.contract import Contract, ScopeUnit, WorkflowRules
from scopeguard.domain.model import ChangeItem, Comment, Issue, Status, StatusCategory
from scopeguard.domain.risk.engine import ClientRecord, assess_portfolio
from scopeguard.domain.risk.lexicon import PhraseMatcher
from scopeguard.domain.risk.people import ClientPeople, Member, Sides
from scopeguard.domain.risk.policy import RiskPolicy
from scopeguard.domain.risk.worktime import WorkingTime
from scopeguard.usecases.collector import fewer_collections

TARGET_SECONDS = 3.0
ZONE = ZoneInfo("Europe/Moscow")
STATUSES = {
    "1": Status("1", "To Do", StatusCategory.NEW),
    "3": Status("3", "In Progress", StatusCategory.INDETERMINATE),
    "10": Status("10", "Client Review", StatusCategory.INDETERMINATE),
    "20": Status("20", "Done", StatusCategory.DONE),
}
AGENCY = [f"agency-{n}" for n in range(12)]
TEXTS = (
    "Please update the hero image and the second paragraph as in the attached file.",
    "Thanks, the new version is on staging, please have a look.",
    "Make it pop more, it feels off. We need this ASAP!",
    "Сделайте душевнее, чтобы глаза горели. Срочно!",
    "Спасибо, новая версия на тестовом сервере, посмотрите, пожалуйста.",
    "Can we get someone else on this? We would like a different project manager.",
    "The form works on Chrome now; Safari follows tomorrow.",
    "Давайте сменим менеджера, ответа нет уже неделю.",
)


def build_client(
    index: int, start: datetime, until: datetime, events_per_client: int, rng: random.Random
) -> ClientRecord:
    """One client: 100 issues, ``events_per_client`` comments and change items in all."""
    key = f"C{index:02d}"
    client_people = [f"{key.lower()}-client-{n}" for n in range(3)]
    issues: list[Issue] = []
    per_issue = events_per_client // 100
    history = 10_000
    for number in range(1, 101):
        span = (until - start).total_seconds() / 3600 - 400
        created = start + timedelta(hours=rng.uniform(0, span))
        moment = created
        status = STATUSES["1"]
        changes: list[ChangeItem] = []
        comments: list[Comment] = []
        priority = "Medium"
        description = "Please build the page as described in the brief. " * rng.choice((1, 4))
        for event in range(per_issue):
            moment += timedelta(hours=rng.expovariate(1 / 8))
            client_side = rng.random() < 0.5
            author = rng.choice(client_people) if client_side else rng.choice(AGENCY)
            if event % 5 in (0, 2):
                comments.append(
                    Comment(
                        id=str(history),
                        created=moment,
                        author_account=author,
                        author_name=author,
                        # Numbered, so no two comments are alike (as in life).
                        body=f"{rng.choice(TEXTS)} (#{history})",
                        updated=moment + timedelta(hours=rng.choice((0, 0, 0, 5))),
                        update_author_account=author,
                        internal=not client_side and rng.random() < 0.1,
                    )
                )
            else:
                history += 1
                kind = rng.random()
                if kind < 0.7:
                    target = {"1": "3", "3": "10", "10": rng.choice(("3", "20")), "20": "3"}[
                        status.id
                    ]
                    new = STATUSES[target]
                    changes.append(
                        ChangeItem(
                            str(history),
                            moment,
                            "status",
                            "status",
                            status.id,
                            status.name,
                            new.id,
                            new.name,
                            author,
                            author,
                        )
                    )
                    status = new
                elif kind < 0.85:
                    new_priority = rng.choice(("Low", "Medium", "High", "Highest"))
                    changes.append(
                        ChangeItem(
                            str(history),
                            moment,
                            "priority",
                            "priority",
                            None,
                            priority,
                            None,
                            new_priority,
                            author,
                            author,
                        )
                    )
                    priority = new_priority
                else:
                    changes.append(
                        ChangeItem(
                            str(history),
                            moment,
                            "description",
                            "description",
                            None,
                            description,
                            None,
                            description + " More.",
                            author,
                            author,
                        )
                    )
                    description += " More."
            history += 1
        issues.append(
            Issue(
                key=f"{key}-{number}",
                id=f"{index}{number:04d}",
                project_key=key,
                issue_type="Task",
                summary=f"Page {number}",
                created=created,
                updated=moment,
                status=status,
                story_points=float(rng.choice((1, 2, 3, 5))),
                reporter_account=rng.choice(client_people + AGENCY[:2]),
                changes=tuple(changes),
                comments=tuple(comments),
                description=description,
                priority=priority,
                assignee_account=rng.choice(AGENCY),
            )
        )
    contract = Contract(
        start=start,
        end=start + timedelta(weeks=30),
        baseline=start + timedelta(weeks=2),
        scope={ScopeUnit.ISSUES: 60.0},
        revisions_per_issue=2,
    )
    context = ClientContext.of(contract, WorkflowRules(), STATUSES, None)
    sides = Sides([Member(account=account) for account in AGENCY])
    return ClientRecord(key, context, tuple(issues), ClientPeople(sides))


def median_of_three(run: object) -> tuple[float, list[float], float]:
    """Median wall time of three runs, the runs, and the median CPU time of this process."""
    timings = []
    cpu = []
    for _ in range(3):
        began, began_cpu = time.perf_counter(), time.process_time()
        run()  # type: ignore[operator]
        timings.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    return statistics.median(timings), timings, statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--events", type=int, default=200_000, help="comments and changes in all")
    args = parser.parse_args()
    rng = random.Random(14)
    as_of = datetime(2026, 11, 18, 12, tzinfo=ZONE)
    records = []
    for index in range(args.clients):
        # Contracts began over the last year, so there are young ones for the early warning.
        start = datetime.combine(
            (as_of - timedelta(weeks=26 + index % 20)).date(), datetime.min.time(), ZONE
        )
        records.append(build_client(index, start, as_of, args.events // args.clients, rng))
    events = sum(len(i.changes) + len(i.comments) for r in records for i in r.issues)
    print(f"{len(records)} clients, {events} comments and change items")

    def facts() -> list[ClientRecord]:
        return [
            ClientRecord(
                r.key, r.context, r.issues, r.people, [r.context.facts(i) for i in r.issues]
            )
            for r in records
        ]

    facts_time, facts_runs, _ = median_of_three(facts)
    with_facts = facts()
    matcher = PhraseMatcher(shipped_lexicon(), morphology())
    policy = RiskPolicy(WorkingTime(ZONE))
    result = assess_portfolio(with_facts, policy, matcher, as_of)

    def signals() -> None:
        # A new matcher each run: its word cache must not make later runs look faster.
        # The collector policy is production's (RiskService.assess runs the engine so).
        with fewer_collections():
            assess_portfolio(
                with_facts,
                RiskPolicy(WorkingTime(ZONE)),
                PhraseMatcher(shipped_lexicon(), morphology()),
                as_of,
            )

    risk_time, risk_runs, risk_cpu = median_of_three(signals)
    weeks = sum(len(risk.weekly) for risk in result.clients.values())
    scored = sum(1 for risk in result.clients.values() if risk.score is not None)
    early = sum(1 for risk in result.clients.values() if risk.early_warning is not None)
    print(
        f"metric facts of every issue (cached in production): median {facts_time:.2f}s "
        f"of {', '.join(f'{t:.2f}' for t in facts_runs)}"
    )
    print(
        f"signals and scores (assess_portfolio): median {risk_time:.2f}s "
        f"of {', '.join(f'{t:.2f}' for t in risk_runs)} (CPU {risk_cpu:.2f}s); "
        f"target < {TARGET_SECONDS:.0f}s: {'met' if risk_time < TARGET_SECONDS else 'MISSED'}"
    )
    print(
        f"{weeks} client-weeks scored, {scored} clients with a score now, "
        f"{early} early warnings, {len(result.by_pm)} PMs; measured at "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on a shared CPU"
    )


if __name__ == "__main__":
    main()
