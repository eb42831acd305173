"""worklogs: the site's logged time, its feed cursor; issues' timespent

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worklogs",
        sa.Column("jira_id", sa.String(length=32), nullable=False),
        sa.Column("issue_id", sa.String(length=32), nullable=False),
        sa.Column("author_account", sa.String(length=255), nullable=True),
        sa.Column("author_name", sa.String(length=255), nullable=True),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jira_id", name=op.f("pk_worklogs")),
    )
    op.create_index(op.f("ix_worklogs_issue_id"), "worklogs", ["issue_id"])
    op.create_table(
        "worklog_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("since_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_success", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worklog_state")),
    )
    # Plain ALTER TABLE (SQLite ≥ 3.35 too): batch mode would copy the issues table, and
    # dropping the old copy would cascade to its comments and facts.
    op.add_column("issues", sa.Column("time_spent_seconds", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("issues", "time_spent_seconds")
    op.drop_table("worklog_state")
    op.drop_index(op.f("ix_worklogs_issue_id"), table_name="worklogs")
    op.drop_table("worklogs")
