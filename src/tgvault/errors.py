"""Typed exceptions raised by tgvault's library code. Only the CLI turns them into exit codes."""


class TgvaultError(Exception):
    """Base class of every error tgvault raises on purpose."""


_SHOWN = 300


def shortened(problem: str) -> str:
    """A problem as shown in one line: a value quoted from a crafted input (an id of 5,000 digits, a
    megabyte of text) is cut, so the line stays readable."""
    if len(problem) <= _SHOWN:
        return problem
    return f"{problem[: _SHOWN - 60]}... ({len(problem):,} characters)"


class ConfigError(TgvaultError):
    """The configuration is malformed; the message names the field, the value and the fix."""


class StorageError(TgvaultError):
    """The archive database or media folder cannot be used as asked."""


class ResourceFaultError(StorageError):
    """The disk is full, the media folder is read-only, or the database cannot be used: the run stops."""


class IncompleteDownloadError(StorageError):
    """A downloaded file did not match what Telegram announced (size) or changed on disk (sha256)."""


class MediaUploadError(StorageError):
    """The media store could not take a complete file (a remote upload failed or arrived damaged);
    nothing is recorded and the file is tried again later."""


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
        super().__init__(
            f"Telegram asked to wait {seconds} s (flood limit); the channel will be retried later"
        )
        self.seconds = seconds


class MediaUnavailableError(SourceError):
    """A post's file cannot be downloaded (the post is gone, or Telegram refuses it)."""


class SourceConnectionError(SourceError):
    """A source cannot be reached, or its server closed the connection (network, firewall, proxy, outage);
    the channel is tried again at its next run."""


class AccountError(SourceError):
    """The account a source reads with cannot be used: logged out (from another device, or never logged
    in), revoked, expired, used twice at once, banned, frozen or deactivated.

    Every channel read through that account fails alike until a person fixes it (``tgvault login``), so
    callers stop all of them at once and say so once. ``cause`` is the source's own code for it (e.g.
    ``SESSION_REVOKED``); the message names the cause and the fix.
    """

    def __init__(self, message: str, *, cause: str = "NOT_LOGGED_IN") -> None:
        super().__init__(message)
        self.cause = cause


class NotLoggedInError(AccountError):
    """No usable Telegram session: run `tgvault login` or set TGVAULT_TELEGRAM__SESSION_STRING."""


class ChannelBusyError(TgvaultError):
    """Another process is syncing this channel right now."""


class ImportFormatError(SourceError):
    """An export to import is malformed, truncated or of a kind not supported; the message names the place.

    ``location`` says where: the file, and when known the message index, id and field.
    """

    def __init__(self, problem: str, *, location: str | None = None) -> None:
        problem = shortened(problem)
        super().__init__(f"{location}: {problem}" if location else problem)
        self.problem = problem
        self.location = location


class UsageError(TgvaultError):
    """A command was called without something it needs (an option, a clearer name); exit code 2."""


class TimezoneRequiredError(SourceError, UsageError):
    """An export gives local times without a UTC offset, and no time zone was given to read them in."""


class ChannelChoiceError(SourceError, UsageError):
    """An export does not say which channel it is (an HTML export), and ``--channel`` must say it."""


class ServiceBusyError(TgvaultError):
    """Another ``tgvault run`` already serves this archive; ``pid`` and ``host`` say which process."""

    def __init__(self, message: str, *, pid: int, host: str) -> None:
        super().__init__(message)
        self.pid = pid
        self.host = host


class HealthCheckError(TgvaultError):
    """The service's health file is missing, unreadable, stale, or says the service stopped."""


class ChannelNotFoundError(ChannelUnavailableError):
    """No channel (or anything else) has this @username: Telegram's web preview does not know the name."""


class NoWebPreviewError(ChannelUnavailableError):
    """The name exists but Telegram shows no public web preview for it.

    A private channel, a group, a user or a bot, or a channel whose owner turned the preview off; the
    Telegram source (an account that is a member) can still archive a channel.
    """


class PageLayoutError(SourceError):
    """A page of Telegram's web preview lacks the structure tgvault reads (Telegram changed its layout).

    ``url`` is the page and ``problem`` what was missing; nothing from such a page is archived.
    """

    def __init__(self, url: str, problem: str) -> None:
        problem = shortened(problem)
        super().__init__(
            f"{url}: the page does not have the layout of Telegram's web preview ({problem}); "
            "nothing was read from it; tgvault may need an update"
        )
        self.url = url
        self.problem = problem


class MediaTooLargeError(MediaUnavailableError):
    """A file turned out larger than the channel's ``media_max_size`` while it was fetched: the download
    stopped there, nothing was kept, and the file is recorded as skipped (as one announced too large is)."""

    def __init__(self, limit: int, size: int | None = None) -> None:
        told = f"{size} bytes" if size is not None else "more bytes"
        super().__init__(f"the file is {told}, over the channel's media_max_size ({limit}); not downloaded")
        self.limit = limit
        self.size = size


class HostUnreachableError(SourceError):
    """A web host cannot be reached (its name does not resolve, the connection is refused, TLS fails).

    Requests to it are not tried again for ``retry_after`` seconds; files it serves stay queued.
    """

    def __init__(
        self,
        host: str,
        reason: str,
        retry_after: float,
        advice: str = "its files stay queued for a later run",
    ) -> None:
        super().__init__(f"cannot reach {host}: {reason}; {advice}")
        self.host = host
        self.reason = reason
        self.retry_after = retry_after


class RefusedURLError(SourceError):
    """A URL a page (or a redirect) pointed at is not fetched: not http(s), not a host tgvault fetches from
    (the web preview's own and Telegram's), or a name that resolves to a private, loopback, link-local or
    otherwise non-public address."""


class ArchiveMissingError(StorageError):
    """A command that only reads found no archive where ``[database] url`` points (it creates none)."""


class AmbiguousChannelError(UsageError):
    """A channel name given on the command line is the title of several archived channels.

    ``candidates`` are ``(id, username, title)`` of each, to be listed so the user can pick one by id.
    """

    def __init__(self, name: str, candidates: list[tuple[int, str | None, str]]) -> None:
        listed = "; ".join(
            f"{channel_id}" + (f" @{username}" if username else "") + f" {title!r}"
            for channel_id, username, title in candidates
        )
        super().__init__(
            f"{len(candidates)} archived channels are titled {name!r}: {listed}; name one by its id or @username"
        )
        self.name = name
        self.candidates = candidates
