"""tgvault.storage."""
