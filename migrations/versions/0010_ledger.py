"""The verifiable archive's ledger: hash-chained entries per channel, their heads and RFC 3161 tokens;
entries backfilled for what is already archived

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 03:45:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("channel_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.Column("media_sha256", sa.String(length=64), nullable=True),
        sa.Column("prev_sha256", sa.String(length=64), nullable=False),
        sa.Column("entry_sha256", sa.String(length=64), nullable=False),
        sa.Column("backfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("channel_id", "seq", name=op.f("pk_ledger_entries")),
    )
    op.create_index(
        "ix_ledger_entries_channel_message",
        "ledger_entries",
        ["channel_id", "message_id", "seq"],
        unique=False,
    )
    op.create_table(
        "ledger_heads",
        sa.Column("channel_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_sha256", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_ledger_heads")),
    )
    op.create_table(
        "ledger_timestamps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_sha256", sa.String(length=64), nullable=False),
        sa.Column("tsa_url", sa.Text(), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("tsa_certificate", sa.LargeBinary(), nullable=True),
        sa.Column("stamped_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_timestamps")),
    )
    op.create_index(
        "ix_ledger_timestamps_channel_seq", "ledger_timestamps", ["channel_id", "seq"], unique=False
    )
    # What is archived already gets its entries now, marked as backfilled (canonical form version 1).
    from tgvault.storage.ledger_backfill import backfill_ledger

    session = Session(bind=op.get_bind())
    try:
        backfill_ledger(session, datetime.now(UTC))
        session.flush()
    finally:
        session.close()


def downgrade() -> None:
    op.drop_index("ix_ledger_timestamps_channel_seq", table_name="ledger_timestamps")
    op.drop_table("ledger_timestamps")
    op.drop_table("ledger_heads")
    op.drop_index("ix_ledger_entries_channel_message", table_name="ledger_entries")
    op.drop_table("ledger_entries")
