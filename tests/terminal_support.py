"""Running the real ``tgvault`` command in a pseudo-terminal and reading the screen a person would see.

The command's stdin, stdout and stderr are the slave side of a pty of a known size, so rich, structlog
and click see a real terminal; every byte the command writes is fed to a VT100 emulator (pyte), whose
screen is what the tests read: cursor moves, line erases and redraws of a live progress bar included.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pyte

BAR = "━"  # what rich draws a progress bar with (finished and unfinished parts)
LOG_LEVELS = ("[debug", "[info", "[warning", "[error", "[critical")


@dataclass(frozen=True)
class TerminalRun:
    """What a command left on the screen, and how it exited."""

    returncode: int
    lines: list[str]
    raw: bytes

    @property
    def text(self) -> str:
        """The screen as one text (lines joined)."""
        return "\n".join(self.lines)

    def bar_lines(self) -> list[str]:
        """Lines that show a progress bar."""
        return [line for line in self.lines if BAR in line]

    def log_lines(self) -> list[str]:
        """Lines the console log renderer wrote (they carry a ``[level`` column)."""
        return [line for line in self.lines if any(level in line for level in LOG_LEVELS)]


def run_in_terminal(
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    *,
    columns: int = 160,
    rows: int = 500,
    timeout: float = 180,
) -> TerminalRun:
    """Run ``python -m tgvault ARGS`` on a pty of ``columns`` x ``rows`` and return its final screen."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    terminal_env = {**env, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(rows)}
    for name in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        terminal_env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "tgvault", *args],
        cwd=cwd,
        env=terminal_env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"tgvault {' '.join(args)} did not finish in {timeout} s")
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                if process.poll() is not None and not _pending(master):
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last holder of the slave side closed it
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    returncode = process.wait(timeout=30)
    raw = b"".join(chunks)
    screen = pyte.Screen(columns, rows)
    stream = pyte.ByteStream(screen)
    stream.feed(raw)
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return TerminalRun(returncode, lines, raw)


def _pending(master: int) -> bool:
    ready, _, _ = select.select([master], [], [], 0)
    return bool(ready)
