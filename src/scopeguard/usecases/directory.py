"""Keeping the people directory current: the groups and emails the configuration names.

``agency.team``, ``clients[].client_users`` and ``risk.ignore`` may name Jira
groups and emails, and ``contract.rates`` may price Jira groups; the sync looks
them up (:func:`refresh_directory`), at most once per
``jira.metadata_ttl_minutes`` each, like the other site metadata, so a sync with
nothing changed still costs its one search request per client. The rates and the
client-risk sides read the same stored members.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from scopeguard.adapters.store import directory as stored
from scopeguard.adapters.store.db import Database
from scopeguard.config import Settings
from scopeguard.domain.risk.people import Directory

log = logging.getLogger(__name__)


class DirectorySource(Protocol):
    """What the lookups need from Jira (:class:`~scopeguard.adapters.jira.JiraClient` has it)."""

    def group_members(self, group: str) -> list[str] | None: ...

    def accounts_by_email(self, email: str) -> list[str]: ...


def wanted_names(settings: Settings) -> set[tuple[str, str]]:
    """Every (kind, name) the people lists name by group or email, and every group a
    contract's ``rates`` prices (``group:<name>``)."""
    people = [*settings.agency.team, *settings.risk.ignore]
    wanted: set[tuple[str, str]] = set()
    for client in settings.clients:
        people.extend(client.client_users)
        wanted.update((stored.GROUP, group) for group in client.contract.rate_groups)
    for person in people:
        if person.group is not None:
            wanted.add((stored.GROUP, person.group))
        elif person.email is not None:
            wanted.add((stored.EMAIL, person.email))
    return wanted


def refresh_directory(
    settings: Settings, database: Database, jira: DirectorySource, now: datetime
) -> int:
    """Look up the names not looked up within the TTL; returns how many were.

    A group the site does not have is logged and stored as empty: everyone in it
    then counts as the client, which the panel's people list makes visible.
    """
    ttl = timedelta(minutes=settings.jira.metadata_ttl_minutes)
    with database.session() as session:
        stamps = stored.fetched_at(session)
    due = sorted(
        (kind, name)
        for kind, name in wanted_names(settings)
        if (kind, name) not in stamps or now - stamps[(kind, name)] >= ttl
    )
    for kind, name in due:
        if kind == stored.GROUP:
            members = jira.group_members(name)
            if members is None:
                log.warning(
                    "the configuration names the Jira group %r, which the site does not have",
                    name,
                )
            accounts = members or []
        else:
            accounts = jira.accounts_by_email(name)
        with database.session() as session:
            stored.replace(session, kind, name, accounts, now)
    return len(due)


def load(database: Database) -> Directory:
    """The stored directory."""
    with database.session() as session:
        return stored.load_directory(session)
