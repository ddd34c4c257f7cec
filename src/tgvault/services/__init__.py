"""tgvault.services."""
