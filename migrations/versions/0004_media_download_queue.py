"""The media download queue: files still to fetch, their attempts and next attempt time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 23:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_downloads",
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id", "message_id"],
            ["media_items.channel_id", "media_items.message_id"],
            name=op.f("fk_media_downloads_channel_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", "message_id", name=op.f("pk_media_downloads")),
    )
    op.create_index(
        "ix_media_downloads_channel_due",
        "media_downloads",
        ["channel_id", "next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_media_downloads_channel_due", table_name="media_downloads")
    op.drop_table("media_downloads")
