"""Keeps each client's metrics current: cached per-issue facts and a snapshot of the figures.

The expensive part of the metrics is reading each issue's changelog into
:class:`~scopeguard.domain.facts.IssueFacts`. That happens once per issue per
change: during the sync, from the issues it has just parsed, and again only
when the issue changes or the inputs the facts depend on change (contract,
workflow rules, statuses: the *fingerprint*). After every sync the client's
summary and daily series are recomputed from the cached facts and stored, so
the API serves one stored row per request.

What flows out is typed: a :class:`Snapshot` holds the client's
:class:`~scopeguard.domain.figures.ClientFigures`; the API's JSON is written
from them once per snapshot, at the edge (:mod:`scopeguard.presentation.documents`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import cached_property

from scopeguard.adapters.store.db import Database, Transaction
from scopeguard.adapters.store.directory import group_members
from scopeguard.adapters.store.facts_store import (
    CHUNK,
    StampedFacts,
    decode_stored_facts,
    fact_stamps,
    facts_by_key,
    issue_pks_by_key,
    iter_facts,
    save_facts,
    stale_issue_pks,
)
from scopeguard.adapters.store.repository import find_issue, load_issues, load_statuses
from scopeguard.adapters.store.snapshot_store import (
    load_snapshot,
    restamp_snapshot,
    save_snapshot,
    snapshot_head,
    stored_points_field,
    sync_status,
)
from scopeguard.adapters.store.worklogs import load_worklogs, stream_worklogs
from scopeguard.config import ClientSettings, Settings
from scopeguard.domain.clock import Clock, utcnow
from scopeguard.domain.context import ClientContext
from scopeguard.domain.contract import Contract
from scopeguard.domain.effort import (
    EffortBreakdown,
    Rates,
    effort_and_daily_hours,
    effort_breakdown,
)
from scopeguard.domain.facts import FACTS_SCHEMA_VERSION, IssueFacts
from scopeguard.domain.figures import ClientFigures, IssueTrail
from scopeguard.domain.metrics import ScopeSummary, issue_evidence, summary_and_series
from scopeguard.domain.model import Issue
from scopeguard.domain.timeseries import DailySeries
from scopeguard.presentation.documents import (
    SeriesDocument,
    SummaryDocument,
    figures_from_documents,
    series_document,
    summary_document,
)
from scopeguard.usecases.collector import fewer_collections
from scopeguard.usecases.sync import SyncReport


class Snapshot:
    """A client's figures as last computed, and their JSON. Read-only: it is shared."""

    def __init__(
        self,
        client_key: str,
        computed_at: datetime,
        *,
        summary_document: SummaryDocument,
        series_document: SeriesDocument,
        contract: Contract,
        figures: ClientFigures | None = None,
    ) -> None:
        self.client_key = client_key
        self.computed_at = computed_at
        self.summary_document = summary_document
        self.series_document = series_document
        self._contract = contract
        self._figures = figures

    @cached_property
    def figures(self) -> ClientFigures:
        """The typed figures (decoded from the stored documents the first time they are asked)."""
        if self._figures is not None:
            return self._figures
        return figures_from_documents(self.summary_document, self.series_document, self._contract)

    @property
    def summary(self) -> ScopeSummary:
        """The summary as of the snapshot."""
        return self.figures.summary

    @property
    def series(self) -> DailySeries:
        """The daily series up to the snapshot's day."""
        return self.figures.series

    @cached_property
    def summary_json(self) -> bytes:
        """The summary as UTF-8 JSON, encoded once per snapshot rather than per request
        (for 20,000 issues it is about a megabyte)."""
        return _encode(self.summary_document)

    @cached_property
    def series_json(self) -> bytes:
        """The daily series as UTF-8 JSON, encoded once per snapshot."""
        return _encode(self.series_document)

    @cached_property
    def summary_json_gzip(self) -> bytes:
        """:attr:`summary_json` gzip-compressed, for clients that accept it (~10x smaller)."""
        return gzip.compress(self.summary_json, compresslevel=6, mtime=0)

    @cached_property
    def series_json_gzip(self) -> bytes:
        """:attr:`series_json` gzip-compressed."""
        return gzip.compress(self.series_json, compresslevel=6, mtime=0)


def _encode(document: SummaryDocument | SeriesDocument) -> bytes:
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
        self._facts_held: dict[str, StampedFacts] = {}
        """Decoded facts by client and issue, with the stamp of the row they match."""
        self._config_fingerprints: dict[str, str] = {}
        self._held: dict[str, tuple[int, Snapshot]] = {}
        """Decoded snapshots by client, with the stored version they came from."""

    # -- context ------------------------------------------------------------

    def contract(self, client: ClientSettings) -> Contract:
        """The client's contract, bare dates in the agency's zone."""
        return client.contract.to_contract(self.settings.agency.zone)

    def context(self, session: Transaction, client: ClientSettings) -> ClientContext:
        """The contract, rules and statuses the client's facts are computed with."""
        points_field = self.settings.jira.story_points_field or stored_points_field(
            session, client.key
        )
        return ClientContext.of(
            self.contract(client),
            self.settings.workflow.rules(),
            load_statuses(session),
            points_field,
            scope_label=client.scope_label,
            project_keys=client.project_keys,
        )

    # -- sync listener ------------------------------------------------------

    def issues_stored(self, client: ClientSettings, stored: Sequence[tuple[int, Issue]]) -> None:
        """Store the facts of issues a sync batch has just stored (they are in memory).

        The facts held for those issues are dropped, not replaced: the post-sync
        refresh decodes them back from storage in bulk. Holding each batch's new
        facts saved that decode (~0.5 s for 20,000 issues, once per full sync) but
        kept ~65 MB of them alive beside the sync's pages until the sync ended, which
        put a full sync's peak RSS over 250 MB; an incremental sync decodes a few.
        """
        with self.database.session() as session:
            context = self.context(session, client)
            save_facts(
                session,
                client.key,
                context.fingerprint,
                [(pk, context.facts(issue)) for pk, issue in stored],
            )
        held = self._facts_held.get(client.key)
        if held:
            for pk, _ in stored:
                held.pop(pk, None)

    def sync_finished(self, client: ClientSettings, report: SyncReport) -> None:
        """Recompute what the sync made stale and store the client's new snapshot.

        A sync that changed nothing (the common case every 15 minutes) only stamps
        the stored snapshot with the new sync time instead of recomputing it.
        """
        if not report.changed_issue_pks and not report.removed_pks and not report.worklogs_changed:
            with self.database.session() as session:
                stored = load_snapshot(session, client.key)
                current = stored is not None and (
                    stored.head.fingerprint == self._snapshot_fingerprint(session, client)
                    and stored.head.series_until == self._today()
                )
                sync = sync_status(session, client.key)
                if stored is not None and current and sync.last_success is not None:
                    synced = sync.last_success.astimezone(self.settings.agency.zone)
                    summary = stored.summary
                    restamp_snapshot(
                        session,
                        client.key,
                        {
                            **summary,
                            "as_of": synced.isoformat(),
                            "sync": {**summary["sync"], "last_success": synced.isoformat()},
                        },
                    )
                    return
        self.refresh(client, changed_pks=report.removed_pks)

    # -- computing ------------------------------------------------------------

    def refresh(self, client: ClientSettings, changed_pks: Iterable[int] = ()) -> Snapshot:
        """Bring cached facts up to date (changed, missing or stale) and store a new snapshot."""
        # The whole refresh, not only the figures: writing the documents of 20,000
        # issues allocates as many containers again, while every issue's facts are
        # alive, and at the default thresholds the collector walked them all.
        with fewer_collections(), self.database.session() as session:
            context = self.context(session, client)
            stale = set(changed_pks) | stale_issue_pks(session, client.key, context.fingerprint)
            ordered = sorted(stale)
            for start in range(0, len(ordered), CHUNK):
                chunk = ordered[start : start + CHUNK]
                issues = load_issues(session, client.key, pks=chunk)
                pk_by_key = issue_pks_by_key(session, chunk)
                saved = save_facts(
                    session,
                    client.key,
                    context.fingerprint,
                    [(pk_by_key[issue.key], context.facts(issue)) for issue in issues],
                )
                if self.hold_facts:
                    # A rolled-back write leaves stamps no row has: decoded again next time.
                    self._facts_held.setdefault(client.key, {}).update(saved)
            figures = self._compute(session, client, context)
            snapshot = Snapshot(
                client.key,
                figures.summary.as_of,
                summary_document=summary_document(figures),
                series_document=series_document(figures),
                contract=context.contract,
                figures=figures,
            )
            version = save_snapshot(
                session,
                client.key,
                fingerprint=self._fingerprint(client, context, self._rated_groups(session, client)),
                config_fingerprint=self._config_fingerprint(client),
                computed_at=snapshot.computed_at,
                series_until=self._today(),
                summary=snapshot.summary_document,
                series=snapshot.series_document,
            )
        # Committed: held as the stored version, exactly as :meth:`snapshot` would load it
        # (the same documents, the figures decoded from them, the moment in UTC as the
        # column returns it). The alerts read it right after a sync: loading it back
        # parsed the summary's JSON (13 MB at 20,000 issues with logged time) into a
        # second copy of the documents while the first was still alive.
        self._held[client.key] = (
            version,
            Snapshot(
                client.key,
                snapshot.computed_at.astimezone(UTC),
                summary_document=snapshot.summary_document,
                series_document=snapshot.series_document,
                contract=context.contract,
            ),
        )
        return snapshot

    def _compute(
        self, session: Transaction, client: ClientSettings, context: ClientContext
    ) -> ClientFigures:
        zone = self.settings.agency.zone
        # Shown to people: in the agency's zone (the same instant as UTC).
        now = self.clock().astimezone(zone)
        # Rows are streamed and only the decoded facts are kept: holding the JSON
        # of 20,000 issues as well doubled the memory peak of a refresh, and
        # decoding twice doubled its time.
        facts = self._all_facts(session, client.key)
        summary, points = summary_and_series(facts, context.contract, now, zone, self._today())
        # Logged time: placed on the same facts (rounds, creep) and the same days.
        by_key = {item.key: item for item in facts}
        del facts
        rates = self.rates(session, client)
        # Streamed: placed and summed as they are read, none kept; closed here even
        # if the figures fail, while the session still has its connection.
        with closing(stream_worklogs(session, client.key)) as worklogs:
            effort, logged = effort_and_daily_hours(
                worklogs,
                by_key,
                context.contract,
                rates,
                now,
                zone=zone,
                days=[p.day for p in points],
            )
        points = [replace(point, logged_hours=h) for point, h in zip(points, logged, strict=True)]
        del by_key
        return ClientFigures(
            key=client.key,
            name=client.name,
            summary=summary,
            series=DailySeries(zone, tuple(context.contract.scope), tuple(points)),
            sync=sync_status(session, client.key),
            effort=effort,
        )

    def rates(self, session: Transaction, client: ClientSettings) -> Rates:
        """The client's hourly rates: per account, per group (members as last read), else
        the contract's ``hourly_rate``."""
        contract = client.contract
        members = group_members(session, contract.rate_groups)
        accounts: dict[str, float] = {}
        groups: list[tuple[str, frozenset[str], float]] = []
        for key, rate in contract.rates.items():
            if key.startswith("group:"):
                name = key[len("group:") :]
                groups.append((name, members.get(name, frozenset()), rate))
            else:
                accounts[key] = rate
        return Rates(contract.hourly_rate, accounts, tuple(groups))

    def effort_breakdown(self, client: ClientSettings) -> EffortBreakdown:
        """The client's logged time per person and per week, now: for the agency's eyes only
        (the internal section, the internal PDF), never in the client's PDF or the API."""
        zone = self.settings.agency.zone
        now = self.clock().astimezone(zone)
        context, facts = self.current_facts(client)
        with self.database.session() as session:
            worklogs = load_worklogs(session, client.key)
            rates = self.rates(session, client)
        return effort_breakdown(
            worklogs, {f.key: f for f in facts}, context.contract, rates, now, zone=zone
        )

    def _all_facts(self, session: Transaction, client_key: str) -> list[IssueFacts]:
        """Every cached fact of the client, decoding only what this process does not hold."""
        if not self.hold_facts:
            return list(iter_facts(session, client_key))
        # A copy: a sync storing a batch meanwhile (another thread) drops entries.
        held = dict(self._facts_held.get(client_key, {}))
        stamps = fact_stamps(session, client_key)
        missing = [pk for pk, stamp in stamps if held.get(pk, (None,))[0] != stamp]
        fresh = dict(decode_stored_facts(session, missing))
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

    def _fingerprint(
        self, client: ClientSettings, context: ClientContext, rated_groups: list[list[str]]
    ) -> str:
        contract = client.contract.model_dump(mode="json")
        basis = json.dumps(
            [context.fingerprint, contract, client.name, rated_groups], sort_keys=True
        )
        return hashlib.sha256(basis.encode()).hexdigest()

    def _rated_groups(self, session: Transaction, client: ClientSettings) -> list[list[str]]:
        """The members of the groups the client's rates price: a directory lookup that
        changes them changes the unbilled amount, so the snapshot is recomputed."""
        members = group_members(session, client.contract.rate_groups)
        return [[group, *sorted(accounts)] for group, accounts in sorted(members.items())]

    def _snapshot_fingerprint(self, session: Transaction, client: ClientSettings) -> str:
        return self._fingerprint(
            client, self.context(session, client), self._rated_groups(session, client)
        )

    # -- reading --------------------------------------------------------------

    def current_facts(self, client: ClientSettings) -> tuple[ClientContext, list[IssueFacts]]:
        """The client's context and every issue's cached facts, stale ones recomputed first.

        For figures at another moment than now (the monthly reports):
        ``summarize(facts, context.contract, as_of)`` with the domain functions.
        """
        with self.database.session() as session:
            context = self.context(session, client)
            stale = bool(stale_issue_pks(session, client.key, context.fingerprint))
        if stale:
            self.refresh(client)
        with self.database.session() as session:
            return self.context(session, client), list(iter_facts(session, client.key))

    def facts_of(self, client: ClientSettings, keys: Sequence[str]) -> dict[str, IssueFacts]:
        """The cached facts of the named issues (current after :meth:`snapshot`)."""
        with self.database.session() as session:
            return facts_by_key(session, client.key, keys)

    def snapshot(self, client: ClientSettings) -> Snapshot:
        """The stored snapshot, recomputed first if the config changed or a day has passed.

        This is every API and panel request's path, so it costs one small query
        when the decoded snapshot this process holds is still the stored version;
        the statuses a snapshot also depends on change only in a sync, which
        stores a new snapshot itself.
        """
        with self.database.session() as session:
            head = snapshot_head(session, client.key)
            if (
                head is not None
                and head.config_fingerprint == self._config_fingerprint(client)
                and head.series_until == self._today()
            ):
                held = self._held.get(client.key)
                if held is not None and held[0] == head.version:
                    return held[1]
                stored = load_snapshot(session, client.key)
                if stored is not None:
                    snapshot = Snapshot(
                        client.key,
                        stored.computed_at,
                        summary_document=stored.summary,
                        series_document=stored.series,
                        contract=self.contract(client),
                    )
                    self._held[client.key] = (stored.head.version, snapshot)
                    return snapshot
        return self.refresh(client)

    def issue_trail(self, client: ClientSettings, issue_key: str) -> IssueTrail | None:
        """One issue's revision rounds and reopens (the evidence trail), or ``None``."""
        with self.database.session() as session:
            pk = find_issue(session, client.key, issue_key)
            if pk is None:
                return None
            context = self.context(session, client)
            (issue,) = load_issues(session, client.key, pks=[pk])
        facts = context.facts(issue)
        allowance = context.contract.revisions_per_issue
        effort = self.snapshot(client).figures.effort
        issue_effort = effort.by_issue.get(issue.key) if effort is not None else None
        return IssueTrail(
            client=client.key,
            issue=issue.key,
            summary=issue.summary,
            status=issue.status.name,
            url=self.settings.jira.browse_url(issue.key),
            revisions_per_issue=allowance,
            rounds=tuple(issue_evidence(facts, allowance=allowance)),
            added_at=facts.added_at,
            approved=facts.approved,
            removed_at=facts.removed_at,
            round_hours=(
                tuple(r.hours for r in issue_effort.rounds)
                if issue_effort is not None and issue_effort.logged_hours > 0
                else ()
            ),
        )
