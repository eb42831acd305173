"""A Jira simulator: Cloud (REST v3/v2) or Data Center (REST v2) over real HTTP.

Used by integration tests, benchmarks and ``make demo``::

    from scopeguard.simulator import Dataset, JiraSimulator, serve, scenarios

    ds = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    ds.add_project(key="ACME", name="ACME Corp")
    issue = ds.add_issue(project="ACME", summary="Landing page", created=moment)
    ds.transition(issue.key, "In Progress", at=later, author=("acc-1", "Dev"))
    sim = JiraSimulator(ds, flavor="cloud")
    with serve(sim) as base_url:
        ...
"""

from scopeguard.simulator import scenarios
from scopeguard.simulator.app import JiraSimulator, RequestRecord
from scopeguard.simulator.catalog import Flavor
from scopeguard.simulator.dataset import (
    Dataset,
    SimComment,
    SimHistory,
    SimIssue,
    SimItem,
    SimProject,
    SimStatus,
    SimUser,
)
from scopeguard.simulator.faults import Faults, MalformedKind
from scopeguard.simulator.real import (
    LoadedSource,
    RealLoad,
    load_patternfly,
    load_puppet,
    load_real,
    load_sp_cloud,
)
from scopeguard.simulator.scenarios import ScenarioClient
from scopeguard.simulator.server import serve

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
