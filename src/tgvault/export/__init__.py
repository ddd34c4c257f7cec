"""tgvault.export."""
