"""packed changelog: an issue's change items in one column; no raw issue JSON

A row per change item made the database ~175 MB for 20,000 issues with 30
histories, and writing those rows was most of a sync's CPU; nothing reads single
change items. Each issue's items move, in their stored order, into
``issues.changelog`` (see ``scopeguard.adapters.store.changelog``). ``issues.raw``
(the issue JSON as Jira sent it) is dropped: nothing ever read it, and every field
ScopeGuard uses has its own column. ``ix_comments_issue_pk`` duplicated the first
column of the comments' unique index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:00:00.000000
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from scopeguard.adapters.store.changelog import decode_changes, encode_changes
from scopeguard.domain.model import ChangeItem

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 500

_issues = sa.table(
    "issues",
    sa.column("pk", sa.Integer()),
    sa.column("changelog", sa.LargeBinary()),
)
_items = sa.table(
    "change_items",
    sa.column("pk", sa.Integer()),
    sa.column("issue_pk", sa.Integer()),
    sa.column("history_id", sa.String()),
    sa.column("item_index", sa.Integer()),
    sa.column("created", sa.DateTime(timezone=True)),
    sa.column("author_account", sa.String()),
    sa.column("author_name", sa.String()),
    sa.column("field", sa.String()),
    sa.column("field_id", sa.String()),
    sa.column("from_id", sa.Text()),
    sa.column("from_string", sa.Text()),
    sa.column("to_id", sa.Text()),
    sa.column("to_string", sa.Text()),
)


def _aware(value: datetime) -> datetime:
    # SQLite gives back the stored UTC wall clock without a zone.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _issue_pks(connection: sa.Connection) -> Iterator[list[int]]:
    pks = list(connection.scalars(sa.select(_issues.c.pk).order_by(_issues.c.pk)))
    for start in range(0, len(pks), _CHUNK):
        yield pks[start : start + _CHUNK]


def upgrade() -> None:
    # Plain ALTER TABLE, never batch mode's copy of the table: on SQLite, dropping
    # the old issues table would cascade to the comments and facts referring to it.
    op.add_column("issues", sa.Column("changelog", sa.LargeBinary(), nullable=True))
    connection = op.get_bind()
    for chunk in _issue_pks(connection):
        changes: dict[int, list[ChangeItem]] = {pk: [] for pk in chunk}
        rows = connection.execute(
            sa.select(_items).where(_items.c.issue_pk.in_(chunk)).order_by(_items.c.pk)
        )
        for row in rows:
            changes[row.issue_pk].append(
                ChangeItem(
                    history_id=row.history_id,
                    created=_aware(row.created),
                    field=row.field,
                    field_id=row.field_id,
                    from_id=row.from_id,
                    from_string=row.from_string,
                    to_id=row.to_id,
                    to_string=row.to_string,
                    author_account=row.author_account,
                    author_name=row.author_name,
                )
            )
        packed = [{"b_pk": pk, "b_log": encode_changes(items)} for pk, items in changes.items()]
        connection.execute(
            _issues.update()
            .where(_issues.c.pk == sa.bindparam("b_pk"))
            .values(changelog=sa.bindparam("b_log")),
            packed,
        )
    op.drop_table("change_items")
    op.drop_column("issues", "raw")
    op.drop_index("ix_comments_issue_pk", table_name="comments")


def downgrade() -> None:
    op.create_index("ix_comments_issue_pk", "comments", ["issue_pk"], unique=False)
    # The raw JSON is gone for good; an empty object stands in for it.
    op.add_column(
        "issues", sa.Column("raw", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
    )
    op.create_table(
        "change_items",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("issue_pk", sa.Integer(), nullable=False),
        sa.Column("history_id", sa.String(length=32), nullable=False),
        sa.Column("item_index", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_account", sa.String(length=255), nullable=True),
        sa.Column("author_name", sa.String(length=255), nullable=True),
        sa.Column("field", sa.String(length=255), nullable=False),
        sa.Column("field_id", sa.String(length=255), nullable=True),
        sa.Column("from_id", sa.Text(), nullable=True),
        sa.Column("from_string", sa.Text(), nullable=True),
        sa.Column("to_id", sa.Text(), nullable=True),
        sa.Column("to_string", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["issue_pk"],
            ["issues.pk"],
            name=op.f("fk_change_items_issue_pk_issues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_change_items")),
        sa.UniqueConstraint("issue_pk", "history_id", "item_index", name="uq_change_items_item"),
    )
    op.create_index("ix_change_items_issue_pk", "change_items", ["issue_pk"], unique=False)
    connection = op.get_bind()
    sqlite = connection.dialect.name == "sqlite"
    for chunk in _issue_pks(connection):
        rows: list[dict[str, Any]] = []
        stored = connection.execute(
            sa.select(_issues.c.pk, _issues.c.changelog).where(_issues.c.pk.in_(chunk))
        )
        for pk, data in stored:
            index_in_history: dict[str, int] = {}
            for change in decode_changes(data):
                index = index_in_history.get(change.history_id, 0)
                index_in_history[change.history_id] = index + 1
                created = change.created.astimezone(UTC)
                rows.append(
                    {
                        "issue_pk": pk,
                        "history_id": change.history_id,
                        "item_index": index,
                        "created": created.replace(tzinfo=None) if sqlite else created,
                        "author_account": change.author_account,
                        "author_name": change.author_name,
                        "field": change.field,
                        "field_id": change.field_id,
                        "from_id": change.from_id,
                        "from_string": change.from_string,
                        "to_id": change.to_id,
                        "to_string": change.to_string,
                    }
                )
        if rows:
            connection.execute(_items.insert(), rows)
    op.drop_column("issues", "changelog")
