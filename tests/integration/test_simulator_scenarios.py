"""The agency scenarios: each client shows the behaviour its name promises."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from jira_simulator import Dataset, JiraSimulator, ScenarioClient, SimIssue, scenarios, serve
from jira_simulator.jira_types import StatusCategory

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=MOSCOW)


@pytest.fixture(scope="module")
def agency() -> tuple[Dataset, dict[str, ScenarioClient]]:
    ds = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    clients = scenarios.agency(ds, NOW, MOSCOW)
    return ds, {client.key: client for client in clients}


def status_moves(issue: SimIssue) -> list[tuple[str, str]]:
    return [
        (item.from_string or "", item.to_string or "")
        for history in issue.histories
        for item in history.items
        if item.field == "status"
    ]


def bounces(issue: SimIssue) -> int:
    """Revision rounds: the client sends a delivery back from review."""
    return status_moves(issue).count(("Client Review", "In Progress"))


def reopens(ds: Dataset, issue: SimIssue) -> list[tuple[str, str]]:
    done = StatusCategory.DONE
    return [
        (old, new)
        for old, new in status_moves(issue)
        if ds.status(old).category is done and ds.status(new).category is not done
    ]


def initial_points(issue: SimIssue) -> float:
    """Story points at creation: the first change's old value, else today's value."""
    for history in issue.histories:
        for item in history.items:
            if item.field_id == "story_points":
                return float(item.from_string or 0)
    return issue.story_points or 0.0


def baseline_of(client: ScenarioClient) -> datetime:
    return datetime.combine(client.contract["baseline"], time.min, tzinfo=MOSCOW)


def test_agency_returns_four_clients_with_contracts(
    agency: tuple[Dataset, dict[str, ScenarioClient]],
) -> None:
    _, clients = agency
    assert list(clients) == ["TOX", "HLT", "RET", "LAG"]
    for client in clients.values():
        assert client.jql == f"project = {client.project_key}"
        assert set(client.contract) == {
            "start",
            "end",
            "baseline",
            "scope",
            "revisions_per_issue",
            "revisions_total",
            "reopen_limit",
            "creep_alert_percent",
            "change_request_label",
            "hourly_rate",
            "currency",
        }
        assert set(client.contract["scope"]) == {"issues", "story_points", "hours"}
        assert client.contract["start"] <= client.contract["baseline"] < NOW.date()
        assert client.contract["end"] > NOW.date()


def test_toxic_client_is_past_its_limits(agency: tuple[Dataset, dict[str, ScenarioClient]]) -> None:
    ds, clients = agency
    toxic = clients["TOX"]
    baseline = baseline_of(toxic)
    issues = ds.issues_in_project("TOX")
    before = [i for i in issues if i.created < baseline]
    after = [i for i in issues if i.created >= baseline]
    assert len(before) == toxic.contract["scope"]["issues"] == 10
    assert sum(initial_points(i) for i in before) == toxic.contract["scope"]["story_points"]
    assert sum(i.story_points or 0 for i in before) > toxic.contract["scope"]["story_points"]
    # Every deliverable bounced back from review 3 to 5 times.
    assert all(3 <= bounces(i) <= 5 for i in before)
    # Reopened after acceptance, including from the Cyrillic done status.
    reopened = [i for i in before if reopens(ds, i)]
    assert len(reopened) >= 3
    assert {old for i in reopened for old, _ in reopens(ds, i)} == {"Done", "Принято клиентом"}
    assert any(i.status.name == "Принято клиентом" for i in before)
    # Lots of scope after the baseline, only two of them approved.
    assert len(after) >= 10
    labelled = [i for i in after if "change-request" in i.labels]
    assert len(labelled) == 2
    assert {"Make it pop", "A few small tweaks to the homepage"} <= {i.summary for i in after}
    # Story-point inflation on baseline issues.
    inflated = [
        i
        for i in before
        for h in i.histories
        for item in h.items
        if item.field_id == "story_points"
        and float(item.to_string or 0) > float(item.from_string or 0)
    ]
    assert len({i.key for i in inflated}) >= 4
    # The client writes at midnight and at weekends.
    client_comments = [
        c.created.astimezone(MOSCOW)
        for i in issues
        for c in i.comments
        if c.author.account_id.startswith("712020:tox-client")
    ]
    odd_hours = [m for m in client_comments if m.hour >= 23 or m.hour < 1 or m.weekday() >= 5]
    assert len(odd_hours) >= 10


def test_toxic_client_has_an_issue_at_half_past_midnight_on_baseline_day(
    agency: tuple[Dataset, dict[str, ScenarioClient]],
) -> None:
    ds, clients = agency
    baseline = baseline_of(clients["TOX"])
    midnight = [
        i for i in ds.issues_in_project("TOX") if i.created == baseline + timedelta(minutes=30)
    ]
    assert len(midnight) == 1
    created = midnight[0].created
    assert created.utcoffset() == timedelta(hours=3)
    # After the baseline in Moscow, but still the day before in UTC.
    assert created.astimezone(UTC).date() == clients["TOX"].contract["baseline"] - timedelta(days=1)
    assert "change-request" not in midnight[0].labels


def test_healthy_client_stays_within_limits(
    agency: tuple[Dataset, dict[str, ScenarioClient]],
) -> None:
    ds, clients = agency
    healthy = clients["HLT"]
    baseline = baseline_of(healthy)
    issues = ds.issues_in_project("HLT")
    assert all(bounces(i) <= 1 for i in issues)
    assert not any(reopens(ds, i) for i in issues)
    after = [i for i in issues if i.created >= baseline]
    assert after and all("change-request" in i.labels for i in after)
    assert sum(1 for i in issues if i.created < baseline) == healthy.contract["scope"]["issues"]
    assert not any(
        item.field_id == "story_points" for i in issues for h in i.histories for item in h.items
    )


def test_retainer_has_steady_tickets_and_moderate_revisions(
    agency: tuple[Dataset, dict[str, ScenarioClient]],
) -> None:
    ds, clients = agency
    retainer = clients["RET"]
    issues = ds.issues_in_project("RET")
    per_month: dict[tuple[int, int], int] = {}
    for issue in issues:
        month = (issue.created.year, issue.created.month)
        per_month[month] = per_month.get(month, 0) + 1
    full_months = sorted(per_month)[1:-1]
    assert full_months and all(3 <= per_month[m] <= 6 for m in full_months)
    assert all(bounces(i) <= 2 for i in issues)
    assert any(bounces(i) == 2 for i in issues)
    label = retainer.contract["change_request_label"]
    assert all(label in i.labels for i in issues)


def test_events_are_chronological_and_before_now(
    agency: tuple[Dataset, dict[str, ScenarioClient]],
) -> None:
    ds, _ = agency
    histories = sorted((h for i in ds.issues for h in i.histories), key=lambda h: int(h.id))
    assert [h.created for h in histories] == sorted(h.created for h in histories)
    assert max(h.created for h in histories) < NOW
    assert all(i.updated < NOW for i in ds.issues)
    ids = [int(i.id) for i in sorted(ds.issues, key=lambda i: i.created)]
    assert ids == sorted(ids)


def test_scenarios_are_deterministic(agency: tuple[Dataset, dict[str, ScenarioClient]]) -> None:
    ds, clients = agency
    again = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    repeat = scenarios.agency(again, NOW, MOSCOW)
    assert [c.contract for c in repeat] == [c.contract for c in clients.values()]

    def fingerprint(data: Dataset) -> list[tuple[object, ...]]:
        return [
            (
                i.key,
                i.summary,
                i.created,
                i.status.name,
                tuple(i.labels),
                *((h.id, h.created, h.items) for h in i.histories),
            )
            for i in data.issues
        ]

    assert fingerprint(again) == fingerprint(ds)


def test_builders_run_alone_relative_to_now() -> None:
    ds = Dataset(user_timezone="Europe/Moscow")
    start = datetime(2026, 3, 2, tzinfo=MOSCOW)
    client = scenarios.toxic_client(ds, key="ZZZ", start=start, now=start + timedelta(days=20))
    assert client.project_key == "ZZZ" and ds.issues_in_project("ZZZ")
    assert all(i.updated < start + timedelta(days=20) for i in ds.issues)
    assert ds.status("Client Review").category is StatusCategory.INDETERMINATE


def test_scenarios_are_served(agency: tuple[Dataset, dict[str, ScenarioClient]]) -> None:
    ds, _ = agency
    with serve(JiraSimulator(ds)) as url, requests.Session() as http:
        http.auth = ("pm@agency.example", "token")
        keys = [
            i["key"]
            for i in http.get(
                f"{url}/rest/api/3/search/jql",
                params={
                    "jql": "project in (TOX, HLT, RET, LAG)",
                    "fields": "key",
                    "maxResults": 5000,
                },
                timeout=10,
            ).json()["issues"]
        ]
        assert len(keys) == len(ds.issues)
        page = http.post(
            f"{url}/rest/api/3/changelog/bulkfetch",
            json={"issueIdsOrKeys": keys, "maxResults": 10000},
            timeout=10,
        ).json()
        served = sum(len(log["changeHistories"]) for log in page["issueChangeLogs"])
        assert served == ds.history_count()
