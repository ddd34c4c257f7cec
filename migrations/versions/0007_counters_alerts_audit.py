"""Counters over time, channel alerts (mass deletions) and audit progress

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 23:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# JSON on SQLite, JSONB on PostgreSQL (as in tgvault.storage.tables).
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "post_counters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=True),
        sa.Column("forwards", sa.BigInteger(), nullable=True),
        sa.Column("replies", sa.BigInteger(), nullable=True),
        sa.Column("reactions", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id", "message_id"],
            ["posts.channel_id", "posts.message_id"],
            name=op.f("fk_post_counters_channel_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_counters")),
    )
    op.create_index(
        "ix_post_counters_post_time",
        "post_counters",
        ["channel_id", "message_id", "observed_at"],
        unique=False,
    )
    op.create_table(
        "channel_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("channel_key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("run_kind", sa.String(length=16), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("vanished", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_alerts")),
    )
    op.create_index(
        "ix_channel_alerts_channel_raised", "channel_alerts", ["channel_id", "raised_at"], unique=False
    )
    op.create_table(
        "audit_state",
        sa.Column("channel_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("cursor_id", sa.BigInteger(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_audit_state_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_audit_state")),
    )


def downgrade() -> None:
    op.drop_table("audit_state")
    op.drop_index("ix_channel_alerts_channel_raised", table_name="channel_alerts")
    op.drop_table("channel_alerts")
    op.drop_index("ix_post_counters_post_time", table_name="post_counters")
    op.drop_table("post_counters")
