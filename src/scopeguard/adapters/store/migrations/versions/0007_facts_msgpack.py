"""cached metric facts stored as MessagePack

Revision ID: 0007
Revises: 0006

The facts are a cache: every row is recomputed from the stored issues when its
fingerprint (which includes the facts' schema version, now 3) no longer
matches. So the table is emptied and its JSON column replaced; the next
refresh of each client fills it again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM issue_facts")
    with op.batch_alter_table("issue_facts") as batch:
        batch.drop_column("facts")
        batch.add_column(sa.Column("packed", sa.LargeBinary(), nullable=False))


def downgrade() -> None:
    op.execute("DELETE FROM issue_facts")
    with op.batch_alter_table("issue_facts") as batch:
        batch.drop_column("packed")
        batch.add_column(sa.Column("facts", sa.JSON(), nullable=False))
