"""initial schema: issues, change items, comments, statuses, sync state

Revision ID: 0001
Revises:
Create Date: 2026-11-26 22:20:46.593161
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "issues",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("jira_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("project_key", sa.String(length=64), nullable=False),
        sa.Column("issue_type", sa.String(length=128), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status_id", sa.String(length=32), nullable=False),
        sa.Column("status_name", sa.String(length=255), nullable=False),
        sa.Column("status_category", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=255), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("story_points", sa.Float(), nullable=True),
        sa.Column("original_estimate_seconds", sa.BigInteger(), nullable=True),
        sa.Column("reporter_account", sa.String(length=255), nullable=True),
        sa.Column("reporter_name", sa.String(length=255), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("histories_total", sa.Integer(), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_issues")),
        sa.UniqueConstraint("client_key", "jira_id", name="uq_issues_client_jira_id"),
    )
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.create_index("ix_issues_client_key_key", ["client_key", "key"], unique=False)

    op.create_table(
        "statuses",
        sa.Column("jira_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("jira_id", name=op.f("pk_statuses")),
    )
    op.create_table(
        "sync_runs",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("issues", sa.Integer(), nullable=False),
        sa.Column("histories", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_runs_client_key"), ["client_key"], unique=False)

    op.create_table(
        "sync_state",
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_reconcile", sa.DateTime(timezone=True), nullable=True),
        sa.Column("story_points_field", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("client_key", name=op.f("pk_sync_state")),
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
    with op.batch_alter_table("change_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_items_issue_pk"), ["issue_pk"], unique=False)

    op.create_table(
        "comments",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("issue_pk", sa.Integer(), nullable=False),
        sa.Column("jira_id", sa.String(length=32), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_account", sa.String(length=255), nullable=True),
        sa.Column("author_name", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["issue_pk"],
            ["issues.pk"],
            name=op.f("fk_comments_issue_pk_issues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_comments")),
        sa.UniqueConstraint("issue_pk", "jira_id", name="uq_comments_issue_comment"),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comments_issue_pk"), ["issue_pk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comments_issue_pk"))

    op.drop_table("comments")
    with op.batch_alter_table("change_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_items_issue_pk"))

    op.drop_table("change_items")
    op.drop_table("sync_state")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_runs_client_key"))

    op.drop_table("sync_runs")
    op.drop_table("statuses")
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_index("ix_issues_client_key_key")

    op.drop_table("issues")
