"""The ledger's canonical form 2: a post's state also hashes its poll and link preview, so earlier
states keep theirs (post_revisions.poll, web_page) and each entry says its form (form_version)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# JSON on SQLite, JSONB on PostgreSQL (as in tgvault.storage.tables).
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # Entries written so far were hashed in form 1: the default says so, and they are checked that way.
    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("form_version", sa.SmallInteger(), server_default="1", nullable=False))
    with op.batch_alter_table("post_revisions") as batch:
        batch.add_column(sa.Column("poll", JSON_DOCUMENT, nullable=True))
        batch.add_column(sa.Column("web_page", JSON_DOCUMENT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("post_revisions") as batch:
        batch.drop_column("web_page")
        batch.drop_column("poll")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("form_version")
