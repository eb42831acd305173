"""The demo's effort figures, checked against the simulator's own worklogs.

The unbilled hours and money of the demanding client (TOX) on its panel and in
the API must equal a sum computed here straight from the simulator's dataset
(its histories, labels, estimates and worklogs), by the README's rules, without
any of ScopeGuard's code. Then: each evidence trail shows the hours of each round,
per-person figures are for admins only, and the client's PDF names no one who
logged time.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from jira_simulator import Dataset, SimIssue
from jira_simulator.catalog import STORY_POINTS
from jira_simulator.jira_types import StatusCategory
from jira_simulator.worklogs import ledger
from scopeguard.entrypoints.cli import cli
from scopeguard.entrypoints.web import create_app
from tests.support import clock
from tests.support.agency import Agency
from tests.support.people import add_people, sign_in

REVIEW = "client review"


def _status(ds: Dataset, status_id: str | None, name: str | None) -> tuple[StatusCategory, bool]:
    status = ds.status_by_id(status_id or "") or ds.find_status(name or "")
    assert status is not None
    return status.category, status.name.casefold() == REVIEW


def _midnight(text: str, zone: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisoformat(str(text)), time.min, tzinfo=zone)


def independent_unbilled(agency: Agency, key: str) -> tuple[int, float]:
    """(unbilled seconds, their price) of a client, from the dataset and its contract alone."""
    ds = agency.dataset
    scenario = agency.clients[key]
    contract: dict[str, Any] = scenario.contract
    zone = ZoneInfo(agency.settings.agency.timezone)
    start = _midnight(contract["start"], zone)
    baseline = _midnight(contract["baseline"], zone)
    allowance = contract["revisions_per_issue"]
    label = contract["change_request_label"]
    now = clock.now()
    unbilled = 0
    for issue in ds.issues_in_project(key):
        unbilled += _issue_unbilled(
            ds, issue, start=start, baseline=baseline, allowance=allowance, label=label, now=now
        )
    hours = round(unbilled / 3600, 2)
    return unbilled, round(hours * contract["hourly_rate"], 2)


def _issue_unbilled(
    ds: Dataset,
    issue: SimIssue,
    *,
    start: datetime,
    baseline: datetime,
    allowance: int,
    label: str,
    now: datetime,
) -> int:
    added = issue.created >= baseline
    # The scenarios label change requests when they are created, and never remove it.
    approved = added and label in issue.labels
    revisions: list[datetime] = []
    deliveries: list[datetime] = []
    points: list[tuple[datetime, float]] = []
    hours: list[tuple[datetime, float]] = []
    for history in issue.histories:
        for item in history.items:
            if item.field_id == "status":
                before, from_review = _status(ds, item.from_value, item.from_string)
                after, to_review = _status(ds, item.to_value, item.to_string)
                if after is StatusCategory.DONE or to_review:
                    deliveries.append(history.created)
                elif (from_review or before is StatusCategory.DONE) and history.created >= start:
                    revisions.append(history.created)
            elif item.field_id == STORY_POINTS:
                points.append((history.created, float(item.to_string or 0)))
            elif item.field_id == "timeoriginalestimate":
                hours.append((history.created, float(item.to_string or 0)))

    def value_at(changes: list[tuple[datetime, float]], moment: datetime, first: float) -> float:
        value = first
        for at, to in changes:
            if at <= moment:
                value = to
        return value

    # Before the first logged change an estimate is what the issue was created with.
    first_points = (_from(issue, STORY_POINTS) if points else issue.story_points) or 0.0
    first_hours = (
        _from(issue, "timeoriginalestimate") if hours else issue.original_estimate_seconds
    ) or 0.0

    def grown(moment: datetime) -> bool:
        if added or moment < baseline:
            return False
        return value_at(points, moment, first_points) > value_at(
            points, baseline, first_points
        ) or value_at(hours, moment, first_hours) > value_at(hours, baseline, first_hours)

    seconds = 0
    for worklog in ledger(ds).of_issue(issue):
        started = worklog.started
        if started < max(start, issue.created) or started > now:
            continue
        number = sum(1 for r in revisions if r <= started)
        in_round = number > 0 and not any(revisions[number - 1] < d <= started for d in deliveries)
        if (
            (in_round and number > allowance)
            or (added and not approved)
            or (not added and grown(started))
        ):
            seconds += worklog.seconds
    return seconds


def _from(issue: SimIssue, field_id: str) -> float | None:
    for history in issue.histories:
        for item in history.items:
            if item.field_id == field_id:
                return float(item.from_string) if item.from_string else 0.0
    return None


def _number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


def test_the_demanding_clients_unbilled_time_is_the_simulators_own_sum(agency: Agency) -> None:
    seconds, money = independent_unbilled(agency, "TOX")
    assert seconds > 20 * 3600, "the demanding client's extra rounds carry real effort"
    app = create_app(services=agency.services)
    page = app.test_client().get("/clients/TOX").get_data(as_text=True)
    shown_hours = re.search(r'data-field="unbilled_hours">([^<]+)<', page)
    shown_money = re.search(r'data-field="unbilled_amount">([^<]+)<', page)
    assert shown_hours and shown_money, page[:3000]
    assert _number(shown_hours.group(1)) == round(seconds / 3600, 2)
    assert _number(shown_money.group(1)) == money
    effort = app.test_client().get("/api/v1/clients/TOX/summary").get_json()["effort"]
    assert effort["unbilled_hours"] == round(seconds / 3600, 2)
    assert effort["unbilled_amount"] == money
    assert effort["currency"] == "EUR"
    assert round(effort["unbilled_revision_hours"] + effort["creep_hours"], 2) == round(
        seconds / 3600, 2
    )
    logged = sum(
        w.seconds
        for issue in agency.dataset.issues_in_project("TOX")
        for w in ledger(agency.dataset).of_issue(issue)
        if w.started <= clock.now()
    )
    assert effort["logged_hours"] == round(logged / 3600, 2)
    # The healthy client logged time too, little of it outside the contract.
    healthy = app.test_client().get("/api/v1/clients/HLT/summary").get_json()["effort"]
    assert healthy["logged_hours"] > 0
    assert healthy["unbilled_hours"] == round(independent_unbilled(agency, "HLT")[0] / 3600, 2)


def test_each_trail_shows_the_hours_of_each_round(agency: Agency) -> None:
    client = create_app(services=agency.services).test_client()
    effort = client.get("/api/v1/clients/TOX/summary").get_json()["effort"]
    key, issue = max(effort["by_issue"].items(), key=lambda kv: kv[1]["unbilled_hours"])
    assert issue["unbilled_hours"] > 0
    trail = client.get(f"/api/v1/clients/TOX/issues/{key}").get_json()
    assert trail["round_hours"] == [r["hours"] for r in issue["rounds"]]
    page = client.get(f"/clients/TOX/issues/{key}").get_data(as_text=True)
    cells = [_number(c) for c in re.findall(r'data-field="hours">([^<]+)<', page)]
    assert cells == trail["round_hours"]
    series = client.get("/api/v1/clients/TOX/timeseries").get_json()["days"]
    assert series[-1]["logged_hours"] == effort["logged_hours"]
    assert all(a["logged_hours"] <= b["logged_hours"] for a, b in pairwise(series))


def test_per_person_effort_is_for_admins_only_and_never_in_the_clients_pdf(
    agency: Agency, tmp_path: Any
) -> None:
    open_mode = create_app(services=agency.services).test_client()
    page = open_mode.get("/clients/TOX").get_data(as_text=True)
    assert 'data-table="effort-people"' in page and "Ivan Petrov" in page
    add_people(agency.services)
    app = create_app(services=agency.services)
    viewer = app.test_client()
    sign_in(viewer, "vera")
    seen = viewer.get("/clients/TOX").get_data(as_text=True)
    assert 'data-section="effort"' in seen
    assert 'data-table="effort-people"' not in seen and "Sam Rivera" not in seen
    admin = app.test_client()
    sign_in(admin, "ada")
    internal = admin.get("/clients/TOX").get_data(as_text=True)
    assert 'data-table="effort-people"' in internal and "Sam Rivera" in internal
    # Computed once per snapshot: the next view reads it from the cache.
    breakdowns = app.extensions["scopeguard.breakdown_cache"]
    assert "Sam Rivera" in admin.get("/clients/TOX").get_data(as_text=True)
    assert (breakdowns.stats.renders, breakdowns.stats.hits) == (1, 1)
    # The client's monthly PDF: totals per issue, nobody's name from the timesheets.
    month = clock.now().astimezone(agency.settings.agency.zone).replace(day=1) - timedelta(days=1)
    out = tmp_path / "tox.pdf"
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(agency.config_file),
            "report",
            "--client",
            "TOX",
            "--month",
            month.strftime("%Y-%m"),
            "--out",
            str(out),
        ],
        obj={"clock": clock.now},
    )
    assert result.exit_code == 0, result.output
    from pypdf import PdfReader  # noqa: PLC0415 - only this test reads PDFs

    text = " ".join(page.extract_text() for page in PdfReader(out).pages)
    assert "Logged time outside the contract" in text
    for person in ("Sam Rivera", "Ivan Petrov", "Maria Sokolova", "Oleg Kuznetsov"):
        assert person not in text
