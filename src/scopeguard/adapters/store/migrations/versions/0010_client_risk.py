"""client risk: comment text, edits and visibility; issue priority, due date, assignee,
creator; the people directory; each client's assessed risk

The client-risk signals read what a comment says and who may see it, who
raised a priority or moved a due date, and who is the agency. Existing rows
get NULL (and ``internal`` false): the next full sync fills them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("body", sa.Text(), nullable=True))
        batch.add_column(sa.Column("updated", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("update_author_account", sa.String(length=255), nullable=True))
        batch.add_column(
            sa.Column("internal", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("issues") as batch:
        batch.add_column(sa.Column("priority", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("due_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("assignee_account", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("creator_account", sa.String(length=255), nullable=True))
    op.create_table(
        "jira_directory",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "name", "account", name=op.f("pk_jira_directory")),
    )
    op.create_table(
        "client_risk",
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("client_key", name=op.f("pk_client_risk")),
    )


def downgrade() -> None:
    op.drop_table("client_risk")
    op.drop_table("jira_directory")
    with op.batch_alter_table("issues") as batch:
        for column in ("creator_account", "assignee_account", "due_date", "priority"):
            batch.drop_column(column)
    with op.batch_alter_table("comments") as batch:
        for column in ("internal", "update_author_account", "updated", "body"):
            batch.drop_column(column)
