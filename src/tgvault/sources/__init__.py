"""tgvault.sources."""
