"""The command line: help for every command, clean errors and exit codes, an empty archive on first run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tgvault.cli import main


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        found.append(path)
        if isinstance(command, click.Group):
            found.extend(all_commands(command, path))
    return found


COMMANDS = all_commands(main)


def test_the_top_level_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert 0 == result.exit_code
    for name in ("db", "login", "backfill", "sync", "run", "export", "import", "status"):
        assert f"  {name} " in result.output


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert 0 == result.exit_code, result.output
    assert "Example" in result.output
    assert f"tgvault {' '.join(command)}" in result.output


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    env.update(extra)
    return env


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tgvault", *args],
        cwd=tmp_path,
        env=environment(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_first_run_creates_an_empty_archive_in_data(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "run", "--once")
    assert 0 == result.returncode, result.stderr
    assert (tmp_path / "data" / "tgvault.db").is_file()
    assert (tmp_path / "data" / "media").is_dir()
    assert "no channels configured" in result.stdout
    status = run_cli(tmp_path, "status")
    assert 0 == status.returncode
    assert "The archive is empty" in status.stdout


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ("[databse]\nurl = 'sqlite:///x.db'\n", "databse"),
        ("[[channels]]\nname = '@a'\nschedule = '5 minutes'\n", "channels[0].schedule"),
        ("[telegram]\napi_hash = 'abc123abc123'\n", "TGVAULT_TELEGRAM__API_HASH"),
        ("[site]\ntimezone = 'Mars/Olympus'\n", "site.timezone"),
        ("[database\n", "line 1"),
    ],
)
def test_a_malformed_config_exits_2_naming_the_field_without_a_traceback(
    tmp_path: Path, toml: str, fragment: str
) -> None:
    (tmp_path / "tgvault.toml").write_text(toml)
    result = run_cli(tmp_path, "status")
    assert 2 == result.returncode
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_explicit_config_file_exits_2(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--config", "nope.toml", "status")
    assert 2 == result.returncode
    assert "nope.toml" in result.stderr


def test_backfill_without_credentials_says_what_to_set(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "backfill", "@somechannel")
    assert 2 == result.returncode
    assert "TGVAULT_TELEGRAM__API_ID" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_site_builds_then_rewrites_nothing_when_nothing_changed(tmp_path: Path) -> None:
    source = next(FIXTURES.glob("*2026*.json"))
    assert 0 == run_cli(tmp_path, "import", "tdesktop", str(source)).returncode
    first = run_cli(tmp_path, "export", "site", "--out", "public")
    assert 0 == first.returncode, first.stderr
    assert (tmp_path / "public" / "index.html").is_file()
    assert list((tmp_path / "public" / "c").glob("*/posts/*.html"))
    second = run_cli(tmp_path, "export", "site", "--out", "public")
    assert 0 == second.returncode, second.stderr
    assert " 0 pages written" in second.stdout


def test_python_dash_m_works(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--version")
    assert 0 == result.returncode
    assert "tgvault, version" in result.stdout


FIXTURES = Path(__file__).parent / "fixtures" / "tdesktop"


def test_import_a_desktop_export_then_export_it_again(tmp_path: Path) -> None:
    source = next(FIXTURES.glob("*2026*.json"))
    original = json.loads(source.read_text())
    imported = run_cli(tmp_path, "import", "tdesktop", str(source))
    assert 0 == imported.returncode, imported.stderr
    assert f"{len(original['messages'])} messages read" in imported.stdout
    again = run_cli(tmp_path, "import", "tdesktop", str(source))
    assert " 0 new" in again.stdout
    exported = run_cli(tmp_path, "export", "json", str(original["id"]), "--out", "out.json")
    assert 0 == exported.returncode, exported.stderr
    document = json.loads((tmp_path / "out.json").read_text())
    assert [m["id"] for m in original["messages"]] == [m["id"] for m in document["messages"]]
    # The fixture has no media files beside it, so only the words are compared here (file paths
    # come back as Desktop's "not included" placeholder); tests/test_tdesktop_import.py checks files.
    assert [words(m) for m in original["messages"]] == [words(m) for m in document["messages"]]


def words(message: dict[str, object]) -> list[tuple[object, object]]:
    entities = message.get("text_entities", [])
    assert isinstance(entities, list)
    return [(entity["type"], entity["text"]) for entity in entities]


def test_an_old_export_without_timezone_asks_for_one(tmp_path: Path) -> None:
    """A missing --timezone where it is needed is a usage mistake: exit 2, like any missing option."""
    source = next(FIXTURES.glob("*2021*.json"))
    result = run_cli(tmp_path, "import", "tdesktop", str(source))
    assert 2 == result.returncode
    assert "--timezone" in result.stderr
    assert "Traceback" not in result.stderr
    fixed = run_cli(tmp_path, "import", "tdesktop", str(source), "--timezone", "Europe/Berlin")
    assert 0 == fixed.returncode, fixed.stderr
    assert "local times read as Europe/Berlin" in fixed.stdout
