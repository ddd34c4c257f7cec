"""Configuration: defaults, discovery, environment overrides, secrets, one clear message per mistake."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger

from tgvault.config import (
    ChannelSource,
    CronSchedule,
    IntervalSchedule,
    Settings,
    SiteMediaMode,
    load_settings,
    parse_channel_ref,
    parse_schedule,
    parse_size,
)
from tgvault.domain import MediaKind
from tgvault.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "tgvault.example.toml"
API_HASH = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs in an empty directory, holding one secret file that others may read."""
    monkeypatch.chdir(tmp_path)
    loose = tmp_path / "loose_secret"
    loose.write_text(API_HASH + "\n")
    loose.chmod(0o644)
    return tmp_path


def load_text(text: str, env: dict[str, str] | None = None, name: str = "tgvault.toml") -> Settings:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env={} if env is None else env)


def test_defaults_are_valid_without_any_file(workdir: Path) -> None:
    """No config file and no environment: every default is valid, relative paths are made absolute."""
    settings = load_settings(env={})

    assert settings.source_file is None
    assert f"sqlite:///{workdir}/data/tgvault.db" == settings.database.url
    assert workdir / "data" / "tgvault.db" == settings.database.sqlite_path
    assert workdir / "data" / "media" == settings.media.dir
    assert 3 == settings.media.concurrency
    assert settings.telegram.api_id is None
    assert settings.telegram.api_hash is None
    assert workdir / "data" / "tgvault.session" == settings.telegram.session_file
    assert 1.0 == settings.telegram.request_delay
    assert 60 == settings.telegram.flood_sleep_threshold
    assert (200, 7) == (settings.sync.refresh_posts, settings.sync.refresh_days)
    assert workdir / "data" / "site" == settings.site.dir
    assert "tgvault archive" == settings.site.title
    assert settings.site.base_url is None
    assert "UTC" == settings.site.timezone
    assert settings.site.templates is None
    assert SiteMediaMode.HARDLINK == settings.site.media
    assert () == settings.channels
    assert [] == settings.secret_values()


def test_example_file_loads() -> None:
    """The shipped, commented example is a valid configuration; its one active channel is read through
    the web preview, so it works without an account."""
    settings = load_settings(EXAMPLE, env={})

    assert EXAMPLE == settings.source_file
    assert ["@telegram"] == [channel.name for channel in settings.channels]
    (first,) = settings.channels
    assert ChannelSource.WEB == first.source
    assert CronSchedule("0 */6 * * *") == first.schedule
    assert date(2025, 1, 1) == first.since
    assert (MediaKind.PHOTO, MediaKind.VIDEO, MediaKind.ANIMATION) == first.media_kinds
    assert 20_000_000 == first.media_max_size
    assert (IntervalSchedule(7 * 86400), False) == (first.audit_schedule, first.live)
    assert (0.5, 1.0, None) == (
        settings.sync.mass_deletion_share,
        settings.sync.audit_pause,
        first.mass_deletion_share,
    )


def test_the_examples_commented_account_channel_is_valid_once_uncommented(workdir: Path) -> None:
    """The commented-out Telegram-source channel of the example is what a user gets by uncommenting it."""
    text = EXAMPLE.read_text()
    start = text.index("# [[channels]]")
    uncommented = text[:start] + "\n".join(line.removeprefix("# ") for line in text[start:].splitlines())
    settings = load_text(uncommented)
    assert ["@telegram", "@durov"] == [channel.name for channel in settings.channels]
    second = settings.channels[1]
    assert ChannelSource.TELEGRAM == second.source
    assert IntervalSchedule(1800) == second.schedule
    assert tuple(MediaKind) == second.media_kinds
    assert 50_000_000 == second.media_max_size
    assert (IntervalSchedule(86400), True) == (second.audit_schedule, second.live)


def test_live_needs_telegram_and_the_share_must_be_a_fraction() -> None:
    with pytest.raises(ConfigError, match="live = true follows Telegram"):
        load_text('[[channels]]\nname = "@durov"\nsource = "web"\nlive = true\n')
    with pytest.raises(ConfigError, match="mass_deletion_share"):
        load_text('[[channels]]\nname = "@durov"\nmass_deletion_share = 1.5\n')


def test_environment_overrides_nested_values() -> None:
    """TGVAULT_<SECTION>__<FIELD> beats the file; values only in the file are kept."""
    settings = load_text(
        '[database]\nurl = "sqlite:///file.db"\n[telegram]\napi_id = 1\nrequest_delay = 2.5\n'
        '[site]\ntitle = "From the file"\n',
        env={
            "TGVAULT_DATABASE__URL": "postgresql+psycopg://tgvault@db/tgvault",
            "TGVAULT_TELEGRAM__API_ID": "7",
            "TGVAULT_TELEGRAM__API_HASH": API_HASH,
            "TGVAULT_TELEGRAM__SESSION_STRING": "1AbCdEfGhIjKlMnOp",
            "TGVAULT_SITE__TIMEZONE": "Europe/Berlin",
            "TGVAULT_MEDIA__CONCURRENCY": "5",
            "TGVAULT_TEST_POSTGRES_URL": "not ours, ignored",
        },
    )

    assert "postgresql+psycopg://tgvault@db/tgvault" == settings.database.url
    assert 7 == settings.telegram.api_id
    assert 2.5 == settings.telegram.request_delay
    assert (7, API_HASH) == settings.telegram.api_credentials()
    assert settings.telegram.session_string is not None
    assert "1AbCdEfGhIjKlMnOp" == settings.telegram.session_string.get_secret_value()
    assert "Europe/Berlin" == settings.site.timezone
    assert "From the file" == settings.site.title
    assert 5 == settings.media.concurrency


def test_channels_from_environment_json_replace_the_file_list() -> None:
    """TGVAULT_CHANNELS holds the whole list as JSON."""
    settings = load_text(
        '[[channels]]\nname = "@filechannel"\n',
        env={"TGVAULT_CHANNELS": '[{"name": "t.me/EnvChannel", "schedule": "10m"}]'},
    )

    assert ["@EnvChannel"] == [channel.name for channel in settings.channels]
    assert IntervalSchedule(600) == settings.channels[0].schedule


def test_discovery_order(workdir: Path) -> None:
    """Explicit path, then TGVAULT_CONFIG, then ./tgvault.toml, then ./config/tgvault.toml."""
    (workdir / "config").mkdir()
    (workdir / "config" / "tgvault.toml").write_text('[site]\ntitle = "config dir"\n')
    assert "config dir" == load_settings(env={}).site.title

    (workdir / "tgvault.toml").write_text('[site]\ntitle = "cwd"\n')
    assert "cwd" == load_settings(env={}).site.title

    (workdir / "named.toml").write_text('[site]\ntitle = "named"\n')
    assert "named" == load_settings(env={"TGVAULT_CONFIG": "named.toml"}).site.title

    (workdir / "explicit.toml").write_text('[site]\ntitle = "explicit"\n')
    explicit = load_settings(Path("explicit.toml"), env={"TGVAULT_CONFIG": "named.toml"})
    assert "explicit" == explicit.site.title
    assert Path("explicit.toml") == explicit.source_file


def test_missing_explicit_config_file_is_an_error() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(Path("nowhere.toml"), env={})
    assert "nowhere.toml: the config file does not exist" == str(raised.value)


def test_missing_config_file_named_by_environment_is_an_error() -> None:
    with pytest.raises(ConfigError, match="named by TGVAULT_CONFIG does not exist"):
        load_settings(env={"TGVAULT_CONFIG": "nowhere.toml"})


def test_secret_from_a_0600_file(workdir: Path) -> None:
    """api_hash_file / session_string_file are read (and stripped) when only the owner can read them."""
    (workdir / "hash").write_text(API_HASH + "\n")
    (workdir / "hash").chmod(0o600)
    (workdir / "session").write_text("1SessionStringValue\n")
    (workdir / "session").chmod(0o400)

    settings = load_text('[telegram]\napi_id = 42\napi_hash_file = "hash"\nsession_string_file = "session"\n')

    assert (42, API_HASH) == settings.telegram.api_credentials()
    assert workdir / "hash" == settings.telegram.api_hash_file
    assert [API_HASH, "1SessionStringValue"] == settings.secret_values()
    assert API_HASH not in repr(settings)


def test_environment_secret_wins_over_secret_file(workdir: Path) -> None:
    (workdir / "hash").write_text("from-the-file-000000")
    (workdir / "hash").chmod(0o600)

    settings = load_text('[telegram]\napi_hash_file = "hash"\n', env={"TGVAULT_TELEGRAM__API_HASH": API_HASH})

    assert settings.telegram.api_hash is not None
    assert API_HASH == settings.telegram.api_hash.get_secret_value()


def test_missing_api_credentials_say_how_to_set_them() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env={}).telegram.api_credentials()
    assert "TGVAULT_TELEGRAM__API_ID" in str(raised.value)
    assert "TGVAULT_TELEGRAM__API_HASH" in str(raised.value)


MALFORMED = [
    pytest.param(
        '[databse]\nurl = "sqlite:///x.db"\n',
        "tgvault.toml: databse: unknown section [databse]; did you mean [database]?",
        id="unknown-section",
    ),
    pytest.param(
        '[[chanels]]\nname = "@durov"\n',
        "tgvault.toml: chanels: unknown key; did you mean 'channels'?",
        id="unknown-top-level-key",
    ),
    pytest.param(
        '[[channels]]\nname = "@durov"\nshedule = "1h"\n',
        "tgvault.toml: channels[0].shedule: unknown key; did you mean 'schedule'?",
        id="unknown-channel-key",
    ),
    pytest.param(
        '[media]\ndirectory = "m"\n',
        "tgvault.toml: media.directory: unknown key; expected one of: dir, concurrency, store, "
        "endpoint_url, region, max_attempts, retry_delay_seconds, failed_retry_hours",
        id="unknown-section-key",
    ),
    pytest.param(
        '[[channels]]\nname = "@durov"\n[[channels]]\nname = "@telegram"\nschedule = "5 minutes"\n',
        "tgvault.toml: channels[1].schedule: '5 minutes' is not a schedule; expected an interval like "
        "30s, 10m, 6h, 1d or a cron expression like '*/15 * * * *'",
        id="bad-schedule",
    ),
    pytest.param(
        '[[channels]]\nname = "@durov"\nschedule = "61 * * * *"\n',
        "channels[0].schedule: '61 * * * *' is not a valid cron expression: minute field:",
        id="bad-cron-value",
    ),
    pytest.param(
        '[[channels]]\nname = "@durov"\nschedule = "*/5 * * *"\n',
        "a cron expression has 5 fields (minute hour day-of-month month day-of-week), this has 4",
        id="bad-cron-field-count",
    ),
    pytest.param(
        '[[channels]]\nname = "@durov"\nschedule = "0 9 1 * mon"\n',
        "restricts both day of month and day of week",
        id="ambiguous-cron",
    ),
    pytest.param(
        '[[channels]]\nname = "@durov"\nschedule = "10w"\n',
        "channels[0].schedule: '10w' is not a schedule: unknown unit 'w' (use s, m, h or d)",
        id="bad-interval-unit",
    ),
    pytest.param(
        '[[channels]]\nname = "@durov"\nschedule = "0m"\n',
        "the interval must be longer than 0",
        id="zero-interval",
    ),
    pytest.param(
        '[site]\ntimezone = "Europe/Berln"\n',
        "tgvault.toml: site.timezone: 'Europe/Berln' is not a known timezone; expected an IANA name like "
        "'UTC', 'Europe/Berlin' or 'America/New_York'; did you mean 'Europe/Berlin'?",
        id="bad-timezone",
    ),
    pytest.param(
        "[site]\nworkers = 0\n",
        "tgvault.toml: site.workers: 0 is out of range; expected a number >= 1",
        id="zero-site-workers",
    ),
    pytest.param(
        '[site]\npost_pages = "sometimes"\n',
        "tgvault.toml: site.post_pages: ",
        id="post-pages-not-a-boolean",
    ),
    pytest.param(
        "[telegram]\nrequest_delay = -0.5\n",
        "tgvault.toml: telegram.request_delay: -0.5 is out of range; expected a number >= 0",
        id="negative-request-delay",
    ),
    pytest.param(
        '[telegram]\napi_id = "my-app"\n',
        "tgvault.toml: telegram.api_id: 'my-app' is not an integer; expected a whole number",
        id="api-id-not-int",
    ),
    pytest.param(
        f'[telegram]\napi_id = 1\napi_hash = "{API_HASH}"\n',
        "tgvault.toml: telegram.api_hash: secrets may not be written in the config file; set the "
        "TGVAULT_TELEGRAM__API_HASH environment variable, or set telegram.api_hash_file to a file that "
        "only you can read (chmod 600)",
        id="api-hash-in-file",
    ),
    pytest.param(
        '[telegram]\nsession_string = "1BVtsOKABu..."\n',
        "telegram.session_string: secrets may not be written in the config file; set the "
        "TGVAULT_TELEGRAM__SESSION_STRING environment variable, or set telegram.session_string_file",
        id="session-string-in-file",
    ),
    pytest.param(
        '[telegram]\napi_hash_file = "loose_secret"\n',
        "loose_secret' has mode 0644, so other users can read it; it must be 0600 or stricter "
        "(run: chmod 600",
        id="secret-file-0644",
    ),
    pytest.param(
        '[telegram]\napi_hash_file = "no_such_secret"\n',
        "no_such_secret' does not exist; expected a file holding the secret",
        id="secret-file-missing",
    ),
    pytest.param(
        '[[channels]]\nname = "@durov"\nmedia_kinds = ["photo", "gif"]\n',
        "tgvault.toml: channels[0].media_kinds: 'gif' is not a media kind; expected any of photo, video, "
        "round_video, animation, voice, audio, document, sticker",
        id="unknown-media-kind",
    ),
    pytest.param(
        '[[channels]]\nname = "@durov"\nmedia_max_size = "50 megs"\n',
        "tgvault.toml: channels[0].media_max_size: '50 megs' is not a size; expected a number of bytes "
        'or a size like "50MB" or "1.5GiB"',
        id="bad-media-max-size",
    ),
    pytest.param(
        '[[channels]]\nname = "@durov"\nmedia_max_size = -1\n',
        "channels[0].media_max_size: -1 is not a size: it is negative",
        id="negative-media-max-size",
    ),
    pytest.param(
        '[site]\ntitle = "x"\n[[channels]\nname = "@durov"\n',
        "tgvault.toml: invalid TOML: Expected ']]' at the end of an array declaration (at line 3, column 11)",
        id="invalid-toml",
    ),
    pytest.param(
        '[site]\ntitle = "unterminated\n',
        "tgvault.toml: invalid TOML: Illegal character '\\n' (at line 2, column 22)",
        id="invalid-toml-line-column",
    ),
    pytest.param(
        '[[channels]]\nname = "@Durov"\n[[channels]]\nname = "https://t.me/durov"\n',
        "tgvault.toml: channels[1].name: '@durov' is the same channel as channels[0] ('@Durov'); "
        "list each channel once",
        id="duplicate-channel",
    ),
    pytest.param(
        '[site]\nbase_url = "ftp://archive.example.org"\n',
        "tgvault.toml: site.base_url: 'ftp://archive.example.org' is not an http(s) URL",
        id="bad-base-url-scheme",
    ),
    pytest.param(
        '[[channels]]\nname = "my channel"\n',
        "channels[0].name: 'my channel' is not a channel name (it contains a space); expected a @username",
        id="channel-name-with-space",
    ),
    pytest.param(
        '[[channels]]\nschedule = "1h"\n',
        "tgvault.toml: channels[0].name: is required but missing",
        id="channel-without-name",
    ),
    pytest.param(
        '[[channels]]\nname = "-1001234567890"\nsource = "web"\n',
        "source 'web' reads t.me/s/<username>, so '1234567890' needs a public @username",
        id="web-needs-username",
    ),
    pytest.param(
        '[[channels]]\nname = "@durov"\nsource = "rss"\n',
        "channels[0].source: 'rss' is not allowed; expected 'telegram', 'web' or 'auto'",
        id="unknown-source",
    ),
    pytest.param(
        "[media]\nconcurrency = 0\n",
        "media.concurrency: 0 is out of range; expected a number >= 1",
        id="zero-concurrency",
    ),
    pytest.param(
        '[database]\nurl = "data/tgvault.db"\n',
        "database.url: 'data/tgvault.db' is not a database URL; expected e.g. 'sqlite:///data/tgvault.db'",
        id="database-url-without-scheme",
    ),
    pytest.param(
        '[[channels]]\nname = "@durov"\nsince = "last year"\n',
        "channels[0].since: 'last year' is not a date; expected a date like 2024-01-31",
        id="bad-since",
    ),
]


@pytest.mark.parametrize(("toml", "expected"), MALFORMED)
def test_malformed_config_is_reported_clearly(toml: str, expected: str) -> None:
    """Each mistake gives a ConfigError naming the field, the bad value and what is expected."""
    with pytest.raises(ConfigError) as raised:
        load_text(toml)
    assert expected in str(raised.value)
    assert "Traceback" not in str(raised.value)


def test_every_problem_is_listed_once_per_line() -> None:
    with pytest.raises(ConfigError) as raised:
        load_text(
            '[telegram]\napi_hash = "x"\nrequest_delay = -1\n[site]\ntimezone = "Mars/Base"\n'
            '[[channels]]\nname = "@durov"\nschedule = "soon"\n'
        )
    lines = str(raised.value).splitlines()
    assert 4 == len(lines)
    assert all(line.startswith("tgvault.toml: ") for line in lines)
    fields = sorted(line.split(": ")[1] for line in lines)
    assert ["channels[0].schedule", "site.timezone", "telegram.api_hash", "telegram.request_delay"] == fields


def test_secret_values_never_appear_in_error_messages() -> None:
    with pytest.raises(ConfigError) as raised:
        load_text(f'[telegram]\napi_hash = "{API_HASH}"\n')
    assert API_HASH not in str(raised.value)

    with pytest.raises(ConfigError) as raised:
        load_text("", env={"TGVAULT_CHANNELS": f'[{{"name": "@durov", "api_hash": "{API_HASH}"}}]'})
    assert API_HASH not in str(raised.value)


def test_environment_errors_name_the_variable() -> None:
    with pytest.raises(ConfigError) as raised:
        load_text(
            "",
            env={
                "TGVAULT_TELEGRAM__API_ID": "abc",
                "TGVAULT_DATABSE__URL": "sqlite:///x.db",
                "TGVAULT_SITE__TIMEZON": "UTC",
                "TGVAULT_API_HASH": API_HASH,
                "TGVAULT_CHANNELS": '[{"name": "@durov", "schedule": "often"}]',
            },
        )
    message = str(raised.value)
    assert "TGVAULT_TELEGRAM__API_ID (telegram.api_id): 'abc' is not an integer" in message
    assert "TGVAULT_DATABSE__URL: unknown section 'databse'; did you mean TGVAULT_DATABASE__URL?" in message
    assert (
        "TGVAULT_SITE__TIMEZON: unknown key 'timezon' in [site]; did you mean TGVAULT_SITE__TIMEZONE?"
        in message
    )
    assert "TGVAULT_API_HASH: is not read by tgvault; did you mean TGVAULT_TELEGRAM__API_HASH?" in message
    assert "TGVAULT_CHANNELS (channels[0].schedule): 'often' is not a schedule" in message
    assert API_HASH not in message


def test_site_media_mode_from_file_and_environment() -> None:
    """[site] media picks copy, hardlink or symlink; the environment wins; site_options passes it on."""
    from tgvault.app import site_options
    from tgvault.export.site import MediaMode

    settings = load_text('[site]\nmedia = "copy"\n')
    assert SiteMediaMode.COPY == settings.site.media
    assert MediaMode.COPY == site_options(settings).media_mode
    settings = load_text('[site]\nmedia = "copy"\n', env={"TGVAULT_SITE__MEDIA": "symlink"})
    assert MediaMode.SYMLINK == site_options(settings).media_mode
    assert MediaMode.HARDLINK == site_options(load_text("")).media_mode


def test_bad_site_media_mode_is_reported_clearly() -> None:
    expected = "'move' is not allowed; expected 'hardlink', 'copy' or 'symlink'"
    with pytest.raises(ConfigError) as raised:
        load_text('[site]\nmedia = "move"\n')
    assert f"tgvault.toml: site.media: {expected}" == str(raised.value)
    with pytest.raises(ConfigError) as raised:
        load_text("", env={"TGVAULT_SITE__MEDIA": "move"})
    assert f"TGVAULT_SITE__MEDIA (site.media): {expected}" == str(raised.value)


def test_malformed_channels_json_in_environment() -> None:
    with pytest.raises(ConfigError, match=r"TGVAULT_CHANNELS \(channels\): is not valid JSON"):
        load_text("", env={"TGVAULT_CHANNELS": '[{"name": "@durov"'})


def test_relative_paths_resolve_against_the_working_directory(workdir: Path) -> None:
    (workdir / "tpl").mkdir()
    settings = load_text(
        '[database]\nurl = "sqlite:///db/archive.db?timeout=5"\n[media]\ndir = "m"\n'
        '[telegram]\nsession_file = "s/x.session"\n[site]\ndir = "out"\ntemplates = "tpl"\n',
        name="config/tgvault.toml",
    )

    assert f"sqlite:///{workdir}/db/archive.db?timeout=5" == settings.database.url
    assert workdir / "m" == settings.media.dir
    assert workdir / "s" / "x.session" == settings.telegram.session_file
    assert workdir / "out" == settings.site.dir
    assert workdir / "tpl" == settings.site.templates


def test_absolute_and_memory_sqlite_urls_are_kept() -> None:
    assert (
        "sqlite:////var/lib/tgvault.db"
        == Settings(database={"url": "sqlite:////var/lib/tgvault.db"}).database.url
    )
    assert "sqlite:///:memory:" == Settings(database={"url": "sqlite:///:memory:"}).database.url


def test_database_password_is_a_secret_value() -> None:
    settings = Settings(database={"url": "postgresql+psycopg://tgvault:s3cret-pw@db/tgvault"})
    assert ["s3cret-pw"] == settings.secret_values()


def test_channel_lookup_accepts_any_spelling() -> None:
    settings = load_text('[[channels]]\nname = "@Durov"\n[[channels]]\nname = "-1001234567890"\n')

    assert "@Durov" == settings.channel("durov").name
    assert "@Durov" == settings.channel("https://t.me/s/DUROV").name
    assert "durov" == settings.channel("@durov").key
    assert "1234567890" == settings.channel("1234567890").key
    assert "1234567890" == settings.channel("t.me/c/1234567890/55").key
    with pytest.raises(
        ConfigError, match=r"channel '@durvo' is not in the configuration .*did you mean '@Durov'"
    ):
        settings.channel("@durvo")


@pytest.mark.parametrize(
    ("text", "username", "channel_id"),
    [
        ("@durov", "durov", None),
        ("durov", "durov", None),
        (" @Durov ", "Durov", None),
        ("https://t.me/durov", "durov", None),
        ("t.me/s/durov", "durov", None),
        ("https://telegram.me/durov/123", "durov", None),
        ("https://t.me/c/1234567890/5", None, 1234567890),
        ("-1001234567890", None, 1234567890),
        ("1234567890", None, 1234567890),
    ],
)
def test_channel_names_are_normalised(text: str, username: str | None, channel_id: int | None) -> None:
    ref = parse_channel_ref(text)
    assert (username, channel_id) == (ref.username, ref.channel_id)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "it is empty"),
        ("@my channel", "it contains a space"),
        ("@ab", "a username has 4-32 letters"),
        ("@1abc", "starts with a letter"),
        ("https://t.me/+AbCdEf", "invite links are not supported"),
        ("-12345", "basic groups"),
        ("0", "a channel id is a positive number"),
    ],
)
def test_bad_channel_names_are_rejected(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match="is not a channel name") as raised:
        parse_channel_ref(text)
    assert fragment in str(raised.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", IntervalSchedule(30)),
        ("10m", IntervalSchedule(600)),
        ("6h", IntervalSchedule(21600)),
        ("1d", IntervalSchedule(86400)),
        ("1h30m", IntervalSchedule(5400)),
        (" 2H ", IntervalSchedule(7200)),
        ("*/15 * * * *", CronSchedule("*/15 * * * *")),
        ("0  9 * *  mon-fri", CronSchedule("0 9 * * mon-fri")),
    ],
)
def test_schedules_parse(text: str, expected: IntervalSchedule | CronSchedule) -> None:
    assert expected == parse_schedule(text)


def test_interval_schedules_print_in_their_largest_unit() -> None:
    assert ["45s", "90m", "1h", "2d"] == [str(IntervalSchedule(s)) for s in (45, 5400, 3600, 172800)]


@pytest.mark.parametrize(
    ("expr", "weekday"),
    [
        ("0 9 * * 1", "Mon"),
        ("0 9 * * 0", "Sun"),
        ("0 9 * * 7", "Sun"),
        ("0 9 * * 5", "Fri"),
        ("0 9 * * sat", "Sat"),
    ],
)
def test_cron_weekdays_follow_crontab_not_apscheduler_numbering(expr: str, weekday: str) -> None:
    """APScheduler 3 numbers weekdays from Monday = 0; trigger_fields keeps crontab's Sunday = 0."""
    schedule = parse_schedule(expr)
    assert isinstance(schedule, CronSchedule)
    trigger = CronTrigger(**schedule.trigger_fields(), timezone="UTC")
    fire = trigger.get_next_fire_time(None, datetime(2025, 1, 1, tzinfo=UTC))
    assert weekday == fire.strftime("%a")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), (1234, 1234), ("50MB", 50_000_000), ("1.5GiB", 1_610_612_736), ("10 kib", 10_240), ("7", 7)],
)
def test_sizes_parse(value: int | str, expected: int) -> None:
    assert expected == parse_size(value)


@pytest.mark.parametrize("value", ["1.5B", "-1", "50 megs", "MB", True, -3, 2.5])
def test_bad_sizes_are_rejected(value: object) -> None:
    with pytest.raises(ValueError, match="is not a size"):
        parse_size(value)


def test_media_kinds_are_deduplicated_and_empty_means_none() -> None:
    settings = load_text(
        '[[channels]]\nname = "@durov"\nmedia_kinds = ["Photo", "photo", "video"]\n'
        '[[channels]]\nname = "@telegram"\nmedia_kinds = []\n'
    )
    assert (MediaKind.PHOTO, MediaKind.VIDEO) == settings.channels[0].media_kinds
    assert settings.channels[0].downloads_media
    assert not settings.channels[1].downloads_media


def test_settings_serialise_to_plain_values() -> None:
    """model_dump(mode='json') is plain data (for `config show`), with secrets masked."""
    settings = load_text(
        '[[channels]]\nname = "@durov"\nschedule = "0 */6 * * *"\n',
        env={"TGVAULT_TELEGRAM__API_HASH": API_HASH},
    )
    dumped = settings.model_dump(mode="json")

    assert "0 */6 * * *" == dumped["channels"][0]["schedule"]
    assert "photo" == dumped["channels"][0]["media_kinds"][0]
    assert API_HASH not in str(dumped)


def test_comment_settings_become_the_channels_plan() -> None:
    from pydantic import ValidationError

    from tgvault.app import plan_for
    from tgvault.domain import MediaKind
    from tgvault.services.plans import NO_MEDIA

    settings = Settings(
        channels=[
            {"name": "@talk"},
            {"name": "@quiet", "comments": False},
            {
                "name": "@private",
                "comments_authors": "pseudonymous",
                "comments_media": {"kinds": ["photo", "video"], "max_size": "2MB"},
            },
        ]
    )
    talk = plan_for(settings, "@talk").comments
    assert talk is not None and not talk.pseudonymous
    assert (frozenset({MediaKind.PHOTO}), 10_000_000) == (talk.media.kinds, talk.media.max_size)
    assert plan_for(settings, "@quiet").comments is None
    private = plan_for(settings, "@private").comments
    assert private is not None and private.pseudonymous
    assert (frozenset({MediaKind.PHOTO, MediaKind.VIDEO}), 2_000_000) == (
        private.media.kinds,
        private.media.max_size,
    )
    no_media = plan_for(settings, "@talk", media=False).comments
    assert no_media is not None and NO_MEDIA == no_media.media
    with pytest.raises(ValidationError, match="comments_authors"):
        Settings(channels=[{"name": "@x", "comments_authors": "anonymous"}])
