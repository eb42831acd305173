"""Keeps each client's metrics current: cached per-issue facts and a summary snapshot.

The expensive part of the metrics is reading each issue's changelog into
:class:`~scopeguard.domain.metrics.IssueFacts`. That happens once per issue per
change: during the sync, from the issues it has just parsed, and again only
when the issue changes or the inputs the facts depend on change (contract,
workflow rules, statuses: the *fingerprint*). After every sync the client's
summary and daily series are recomputed from the cached facts and stored, so
the API serves one stored row per request.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.models import (
    ClientSnapshotRow,
    IssueFactsRow,
    IssueRow,
    SyncStateRow,
)
from scopeguard.adapters.store.repository import load_issues, load_statuses
from scopeguard.config import ClientSettings, Settings
from scopeguard.domain.clock import Clock, utcnow
from scopeguard.domain.contract import Contract, WorkflowRules
from scopeguard.domain.facts import facts_from_row, facts_to_row
from scopeguard.domain.history import StatusIndex
from scopeguard.domain.metrics import (
    FACTS_SCHEMA_VERSION,
    IssueFacts,
    RevisionRound,
    ScopeSummary,
    daily_series,
    facts_fingerprint,
    issue_evidence,
    issue_facts,
    summarize,
)
from scopeguard.domain.model import Issue
from scopeguard.presentation.documents import series_document, summary_document, sync_block
from scopeguard.usecases.sync import SyncReport

_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class ClientContext:
    """Everything besides an issue that its facts depend on."""

    client: ClientSettings
    contract: Contract
    rules: WorkflowRules
    statuses: StatusIndex
    story_points_field: str | None
    project_keys: tuple[str, ...]
    """The client's project keys, read from its JQL once rather than per issue."""
    fingerprint: str

    def facts(self, issue: Issue) -> IssueFacts:
        """The metric facts of one issue under this context."""
        return issue_facts(
            issue,
            self.contract,
            self.rules,
            self.statuses,
            self.story_points_field,
            scope_label=self.client.scope_label,
            project_keys=self.project_keys,
        )


@dataclass(frozen=True)
class Snapshot:
    """A client's figures as last computed. Treat as read-only: it is shared."""

    client_key: str
    computed_at: datetime
    summary: dict[str, Any]
    series: dict[str, Any]

    @cached_property
    def summary_json(self) -> bytes:
        """The summary as UTF-8 JSON, encoded once per snapshot rather than per request
        (for 20,000 issues it is about a megabyte)."""
        return _encode(self.summary)

    @cached_property
    def series_json(self) -> bytes:
        """The daily series as UTF-8 JSON, encoded once per snapshot."""
        return _encode(self.series)

    @cached_property
    def summary_json_gzip(self) -> bytes:
        """:attr:`summary_json` gzip-compressed, for clients that accept it (~10x smaller)."""
        return gzip.compress(self.summary_json, compresslevel=6, mtime=0)

    @cached_property
    def series_json_gzip(self) -> bytes:
        """:attr:`series_json` gzip-compressed."""
        return gzip.compress(self.series_json, compresslevel=6, mtime=0)


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


class ScopeAnalysis:
    """Computes, caches and serves each client's scope metrics."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        clock: Clock = utcnow,
        hold_facts: bool = False,
    ) -> None:
        """``hold_facts`` keeps every client's decoded facts in memory between refreshes
        (about 5 KB an issue): right for the process that syncs, which then
        recomputes a summary from what changed instead of decoding every issue
        again; wrong for web workers, which only read stored snapshots."""
        self.settings = settings
        self.database = database
        self.clock = clock
        self.hold_facts = hold_facts
        self._facts_held: dict[str, dict[int, tuple[int, IssueFacts]]] = {}
        """Decoded facts by client and issue, with the stamp of the row they match."""
        self._config_fingerprints: dict[str, str] = {}
        self._held: dict[str, tuple[int, Snapshot]] = {}
        """Decoded snapshots by client, with the stored version they came from."""

    # -- context ------------------------------------------------------------

    def context(self, session: Session, client: ClientSettings) -> ClientContext:
        """The contract, rules and statuses the client's facts are computed with."""
        zone = self.settings.agency.zone
        contract = client.contract.to_contract(zone)
        rules = self.settings.workflow.rules()
        statuses = load_statuses(session)
        state = session.get(SyncStateRow, client.key)
        points_field = self.settings.jira.story_points_field or (
            state.story_points_field if state is not None else None
        )
        project_keys = client.project_keys
        fingerprint = facts_fingerprint(
            contract,
            rules,
            statuses,
            points_field,
            scope_label=client.scope_label,
            project_keys=project_keys,
        )
        return ClientContext(
            client, contract, rules, StatusIndex(statuses), points_field, project_keys, fingerprint
        )

    # -- sync listener ------------------------------------------------------

    def issues_stored(self, client: ClientSettings, stored: Sequence[tuple[int, Issue]]) -> None:
        """Cache the facts of issues a sync batch has just stored (they are in memory)."""
        with self.database.session() as session:
            context = self.context(session, client)
            saved = _save_facts(
                session,
                client.key,
                context.fingerprint,
                [(pk, context.facts(issue)) for pk, issue in stored],
            )
        if self.hold_facts:
            self._facts_held.setdefault(client.key, {}).update(saved)

    def sync_finished(self, client: ClientSettings, report: SyncReport) -> None:
        """Recompute what the sync made stale and store the client's new snapshot.

        A sync that changed nothing (the common case every 15 minutes) only stamps
        the stored snapshot with the new sync time instead of recomputing it.
        """
        if not report.changed_issue_pks and not report.removed_pks:
            with self.database.session() as session:
                row = self._current_row(session, client)
                state = session.get(SyncStateRow, client.key)
                if row is not None and state is not None and state.last_success is not None:
                    synced = state.last_success.astimezone(self.settings.agency.zone)
                    sync = {**row.summary["sync"], "last_success": synced.isoformat()}
                    row.summary = {**row.summary, "as_of": synced.isoformat(), "sync": sync}
                    row.version += 1
                    return
        self.refresh(client, changed_pks=report.removed_pks)

    # -- computing ------------------------------------------------------------

    def refresh(self, client: ClientSettings, changed_pks: Iterable[int] = ()) -> Snapshot:
        """Bring cached facts up to date (changed, missing or stale) and store a new snapshot."""
        with self.database.session() as session:
            context = self.context(session, client)
            stale = set(changed_pks) | _stale_pks(session, client.key, context.fingerprint)
            ordered = sorted(stale)
            for start in range(0, len(ordered), _CHUNK):
                chunk = ordered[start : start + _CHUNK]
                issues = load_issues(session, client.key, pks=chunk)
                pk_by_key = dict(
                    session.execute(
                        select(IssueRow.key, IssueRow.pk).where(IssueRow.pk.in_(chunk))
                    ).all()
                )
                saved = _save_facts(
                    session,
                    client.key,
                    context.fingerprint,
                    [(pk_by_key[issue.key], context.facts(issue)) for issue in issues],
                )
                if self.hold_facts:
                    # A rolled-back write leaves stamps no row has: decoded again next time.
                    self._facts_held.setdefault(client.key, {}).update(saved)
            snapshot = self._compute(session, context)
            row = session.get(ClientSnapshotRow, client.key)
            if row is None:
                row = ClientSnapshotRow(client_key=client.key, version=0)
                session.add(row)
            row.fingerprint = self._snapshot_fingerprint(context)
            row.config_fingerprint = self._config_fingerprint(client)
            row.version += 1
            row.computed_at = snapshot.computed_at
            row.series_until = self._today().isoformat()
            row.summary = snapshot.summary
            row.series = snapshot.series
        return snapshot

    def _compute(self, session: Session, context: ClientContext) -> Snapshot:
        zone = self.settings.agency.zone
        # Shown to people: in the agency's zone (the same instant as UTC).
        now = self.clock().astimezone(zone)
        client = context.client
        # Rows are streamed and only the decoded facts are kept: holding the JSON
        # of 20,000 issues as well doubled the memory peak of a refresh, and
        # decoding twice doubled its time.
        facts = self._all_facts(session, client.key)
        summary: ScopeSummary = summarize(facts, context.contract, now)
        series = daily_series(facts, context.contract, zone, self._today())
        del facts
        return Snapshot(
            client_key=client.key,
            computed_at=now,
            summary=summary_document(
                summary, client.key, client.name, sync_block(session, client.key, zone)
            ),
            series=series_document(series, context.contract, zone, client.key),
        )

    def _all_facts(self, session: Session, client_key: str) -> list[IssueFacts]:
        """Every cached fact of the client, decoding only what this process does not hold."""
        if not self.hold_facts:
            return list(_iter_facts(session, client_key))
        held = self._facts_held.get(client_key, {})
        stamps = session.execute(
            select(IssueFactsRow.issue_pk, IssueFactsRow.stamp).where(
                IssueFactsRow.client_key == client_key
            )
        ).all()
        missing = [pk for pk, stamp in stamps if held.get(pk, (None,))[0] != stamp]
        fresh = dict(_decode_facts(session, missing))
        current = {pk: fresh.get(pk) or held[pk] for pk, _ in stamps}
        self._facts_held[client_key] = current
        return [item for _, item in current.values()]

    def _today(self) -> date:
        return self.clock().astimezone(self.settings.agency.zone).date()

    def _config_fingerprint(self, client: ClientSettings) -> str:
        """Everything in the configuration the client's figures depend on (cached: settings
        do not change while the process runs)."""
        cached = self._config_fingerprints.get(client.key)
        if cached is None:
            basis = json.dumps(
                [
                    FACTS_SCHEMA_VERSION,
                    client.model_dump(mode="json", exclude={"alerts"}),
                    self.settings.workflow.model_dump(mode="json"),
                    self.settings.agency.timezone,
                    self.settings.jira.story_points_field,
                ],
                sort_keys=True,
            )
            cached = hashlib.sha256(basis.encode()).hexdigest()
            self._config_fingerprints[client.key] = cached
        return cached

    def _snapshot_fingerprint(self, context: ClientContext) -> str:
        contract = context.client.contract.model_dump(mode="json")
        basis = json.dumps([context.fingerprint, contract, context.client.name], sort_keys=True)
        return hashlib.sha256(basis.encode()).hexdigest()

    # -- reading --------------------------------------------------------------

    def current_facts(self, client: ClientSettings) -> tuple[ClientContext, list[IssueFacts]]:
        """The client's context and every issue's cached facts, stale ones recomputed first.

        For figures at another moment than now (the monthly reports):
        ``summarize(facts, context.contract, as_of)`` with the domain functions.
        """
        with self.database.session() as session:
            context = self.context(session, client)
            stale = bool(_stale_pks(session, client.key, context.fingerprint))
        if stale:
            self.refresh(client)
        with self.database.session() as session:
            return self.context(session, client), list(_iter_facts(session, client.key))

    def snapshot(self, client: ClientSettings) -> Snapshot:
        """The stored snapshot, recomputed first if the config changed or a day has passed.

        This is every API and panel request's path, so it costs one small query
        when the decoded snapshot this process holds is still the stored version;
        the statuses a snapshot also depends on change only in a sync, which
        stores a new snapshot itself.
        """
        with self.database.session() as session:
            head = session.execute(
                select(
                    ClientSnapshotRow.version,
                    ClientSnapshotRow.config_fingerprint,
                    ClientSnapshotRow.series_until,
                ).where(ClientSnapshotRow.client_key == client.key)
            ).first()
            if (
                head is not None
                and head.config_fingerprint == self._config_fingerprint(client)
                and head.series_until == self._today().isoformat()
            ):
                held = self._held.get(client.key)
                if held is not None and held[0] == head.version:
                    return held[1]
                row = session.get(ClientSnapshotRow, client.key)
                if row is not None:
                    snapshot = Snapshot(client.key, row.computed_at, row.summary, row.series)
                    self._held[client.key] = (row.version, snapshot)
                    return snapshot
        return self.refresh(client)

    def _current_row(self, session: Session, client: ClientSettings) -> ClientSnapshotRow | None:
        """The stored snapshot if the configuration has not changed and it covers today."""
        row = session.get(ClientSnapshotRow, client.key)
        if (
            row is not None
            and row.fingerprint == self._snapshot_fingerprint(self.context(session, client))
            and row.series_until == self._today().isoformat()
        ):
            return row
        return None

    def issue_trail(self, client: ClientSettings, issue_key: str) -> dict[str, Any] | None:
        """One issue's revision rounds and reopens (the evidence trail), or ``None``."""
        with self.database.session() as session:
            row = session.execute(
                select(IssueRow.pk, IssueRow.key, IssueRow.summary, IssueRow.status_name).where(
                    IssueRow.client_key == client.key, IssueRow.key == issue_key
                )
            ).first()
            if row is None:
                return None
            context = self.context(session, client)
            (issue,) = load_issues(session, client.key, pks=[row.pk])
        facts = context.facts(issue)
        allowance = context.contract.revisions_per_issue
        rounds: list[RevisionRound] = issue_evidence(facts, allowance=allowance)
        zone = self.settings.agency.zone

        def shown(item: RevisionRound) -> dict[str, Any]:
            return {**item.to_dict(), "at": item.at.astimezone(zone).isoformat()}

        def moment(value: datetime | None) -> str | None:
            return value.astimezone(zone).isoformat() if value is not None else None

        return {
            "client": client.key,
            "issue": issue.key,
            "summary": issue.summary,
            "status": issue.status.name,
            "url": self.settings.jira.browse_url(issue.key),
            "revisions_per_issue": allowance,
            "revisions": [shown(r) for r in rounds],
            "reopens": [shown(r) for r in rounds if r.is_reopen],
            "added_at": moment(facts.added_at),
            "approved": facts.approved,
            "removed_at": moment(facts.removed_at),
        }


def _stale_pks(session: Session, client_key: str, fingerprint: str) -> set[int]:
    rows = session.execute(
        select(IssueRow.pk, IssueFactsRow.fingerprint)
        .outerjoin(IssueFactsRow, IssueFactsRow.issue_pk == IssueRow.pk)
        .where(IssueRow.client_key == client_key)
    ).all()
    return {pk for pk, cached in rows if cached != fingerprint}


def _save_facts(
    session: Session, client_key: str, fingerprint: str, facts: Sequence[tuple[int, IssueFacts]]
) -> dict[int, tuple[int, IssueFacts]]:
    """Store facts; returns them by issue with the stamp each row was written with."""
    if not facts:
        return {}
    pks = [pk for pk, _ in facts]
    stamped = {pk: (secrets.randbits(62), item) for pk, item in facts}
    session.execute(delete(IssueFactsRow).where(IssueFactsRow.issue_pk.in_(pks)))
    session.execute(
        insert(IssueFactsRow),
        [
            {
                "issue_pk": pk,
                "client_key": client_key,
                "fingerprint": fingerprint,
                "facts": facts_to_row(item),
                "stamp": stamp,
            }
            for pk, (stamp, item) in stamped.items()
        ],
    )
    return stamped


def _decode_facts(
    session: Session, pks: Sequence[int]
) -> Iterator[tuple[int, tuple[int, IssueFacts]]]:
    """Stored facts of the given issues with their stamps, decoded chunk by chunk."""
    for start in range(0, len(pks), _CHUNK):
        chunk = pks[start : start + _CHUNK]
        rows = session.execute(
            select(IssueFactsRow.issue_pk, IssueFactsRow.stamp, IssueFactsRow.facts).where(
                IssueFactsRow.issue_pk.in_(chunk)
            )
        )
        for pk, stamp, data in rows:
            yield pk, (stamp, facts_from_row(data))


def _iter_facts(session: Session, client_key: str) -> Iterator[IssueFacts]:
    """The client's cached facts, streamed from the database."""
    query = (
        select(IssueFactsRow.facts)
        .where(IssueFactsRow.client_key == client_key)
        .execution_options(yield_per=_CHUNK)
    )
    for data in session.scalars(query):
        yield facts_from_row(data)
