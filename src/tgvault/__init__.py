"""tgvault: a faithful archive of Telegram channels, published as a static site."""

__version__ = "0.1.0"
