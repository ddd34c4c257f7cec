"""Indexes for the site's change feed: posts and media rows by channel and updated_at

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 12:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_posts_channel_updated", "posts", ["channel_id", "updated_at"], unique=False)
    op.create_index(
        "ix_media_items_channel_updated", "media_items", ["channel_id", "updated_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_media_items_channel_updated", table_name="media_items")
    op.drop_index("ix_posts_channel_updated", table_name="posts")
