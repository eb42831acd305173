"""A Jira simulator: Cloud (REST v3/v2) or Data Center (REST v2) over real HTTP.

Used by integration tests, benchmarks and ``make demo``::

    from jira_simulator import Dataset, JiraSimulator, serve, scenarios

    ds = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    ds.add_project(key="ACME", name="ACME Corp")
    issue = ds.add_issue(project="ACME", summary="Landing page", created=moment)
    ds.transition(issue.key, "In Progress", at=later, author=("acc-1", "Dev"))
    sim = JiraSimulator(ds, flavor="cloud")
    with serve(sim) as base_url:
        ...
"""

from jira_simulator import scenarios
from jira_simulator.app import JiraSimulator, RequestRecord
from jira_simulator.catalog import Flavor
from jira_simulator.dataset import (
    Dataset,
    SimComment,
    SimHistory,
    SimIssue,
    SimItem,
    SimProject,
    SimStatus,
    SimUser,
)
from jira_simulator.faults import Faults, MalformedKind
from jira_simulator.real import (
    LoadedSource,
    RealLoad,
    load_patternfly,
    load_puppet,
    load_real,
    load_sp_cloud,
)
from jira_simulator.scenarios import ScenarioClient
from jira_simulator.server import serve

__all__ = [
    "Dataset",
    "Faults",
    "Flavor",
    "JiraSimulator",
    "LoadedSource",
    "MalformedKind",
    "RealLoad",
    "RequestRecord",
    "ScenarioClient",
    "SimComment",
    "SimHistory",
    "SimIssue",
    "SimItem",
    "SimProject",
    "SimStatus",
    "SimUser",
    "load_patternfly",
    "load_puppet",
    "load_real",
    "load_sp_cloud",
    "scenarios",
    "serve",
]
