"""Discussion comments: comment authors (users), comment threads of channel posts, comments tied to posts,
the archive's own keys (the pseudonyms' key)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 03:45:00.000000
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
        "users",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "archive_keys",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_archive_keys")),
    )
    op.create_table(
        "discussion_threads",
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("post_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("replies", sa.BigInteger(), nullable=False),
        sa.Column("max_id", sa.BigInteger(), nullable=False),
        sa.Column("fetched_max_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id", "post_id"],
            ["posts.channel_id", "posts.message_id"],
            name=op.f("fk_discussion_threads_channel_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", "post_id", name=op.f("pk_discussion_threads")),
    )
    op.create_table(
        "comments",
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("post_id", sa.BigInteger(), nullable=False),
        sa.Column("reply_to_comment_id", sa.BigInteger(), nullable=True),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id", "message_id"],
            ["posts.channel_id", "posts.message_id"],
            name=op.f("fk_comments_group_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "message_id", name=op.f("pk_comments")),
    )
    op.create_index(
        "ix_comments_channel_post", "comments", ["channel_id", "post_id", "message_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_comments_channel_post", table_name="comments")
    op.drop_table("comments")
    op.drop_table("discussion_threads")
    op.drop_table("archive_keys")
    op.drop_table("users")
