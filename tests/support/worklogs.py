"""A Jira site with worklogs for the sync tests: a client with a 150-worklog issue.

Every moment is from the pinned clock, in whole seconds (Jira keeps milliseconds).
"""

from __future__ import annotations

from datetime import timedelta, timezone

from jira_simulator import Dataset
from jira_simulator.worklogs import ledger
from tests.support import clock

MSK = timezone(timedelta(hours=3))
NEW_YORK = timezone(timedelta(hours=-5))
DEV = ("712020:dev-ivan", "Ivan Petrov")
DESIGNER = ("712020:dev-maria", "Maria Sokolova")
CONTRACT = {"start": "2026-01-01", "scope": {"issues": 10}, "revisions_per_issue": 2}


def worklog_site(busy_other_project: int = 0, extra_issues: int = 0) -> Dataset:
    """ACME: one issue with 150 worklogs (two people, two offsets), one with three, one with
    none, and ``extra_issues`` more with one worklog each (so that reading each issue would
    cost more than the feed); OTHER (another client's project): ``busy_other_project``
    worklogs."""
    ds = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    ds.add_project("ACME", "ACME Corp")
    ds.add_project("OTHER", "Other client")
    start = clock.now().astimezone(MSK).replace(microsecond=0) - timedelta(days=60)
    big = ds.add_issue("ACME", "Checkout flow", created=start)
    small = ds.add_issue("ACME", "Footer", created=start)
    ds.add_issue("ACME", "Nothing logged yet", created=start)
    book = ledger(ds)
    if busy_other_project:
        # Logged before ACME's: the feed, oldest first, reaches ACME's worklogs last.
        other = ds.add_issue("OTHER", "Someone else's work", created=start - timedelta(days=40))
        for n in range(busy_other_project):
            at = start - timedelta(days=30) + timedelta(minutes=10 * n)
            book.add(other.key, at, 1800, author=DEV, at=at)
    for n in range(150):
        started = start + timedelta(hours=5 * n + 1)
        who, zone = (DEV, MSK) if n % 3 else (DESIGNER, NEW_YORK)
        book.add(
            big.key,
            started.astimezone(zone),
            900 * (1 + n % 8),
            author=who,
            comment=f"Worklog {n}",
            at=started + timedelta(hours=2),
        )
    for n in range(3):
        book.add(
            small.key,
            start + timedelta(days=32 + n, hours=3),
            3600,
            author=DEV,
            at=start + timedelta(days=32 + n, hours=4),
        )
    for n in range(extra_issues):
        extra = ds.add_issue("ACME", f"Extra {n}", created=start)
        at = start + timedelta(days=35, minutes=10 * n)
        book.add(extra.key, at, 600, author=DESIGNER, at=at)
    return ds
