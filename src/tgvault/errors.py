"""Typed exceptions raised by tgvault's library code. Only the CLI turns them into exit codes."""


class TgvaultError(Exception):
    """Base class of every error tgvault raises on purpose."""


class ConfigError(TgvaultError):
    """The configuration is malformed; the message names the field, the value and the fix."""


class StorageError(TgvaultError):
    """The archive database or media folder cannot be used as asked."""


class SchemaOutOfDateError(StorageError):
    """The archive's schema is older (or newer) than this version of tgvault expects."""


class SourceError(TgvaultError):
    """A source (Telegram, the web preview, an export) could not give what was asked."""


class ChannelUnavailableError(SourceError):
    """A channel is private, renamed, banned or does not exist; the reason says which."""

    def __init__(self, channel: str, reason: str) -> None:
        super().__init__(f"channel {channel}: {reason}")
        self.channel = channel
        self.reason = reason


class FloodWaitTooLongError(SourceError):
    """Telegram asked to wait longer than the configured threshold before the next request."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"Telegram asked to wait {seconds} s (flood limit); the channel will be retried later")
        self.seconds = seconds


class MediaUnavailableError(SourceError):
    """A post's file cannot be downloaded (the post is gone, or Telegram refuses it)."""


class NotLoggedInError(SourceError):
    """No usable Telegram session: run `tgvault login` or set TGVAULT_TELEGRAM__SESSION_STRING."""


class ChannelBusyError(TgvaultError):
    """Another process is syncing this channel right now."""


class ImportFormatError(SourceError):
    """An export to import is malformed, truncated or of a kind not supported; the message names the place.

    ``location`` says where: the file, and when known the message index, id and field.
    """

    def __init__(self, problem: str, *, location: str | None = None) -> None:
        super().__init__(f"{location}: {problem}" if location else problem)
        self.problem = problem
        self.location = location


class TimezoneRequiredError(SourceError):
    """An export gives local times without a UTC offset, and no time zone was given to read them in."""
