"""The syncing process's in-memory facts give the same figures as decoding them all."""

from __future__ import annotations

from pathlib import Path

from scopeguard.usecases.snapshots import ScopeAnalysis
from tests.support import clock
from tests.support.agency import build_agency


def test_held_facts_follow_every_change_and_match_a_fresh_process(tmp_path: Path) -> None:
    for agency in build_agency(tmp_path, syncing=True):
        services, settings = agency.services, agency.settings
        client = settings.client("TOX")
        analysis = services.analysis
        assert analysis.hold_facts
        dataset = agency.dataset
        now = clock.now()
        key = next(
            iter(services.analysis.snapshot(client).summary_document["revisions"]["by_issue"])
        )
        status = dataset.issue(key).status.name
        target = "Client Review" if status != "Client Review" else "In Progress"
        dataset.transition(key, target, at=now, author=("712020:pm", "PM"))
        if target == "Client Review":
            dataset.transition(key, "In Progress", at=now, author=("712020:client", "Client"))
        added = dataset.add_issue("TOX", "Just one more banner", created=now)
        services.sync.sync_client(client)

        held = analysis.snapshot(client).summary_document
        fresh = (
            ScopeAnalysis(settings, services.database, clock=agency.now)
            .refresh(client)
            .summary_document
        )
        strip = ("as_of",)
        assert {k: v for k, v in held.items() if k not in strip} == {
            k: v for k, v in fresh.items() if k not in strip
        }
        assert held["sync"]["issues"] == fresh["sync"]["issues"]
        assert added.key in held["scope"]["added"]
