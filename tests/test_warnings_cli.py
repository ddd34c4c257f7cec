"""An import of a Desktop export without its files: five warnings and a summary, every one in the debug log.

Before, such an import printed one warning per file (516 lines for one channel). These tests read only
what a person reads (the command's output), so they hold whatever the code behind it looks like.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from desktop_exports import export_without_files

MISSING = "file not in the export; recorded as not downloaded"


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TGVAULT_")}
    return subprocess.run(
        [sys.executable, "-m", "tgvault", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_import_without_its_files_prints_five_warnings_and_a_summary(tmp_path: Path) -> None:
    """40 missing files: 5 warning lines and one summary line, not 40 lines."""
    export = export_without_files(tmp_path / "export", 40)

    result = cli(tmp_path, "import", "tdesktop", str(export))

    assert 0 == result.returncode, result.stderr
    mentions = [line for line in result.stderr.splitlines() if "not in the export" in line]
    assert 6 == len(mentions), result.stderr
    assert [MISSING] * 5 == [json.loads(line)["event"] for line in mentions[:5]]
    assert f"warnings: 40 × {MISSING} — 5 shown above, … and 35 more (see --log-level debug)" == mentions[5]
    assert "40 files to fetch later" in result.stdout


def test_the_debug_log_has_every_warning(tmp_path: Path) -> None:
    export = export_without_files(tmp_path / "export", 40)

    result = cli(tmp_path, "--log-level", "debug", "--log-format", "json", "import", "tdesktop", str(export))

    assert 0 == result.returncode, result.stderr
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    missing = [event for event in logged if event["event"] == MISSING]
    assert {f"photos/photo_{n}@14-11-2023.jpg" for n in range(1, 41)} == {event["file"] for event in missing}
    assert (["warning"] * 5 + ["debug"] * 35) == [event["level"] for event in missing]
