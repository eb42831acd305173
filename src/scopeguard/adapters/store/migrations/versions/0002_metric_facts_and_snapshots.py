"""metric facts and client snapshots

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 22:27:52.881992
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_snapshots",
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("config_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("series_until", sa.String(length=10), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("series", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("client_key", name=op.f("pk_client_snapshots")),
    )
    op.create_table(
        "issue_facts",
        sa.Column("issue_pk", sa.Integer(), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_pk"],
            ["issues.pk"],
            name=op.f("fk_issue_facts_issue_pk_issues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("issue_pk", name=op.f("pk_issue_facts")),
    )
    with op.batch_alter_table("issue_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issue_facts_client_key"), ["client_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("issue_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issue_facts_client_key"))

    op.drop_table("issue_facts")
    op.drop_table("client_snapshots")
