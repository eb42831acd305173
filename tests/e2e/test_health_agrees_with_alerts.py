"""The health badge, the API's health and the alerts come from the same findings.

One contract is driven through ok → warning → breach by real changes in the
Jira simulator, synced over HTTP; after each step the panel's badge, the API's
``health`` and the alerts in the outbox are read back and compared with the
findings of the one health function.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from jira_simulator import Dataset, JiraSimulator, serve
from scopeguard.adapters.store.models import AlertOutboxRow
from scopeguard.bootstrap import Services
from scopeguard.domain.health import Health, Limit
from scopeguard.entrypoints.web import create_app
from tests.support import clock
from tests.support.html import parse
from tests.support.services import pinned_services
from tests.support.settings import settings_for

PM = ("712020:pm", "Olga PM")
CLIENT = ("557058:client", "Client Person")


@dataclass
class Project:
    dataset: Dataset
    services: Services
    web: FlaskClient
    issue: str


@pytest.fixture
def project(tmp_path: Path, database_url: str) -> Iterator[Project]:
    """One client, one deliverable, an allowance of two rounds and a webhook channel."""
    dataset = Dataset.with_default_workflow(user_timezone=clock.AGENCY_TZ)
    dataset.add_project("ONE", "One Deliverable Ltd")
    started = clock.now() - timedelta(days=30)
    issue = dataset.add_issue("ONE", "Landing page", created=started + timedelta(hours=1))
    dataset.transition(issue.key, "In Progress", at=started + timedelta(hours=2), author=PM)
    simulator = JiraSimulator(
        dataset, flavor="cloud", email="pm@agency.example", api_token="token", clock=clock.now
    )
    with serve(simulator) as url:
        # The deliverable was agreed before the contract started: baseline scope, no creep.
        # The contract starts the agency's day after the issue was filed, whatever the
        # hour (an issue filed at 00:30 is on the same local day as "started + 1 day").
        filed = issue.created.astimezone(clock.AGENCY_ZONE).date()
        signed = filed + timedelta(days=1)
        contract = {
            "start": signed.isoformat(),
            "scope": {"issues": 10},
            "revisions_per_issue": 2,
        }
        client = {
            "key": "ONE",
            "name": "One Deliverable Ltd",
            "jql": "project = ONE",
            "contract": contract,
            "alerts": [{"type": "webhook", "url": "https://hooks.agency.example/x", "secret": "s"}],
        }
        settings = settings_for(
            url,
            [client],
            database_url=database_url,
            instance=tmp_path / "instance",
            agency={"timezone": clock.AGENCY_TZ},
        )
        services = pinned_services(settings, sleep=lambda _s: None)
        yield Project(dataset, services, create_app(services=services).test_client(), issue.key)
        services.close()


def send_back(project: Project) -> None:
    """One more revision round: delivered into review, sent back by the client."""
    now = clock.now()
    project.dataset.transition(
        project.issue, "Client Review", at=now - timedelta(seconds=2), author=PM
    )
    project.dataset.transition(
        project.issue, "In Progress", at=now - timedelta(seconds=1), author=CLIENT
    )


def observe(project: Project) -> tuple[Health, str, str, list[tuple[str, str | None]]]:
    """Sync, then: the findings' level, the API's health, the panel's badge, the alerts."""
    for result in project.services.sync.sync_all():
        assert not isinstance(result, Exception), result
    summary = project.services.analysis.snapshot(project.services.settings.client("ONE")).summary
    api = project.web.get("/api/v1/clients/ONE/summary").get_json()["health"]
    page = parse(project.web.get("/clients/ONE").get_data(as_text=True))
    title = page.find("div", **{"class": "title-row"})
    (badge,) = [
        node.attrs["class"].split()[1].removeprefix("health-")
        for node in title.find_all("span")
        if node.attrs.get("class", "").startswith("health ")
    ]
    with project.services.database.session() as session:
        alerts = [
            (row.event, row.issue)
            for row in session.scalars(select(AlertOutboxRow).order_by(AlertOutboxRow.created_at))
        ]
    return summary.health, api, badge, alerts


def test_ok_then_warning_then_breach_read_the_same_everywhere(project: Project) -> None:
    send_back(project)  # one round of two: ok
    level, api, badge, alerts = observe(project)
    assert (level, api, badge, alerts) == (Health.OK, "ok", "ok", [])

    send_back(project)  # at the allowance: a warning, not yet an alert
    level, api, badge, alerts = observe(project)
    assert (level, api, badge, alerts) == (Health.WARNING, "warning", "warning", [])
    summary = project.services.analysis.snapshot(project.services.settings.client("ONE")).summary
    (finding,) = summary.findings
    assert (finding.metric, finding.issue_key, finding.value, finding.limit) == (
        Limit.ISSUE_REVISIONS,
        project.issue,
        2,
        2,
    )

    send_back(project)  # past it: a breach, and exactly the alert its finding names
    level, api, badge, alerts = observe(project)
    assert (level, api, badge) == (Health.BREACH, "breach", "breach")
    summary = project.services.analysis.snapshot(project.services.settings.client("ONE")).summary
    breaches = [f for f in summary.findings if f.level is Health.BREACH]
    assert [(f.metric, f.issue_key) for f in breaches] == [(Limit.ISSUE_REVISIONS, project.issue)]
    assert alerts == [("revision_limit_exceeded", project.issue)]
