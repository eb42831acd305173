"""Cached per-issue facts in the ``issue_facts`` table (MessagePack, see ``facts_codec``).

The expensive part of the metrics is reading each issue's changelog into
:class:`~scopeguard.domain.facts.IssueFacts`; the facts are cached here with the
fingerprint of everything else they depend on, and a random stamp per write so
a process holding decoded facts can tell which rows changed.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from scopeguard.adapters.store.facts_codec import decode_facts as facts_from_blob
from scopeguard.adapters.store.facts_codec import encode_facts
from scopeguard.adapters.store.models import IssueFactsRow, IssueRow
from scopeguard.domain.facts import IssueFacts

CHUNK = 1000
"""Rows per query when reading or writing many issues' facts."""

StampedFacts = dict[int, tuple[int, IssueFacts]]
"""Facts by issue primary key, each with the stamp of the row it was written as."""


def stale_issue_pks(session: Session, client_key: str, fingerprint: str) -> set[int]:
    """Issues of the client without cached facts, or with facts of another fingerprint."""
    rows = session.execute(
        select(IssueRow.pk, IssueFactsRow.fingerprint)
        .outerjoin(IssueFactsRow, IssueFactsRow.issue_pk == IssueRow.pk)
        .where(IssueRow.client_key == client_key)
    ).all()
    return {pk for pk, cached in rows if cached != fingerprint}


def issue_pks_by_key(session: Session, pks: Sequence[int]) -> dict[str, int]:
    """The primary keys of the given issues by issue key."""
    return dict(
        session.execute(select(IssueRow.key, IssueRow.pk).where(IssueRow.pk.in_(pks))).all()
    )


def save_facts(
    session: Session, client_key: str, fingerprint: str, facts: Sequence[tuple[int, IssueFacts]]
) -> StampedFacts:
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
                "packed": encode_facts(item),
                "stamp": stamp,
            }
            for pk, (stamp, item) in stamped.items()
        ],
    )
    return stamped


def fact_stamps(session: Session, client_key: str) -> list[tuple[int, int]]:
    """``(issue pk, stamp)`` of every cached fact of the client."""
    rows = session.execute(
        select(IssueFactsRow.issue_pk, IssueFactsRow.stamp).where(
            IssueFactsRow.client_key == client_key
        )
    ).all()
    return [(pk, stamp) for pk, stamp in rows]


def decode_stored_facts(
    session: Session, pks: Sequence[int]
) -> Iterator[tuple[int, tuple[int, IssueFacts]]]:
    """Stored facts of the given issues with their stamps, decoded chunk by chunk."""
    for start in range(0, len(pks), CHUNK):
        chunk = pks[start : start + CHUNK]
        rows = session.execute(
            select(IssueFactsRow.issue_pk, IssueFactsRow.stamp, IssueFactsRow.packed).where(
                IssueFactsRow.issue_pk.in_(chunk)
            )
        )
        for pk, stamp, data in rows:
            yield pk, (stamp, facts_from_blob(data))


def iter_facts(session: Session, client_key: str) -> Iterator[IssueFacts]:
    """The client's cached facts, streamed from the database."""
    query = (
        select(IssueFactsRow.packed)
        .where(IssueFactsRow.client_key == client_key)
        .execution_options(yield_per=CHUNK)
    )
    for data in session.scalars(query):
        yield facts_from_blob(data)


def facts_by_key(
    session: Session, client_key: str, keys: Sequence[str] | None = None
) -> dict[str, IssueFacts]:
    """The client's cached facts by issue key (all of them, or those of ``keys``).

    With ``keys`` (a page of the panel) only those rows are read, in two steps
    each database can only answer through an index: the issues' primary keys
    from ``(client_key, key)``, then their facts by primary key. As one join
    filtered on ``issue_facts.client_key``, SQLite walked every fact of the
    client and PostgreSQL, depending on its statistics, every issue of every
    client or every fact of the client, for each page.
    """
    found: dict[str, IssueFacts] = {}
    if keys is None:
        query = select(IssueFactsRow.packed).where(IssueFactsRow.client_key == client_key)
        for data in session.scalars(query):
            item = facts_from_blob(data)
            found[item.key] = item
        return found
    for start in range(0, len(keys), CHUNK):
        chunk = list(keys[start : start + CHUNK])
        pks = session.scalars(
            select(IssueRow.pk).where(IssueRow.client_key == client_key, IssueRow.key.in_(chunk))
        ).all()
        if not pks:
            continue
        rows = session.scalars(select(IssueFactsRow.packed).where(IssueFactsRow.issue_pk.in_(pks)))
        for data in rows:
            item = facts_from_blob(data)
            found[item.key] = item
    return found
