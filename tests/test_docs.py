"""The docs stay in step with the code: README commands, CI, CLI, compose file, example config."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tgvault.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def readme_commands() -> list[str]:
    block = re.search(r"## Two commands.*?```sh\n(.*?)```", README, re.S)
    assert block is not None, "README has a 'Two commands' section with a sh block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def readme_section(title: str) -> str:
    """The text of one ``## title`` section of the README (up to the next ``## `` heading)."""
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert found is not None, f"README has a {title!r} section"
    return found.group(1)


def test_the_readme_has_exactly_two_commands_demo_then_test() -> None:
    """The first command shows the product offline on the default install: the demo, which ends with a
    site to open (tests/test_demo.py runs it); the second runs the tests."""
    demo_command, test_command = readme_commands()
    assert demo_command.endswith("&& .venv/bin/tgvault demo")
    assert "pip install -q -c constraints.txt -e . &&" in demo_command, "the core install, no extras"
    assert "pytest" in test_command


def test_getting_started_shows_the_three_ways_in_then_the_site() -> None:
    """Account, web preview, Desktop export — in that order of fidelity — then the site to open."""
    section = readme_section("Getting started")
    steps = [
        "tgvault login",
        'source = "web"',
        "--source web",
        "tgvault import tdesktop",
        "tgvault export site",
        "data/site/index.html",
    ]
    positions = [section.find(step) for step in steps]
    assert -1 not in positions, dict(zip(steps, positions, strict=True))
    assert sorted(positions) == positions


def test_the_example_configs_default_channel_needs_no_account() -> None:
    """`cp config/tgvault.example.toml tgvault.toml && tgvault run --once` works without credentials."""
    from tgvault.app import source_kind_for
    from tgvault.config import ChannelSource, load_settings

    settings = load_settings(ROOT / "config" / "tgvault.example.toml", env={})
    assert settings.channels, "the example has a channel to archive"
    kinds = [source_kind_for(settings, channel.name) for channel in settings.channels]
    assert [ChannelSource.WEB] * len(settings.channels) == kinds


def test_benchmark_detail_lives_in_docs_benchmarks() -> None:
    """The README keeps the headline figures and links the method and tables in docs/benchmarks.md."""
    benchmarks = (ROOT / "docs" / "benchmarks.md").read_text()
    performance = readme_section("Performance")
    assert "docs/benchmarks.md" in performance
    assert len(performance.splitlines()) < 20
    for detail in (
        "## Latest results",
        "## Where each target stands",
        "## Fixed after profiling",
        "## Workers",
    ):
        assert detail in benchmarks
        assert detail not in README
    for table in ("| figure | N | median |", "| workload | workers |"):
        assert table in benchmarks
        assert table not in README


def test_ci_runs_the_readme_test_command_with_postgres_and_no_skips() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    _, test_command = readme_commands()
    assert test_command in ci.splitlines()
    assert "TGVAULT_TEST_POSTGRES_URL=" in ci
    assert "TGVAULT_TEST_NO_SKIP=1" in ci
    assert "mypy src" in ci and "ruff check" in ci


def test_every_command_is_in_the_readme() -> None:
    for name in main.commands:
        assert f"`tgvault {name}" in README, name


def test_the_compose_file_is_valid_and_complete() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"tgvault", "postgres", "site"} <= set(services)
    tgvault = services["tgvault"]
    assert ["run"] == tgvault["command"]
    assert ".env" == tgvault["env_file"]
    assert tgvault["environment"]["TGVAULT_DATABASE__URL"].startswith("postgresql://")
    assert any(volume.endswith(":ro") for volume in services["site"]["volumes"])
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith(".") or source in compose["volumes"], volume
    assert (ROOT / "Dockerfile").is_file()


def test_the_compose_scale_profile_has_two_workers_postgres_and_minio() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    scaled = {name for name, service in services.items() if "scale" in service.get("profiles", [])}
    assert {"worker1", "worker2", "minio"} <= scaled
    assert "profiles" not in services["postgres"], "PostgreSQL serves both setups"
    for name in ("worker1", "worker2"):
        worker = services[name]
        assert ["run", "--worker"] == worker["command"]
        environment = worker["environment"]
        assert environment["TGVAULT_DATABASE__URL"].startswith("postgresql://")
        assert environment["TGVAULT_MEDIA__STORE"].startswith("s3://")
        assert environment["TGVAULT_MEDIA__ENDPOINT_URL"] == "http://minio:9000"
    sessions = {
        services[name]["environment"]["TGVAULT_TELEGRAM__SESSION_STRING"] for name in ("worker1", "worker2")
    }
    assert 2 == len(sessions), "each worker has its own Telegram session"
    assert "s3" in (ROOT / "Dockerfile").read_text()


def test_the_example_env_file_names_real_settings() -> None:
    from tgvault.config import load_settings

    names = re.findall(r"^(TGVAULT_\w+)=", (ROOT / ".env.example").read_text(), re.M)
    env = {name: "12345" if name.endswith("API_ID") else "x" * 32 for name in names}
    env.pop("TGVAULT_TELEGRAM__SESSION_STRING", None)
    settings = load_settings(ROOT / "config" / "tgvault.example.toml", env=env)
    assert 12345 == settings.telegram.api_id


def test_the_changelog_has_an_unreleased_section() -> None:
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text()
