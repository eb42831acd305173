"""Real Jira data (tests/data/jira/real) through the simulator, the sync and the metrics.

Stored histories are compared with the raw files, and reopen counts with an
independent count computed here straight from the raw JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jira_simulator import Dataset, JiraSimulator, LoadedSource, serve
from jira_simulator.real import (
    load_patternfly,
    load_puppet,
    load_sp_cloud,
    read_patternfly,
    read_puppet,
    read_sp_cloud,
)
from scopeguard.adapters.store.repository import history_count, issue_count
from tests.support.paths import REAL_JIRA
from tests.support.services import pinned_services
from tests.support.settings import SettingsFactory

Raw = list[dict[str, Any]]


def _raw_puppet(root: Path) -> tuple[Raw, Raw]:
    return read_puppet(root / "puppet-server" / "jira.json"), []


def _raw_patternfly(root: Path) -> tuple[Raw, Raw]:
    return read_patternfly(root / "patternfly-cloud" / "jira_raw_fields.json"), []


def _raw_sp(root: Path) -> tuple[Raw, Raw]:
    return read_sp_cloud(root / "sp-cloud-sample")


SOURCES: dict[
    str, tuple[str, Callable[[Dataset, Path], LoadedSource], Callable[[Path], tuple[Raw, Raw]]]
] = {
    "puppet-server": ("datacenter", load_puppet, _raw_puppet),
    "patternfly-cloud": ("cloud", load_patternfly, _raw_patternfly),
    "sp-cloud-sample": ("cloud", load_sp_cloud, _raw_sp),
}


def independent_reopens(issues: Raw, statuses: Raw) -> dict[str, int]:
    """Reopens per issue: status items leaving a done-category status for one that is not.

    Categories come only from the raw data: ``statuses.json`` where given, and
    each issue's own current ``fields.status.statusCategory``.
    """
    done: dict[str, bool] = {str(s["id"]): s["statusCategory"]["key"] == "done" for s in statuses}
    for issue in issues:
        status = issue["fields"]["status"]
        done.setdefault(str(status["id"]), status["statusCategory"]["key"] == "done")
    counts: dict[str, int] = {}
    for issue in issues:
        n = 0
        for history in issue.get("changelog", {}).get("histories", []):
            for item in history["items"]:
                if item["field"] != "status":
                    continue
                if done.get(str(item["from"]), False) and not done.get(str(item["to"]), False):
                    n += 1
        if n:
            counts[issue["key"]] = n
    return counts


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_real_data_is_synced_completely_and_reopens_match(
    source: str, make_settings: SettingsFactory
) -> None:
    flavor, load, read_raw = SOURCES[source]
    root = REAL_JIRA
    raw_issues, raw_statuses = read_raw(root)
    dataset = Dataset(user_timezone="UTC")
    loaded = load(dataset, root / source)
    assert sorted(loaded.issue_keys) == sorted(issue["key"] for issue in raw_issues)
    projects = sorted({key.rsplit("-", 1)[0] for key in loaded.issue_keys})
    raw_histories = sum(len(i.get("changelog", {}).get("histories", [])) for i in raw_issues)

    simulator = JiraSimulator(
        dataset, flavor=flavor, email="pm@agency.example", api_token="token", pat="pat-token"
    )
    with serve(simulator) as url:
        settings = make_settings(
            url,
            [
                {
                    "key": "REAL",
                    "name": source,
                    "jql": f"project in ({', '.join(projects)})",
                    # Old data: a contract around all of it, counting every round.
                    "contract": {
                        "start": "2010-01-01",
                        "scope": {"issues": len(raw_issues)},
                        "revisions_per_issue": 1,
                    },
                }
            ],
            deployment=flavor,
        )
        services = pinned_services(settings, sleep=lambda _seconds: None)
        report = services.sync.sync_client(settings.client("REAL"))
        assert report.issues == len(raw_issues)
        with services.database.session() as session:
            assert issue_count(session, "REAL") == len(raw_issues)
            assert history_count(session, "REAL") == raw_histories
        summary = services.analysis.snapshot(settings.client("REAL")).summary_document
        services.close()

    expected = independent_reopens(raw_issues, raw_statuses)
    assert summary["reopens"]["by_issue"] == expected
    assert summary["reopens"]["total"] == sum(expected.values())
    if source == "puppet-server":
        assert expected == {"PUP-3483": 1}
    if source == "sp-cloud-sample":
        assert expected == {"SP-5": 1}
