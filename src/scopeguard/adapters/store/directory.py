"""The people directory as stored: group members and the accounts behind emails."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from scopeguard.adapters.store.models import DirectoryRow
from scopeguard.domain.risk.people import Directory

GROUP = "group"
EMAIL = "email"


def fetched_at(session: Session) -> dict[tuple[str, str], datetime]:
    """When each (kind, name) was last looked up."""
    stamps: dict[tuple[str, str], datetime] = {}
    for row in session.scalars(select(DirectoryRow)):
        key = (row.kind, row.name)
        stamps[key] = min(stamps.get(key, row.fetched_at), row.fetched_at)
    return stamps


def replace(session: Session, kind: str, name: str, accounts: Iterable[str], at: datetime) -> None:
    """What the lookup of ``name`` found now (an empty account marks "nobody")."""
    session.execute(
        delete(DirectoryRow).where(DirectoryRow.kind == kind, DirectoryRow.name == name)
    )
    found = sorted(set(accounts)) or [""]
    session.add_all(DirectoryRow(kind=kind, name=name, account=a, fetched_at=at) for a in found)


def group_members(session: Session, groups: Iterable[str]) -> dict[str, frozenset[str]]:
    """The stored members of each of ``groups`` (a group not looked up yet has none)."""
    wanted = list(dict.fromkeys(groups))
    found: dict[str, set[str]] = {group: set() for group in wanted}
    if wanted:
        rows = session.execute(
            select(DirectoryRow.name, DirectoryRow.account).where(
                DirectoryRow.kind == GROUP, DirectoryRow.name.in_(wanted)
            )
        )
        for name, account in rows:
            if account:
                found[name].add(account)
    return {group: frozenset(accounts) for group, accounts in found.items()}


def load_directory(session: Session) -> Directory:
    """The :class:`~scopeguard.domain.risk.people.Directory` the sides are told by."""
    emails: dict[str, str] = {}
    groups: dict[str, set[str]] = {}
    for row in session.scalars(select(DirectoryRow).order_by(DirectoryRow.name)):
        if not row.account:
            if row.kind == GROUP:
                groups.setdefault(row.name, set())
            continue
        if row.kind == EMAIL:
            emails[row.account] = row.name
        else:
            groups.setdefault(row.name, set()).add(row.account)
    frozen: Mapping[str, frozenset[str]] = {n: frozenset(a) for n, a in groups.items()}
    return Directory(emails=emails, groups=frozen)
