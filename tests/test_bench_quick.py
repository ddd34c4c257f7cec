"""The benchmark suite still runs: `python -m bench --quick` end to end, and its JSON has every figure.

Benchmarks are not tests, so nothing here checks a number against a target; this proves only that the
suite works (fake Telegram process, loopback MTProto, tgvault and Telethon workloads, tg-archive in its
own virtual environment, the site build) and reports each figure the tables of docs/benchmarks.md are
made of. The export section (tg-archive from PyPI) is left out: tests never reach the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def positive(figure: Any) -> bool:
    """A measured figure: a number above zero, or a median/min/max summary of such numbers."""
    if isinstance(figure, dict):
        return all(positive(figure[key]) for key in ("median", "min", "max")) and bool(figure["runs"])
    return isinstance(figure, int | float) and not isinstance(figure, bool) and figure > 0


def test_the_quick_benchmark_reports_every_figure(tmp_path: Path) -> None:
    postgres = os.environ.get("TGVAULT_TEST_POSTGRES_URL", "")
    done = subprocess.run(
        # The export section installs tg-archive from PyPI into bench/.venvs; tests never reach the network,
        # so it is left out here and run by `python -m bench` itself.
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--out",
            str(tmp_path),
            "--postgres-url",
            postgres,
            *("--only", "sync", "--only", "memory", "--only", "media", "--only", "tdesktop"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert 0 == done.returncode, done.stderr[-4000:]
    (saved,) = tmp_path.glob("*-quick.json")
    results = json.loads(saved.read_text())

    expected_databases = ["sqlite", "postgres"] if postgres else ["sqlite"]
    assert expected_databases == [row["database"] for row in results["sync"]]
    for row in results["sync"]:
        for name in ("floor_posts_per_s", "tgvault_posts_per_s", "ratio", "tgvault_peak_rss_mb"):
            assert positive(row[name]), (row["database"], name)
        assert all(count > 0 for count in row["history_requests"])

    backfill = results["requests"]["backfill"]
    assert 10.0 >= backfill["per_1000_posts"] > 0
    idle = results["requests"]["sync_nothing_new"]
    assert 1 == idle["history_requests"]
    assert idle["refresh_requests"] > 0

    paced = results["paced"]
    assert expected_databases == [row["database"] for row in paced]
    for row in paced:
        # three pages of history, each request after the first one paced by the delay
        assert row["floor_s"] >= 2 * row["delay_s"] and row["tgvault_s"] >= 2 * row["delay_s"], row

    memory = results["memory"]["rows"]
    assert 2 == len(memory)
    for row in memory:
        assert positive(row["backfill_peak_rss_mb"])
        assert positive(row["fake_server_peak_rss_mb"])

    assert "export" not in results or "blocked" in results["export"] or not results["export"]

    media = results["media"]
    for name in ("floor_mb_per_s", "tgvault_mb_per_s", "speedup"):
        assert positive(media[name]), name

    imports = results["tdesktop_import"]["rows"]
    assert [300] == [row["n"] for row in imports]
    for row in imports:
        assert 300 == row["messages"]
        assert row["files_stored"] > 0
        for name in ("file_mb", "seconds", "messages_per_s", "peak_rss_mb"):
            assert positive(row[name]), name

    assert [] == results["fake_server_errors"]
    assert results["machine"]["cores"] > 0
    assert results["table"] in done.stdout
