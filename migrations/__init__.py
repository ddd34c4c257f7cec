"""Alembic migrations of the tgvault archive (shipped as tgvault.migrations)."""
