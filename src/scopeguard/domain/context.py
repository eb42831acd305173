"""A client's context: everything besides an issue that the issue's facts depend on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scopeguard.domain.contract import Contract, WorkflowRules
from scopeguard.domain.facts import IssueFacts
from scopeguard.domain.history import StatusIndex, facts_fingerprint, issue_facts
from scopeguard.domain.model import Issue, Status


@dataclass(frozen=True, slots=True)
class ClientContext:
    """The contract, workflow rules, statuses and scope options a client's facts use.

    Build it with :meth:`of`; :attr:`fingerprint` changes whenever any of it does,
    which is when every cached fact of the client must be recomputed.
    """

    contract: Contract
    rules: WorkflowRules
    statuses: StatusIndex
    story_points_field: str | None
    scope_label: str | None
    project_keys: tuple[str, ...]
    """The client's Jira project keys (read from its configuration once, not per issue)."""
    fingerprint: str

    @classmethod
    def of(
        cls,
        contract: Contract,
        rules: WorkflowRules,
        statuses: Mapping[str, Status],
        story_points_field: str | None,
        *,
        scope_label: str | None = None,
        project_keys: tuple[str, ...] = (),
    ) -> ClientContext:
        """The context, with its fingerprint computed once."""
        fingerprint = facts_fingerprint(
            contract,
            rules,
            statuses,
            story_points_field,
            scope_label=scope_label,
            project_keys=project_keys,
        )
        return cls(
            contract,
            rules,
            StatusIndex(statuses),
            story_points_field,
            scope_label,
            project_keys,
            fingerprint,
        )

    def facts(self, issue: Issue) -> IssueFacts:
        """The metric facts of one issue under this context."""
        return issue_facts(
            issue,
            self.contract,
            self.rules,
            self.statuses,
            self.story_points_field,
            scope_label=self.scope_label,
            project_keys=self.project_keys,
        )
