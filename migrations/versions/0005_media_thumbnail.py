"""Keep a thumbnail of a file the archive could not download (the web preview shows only that)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("media_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thumbnail_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("thumbnail_path", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("media_items", schema=None) as batch_op:
        batch_op.drop_column("thumbnail_path")
        batch_op.drop_column("thumbnail_sha256")
