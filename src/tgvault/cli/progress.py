"""Showing progress to a person: a rich bar on a terminal, periodic log lines anywhere else.

Both displays implement the services' :class:`~tgvault.services.progress.Progress` protocol (and so the
export's, which has the same shape), count the warnings services report (:class:`WarningTally`), and
print one summary line per kind of warning when the command ends. While the bar is drawn, rich sends
whatever is written to stdout and stderr (log lines included, see :mod:`tgvault.logs`) above it.

    with progress_display() as progress:
        summary = import_tdesktop(path, ..., progress=progress)
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Self

import click
import structlog
from rich.console import Console
from rich.filesize import decimal
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tgvault.services.warning_tally import WarningTally, printable

__all__ = ["BarProgress", "LogProgress", "progress_display", "warning_summary"]

log = structlog.get_logger(__name__)


class _Figures:
    """The figures of the current piece of work, as both displays show them."""

    def __init__(self) -> None:
        self.label = ""
        self.unit = "posts"
        self.total: int | None = None
        self.total_bytes: int | None = None
        self.count = 0
        self.size = 0
        self.files = 0
        self.file_bytes = 0
        self.started = time.monotonic()

    def start(self, label: str, total: int | None, unit: str, total_bytes: int | None) -> None:
        self.label, self.total, self.unit, self.total_bytes = printable(label), total, unit, total_bytes
        self.count = self.size = 0
        self.started = time.monotonic()

    def rate(self) -> float:
        return self.count / max(time.monotonic() - self.started, 1e-6)

    def estimate(self) -> int | None:
        """The total, or when only the bytes are known (an export being streamed) the count scaled by
        the bytes read so far (``count`` of ``total_bytes`` once everything was read)."""
        if self.total is not None:
            return self.total
        if self.total_bytes is None or self.size <= 0:
            return None
        return max(self.count, round(self.count * self.total_bytes / self.size))

    def detail(self) -> str:
        """``1,234/5,000 posts · 1.2 MB/5.0 MB · 50/s``."""
        total = self.estimate()
        of_total = f"/{total:,}" if total is not None else ""
        text = f"{self.count:,}{of_total} {self.unit}"
        if self.total_bytes is not None:
            text += f" · {decimal(self.size)}/{decimal(self.total_bytes)}"
        elif self.size:
            text += f" · {decimal(self.size)}"
        return f"{text} · {self.rate():,.0f}/s"


class BarProgress:
    """A rich progress display: the current piece of work's bar (count of the total, rate, time left when
    the total is known), a line of files stored on the side, and with ``overall`` a bar over the pieces
    (``("channels", 5)``: each finished piece advances it)."""

    def __init__(
        self,
        console: Console,
        *,
        overall: tuple[str, int] | None = None,
        warnings: WarningTally | None = None,
    ) -> None:
        self.warnings = warnings or WarningTally()
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._overall = overall
        self._overall_task: TaskID | None = None
        self._done = 0
        self._task: TaskID | None = None
        self._media_task: TaskID | None = None
        self._figures = _Figures()

    def __enter__(self) -> Self:
        if self._overall is not None:
            unit, total = self._overall
            self._overall_task = self._bar.add_task("all", total=total, detail=f"0/{total:,} {unit}")
        self._bar.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.stop()
        for line in warning_summary(self.warnings):
            click.echo(line, err=True)

    def started(
        self, label: str, total: int | None, unit: str = "posts", *, total_bytes: int | None = None
    ) -> None:
        """Show a new piece of work on the bar (the bar of the last one is re-used)."""
        figures = self._figures
        figures.start(label, total, unit, total_bytes)
        description = escape(figures.label)
        if self._task is None:
            self._task = self._bar.add_task(description, total=total, detail=figures.detail())
            return
        self._bar.reset(self._task, total=total, description=description, detail=figures.detail())
        if total is None:  # reset() keeps the last piece's total for None; this piece has none
            self._set_total(None)

    def advance(self, count: int, size: int = 0) -> None:
        """Advance the bar."""
        if self._task is None:
            return
        figures = self._figures
        figures.count += count
        figures.size += size
        if figures.total is None and figures.total_bytes is not None:
            self._set_total(figures.estimate())
        self._bar.update(self._task, advance=count, detail=figures.detail())

    def media(self, files: int, size: int) -> None:
        """Advance the line of files stored (shown from the first file on)."""
        figures = self._figures
        figures.files += files
        figures.file_bytes += size
        detail = f"{figures.files:,} files · {decimal(figures.file_bytes)}"
        if self._media_task is None:
            self._media_task = self._bar.add_task("  stored", total=None, detail=detail)
        else:
            self._bar.update(self._media_task, detail=detail)

    def warn(self, kind: str, **fields: object) -> None:
        """Count the warning; the first few of a kind are logged (above the bar), the rest at debug level."""
        self.warnings.warn(kind, **fields)

    def _set_total(self, total: float | None) -> None:
        for task in self._bar.tasks:
            if task.id == self._task:
                task.total = total

    def finished(self) -> None:
        """The piece of work ended: its bar stays, shown whole when it had no total; the overall bar
        advances."""
        if self._task is not None and self._figures.total is None:
            done = max(self._figures.count, 1)
            self._set_total(done)
            self._bar.update(self._task, completed=done)
        if self._overall is None or self._overall_task is None:
            return
        self._done += 1
        unit, total = self._overall
        self._bar.update(self._overall_task, advance=1, detail=f"{self._done:,}/{total:,} {unit}")


class LogProgress:
    """Progress as a log line every ``interval`` seconds and at the end of each piece of work (for
    redirected output and CI), with the same warnings summary as the bar."""

    def __init__(
        self,
        interval: float = 10.0,
        *,
        overall: tuple[str, int] | None = None,
        warnings: WarningTally | None = None,
    ) -> None:
        self.warnings = warnings or WarningTally()
        self._interval = interval
        self._overall = overall
        self._done = 0
        self._figures = _Figures()
        self._last = time.monotonic()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for line in warning_summary(self.warnings):
            click.echo(line, err=True)

    def started(
        self, label: str, total: int | None, unit: str = "posts", *, total_bytes: int | None = None
    ) -> None:
        """Remember the piece of work and its total."""
        self._figures.start(label, total, unit, total_bytes)
        self._last = time.monotonic()

    def _maybe_log(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        figures = self._figures
        fields: dict[str, object] = {
            "label": figures.label,
            "done": figures.count,
            "total": figures.estimate(),
            "unit": figures.unit,
            "per_second": round(figures.rate(), 1),
        }
        if figures.size or figures.total_bytes is not None:
            fields.update(bytes=figures.size, total_bytes=figures.total_bytes)
        if figures.files:
            fields.update(files=figures.files, file_bytes=figures.file_bytes)
        if self._overall is not None:
            unit, total = self._overall
            fields.update({f"{unit}_done": self._done, f"{unit}_total": total})
        log.info("progress", **fields)

    def advance(self, count: int, size: int = 0) -> None:
        """Count; log when the interval passed."""
        self._figures.count += count
        self._figures.size += size
        self._maybe_log()

    def media(self, files: int, size: int) -> None:
        """Count files stored; log when the interval passed."""
        self._figures.files += files
        self._figures.file_bytes += size
        self._maybe_log()

    def warn(self, kind: str, **fields: object) -> None:
        """Count the warning; the first few of a kind are logged, the rest at debug level."""
        self.warnings.warn(kind, **fields)

    def finished(self) -> None:
        """Log the piece of work's final figures."""
        self._done += 1
        figures = self._figures
        if figures.label or figures.count or figures.files:
            self._maybe_log(force=True)


def progress_display(
    console: Console | None = None, *, overall: tuple[str, int] | None = None
) -> BarProgress | LogProgress:
    """A bar when stderr is a terminal, else log lines; ``overall`` adds a bar over pieces of work."""
    console = console or Console(stderr=True)
    if console.is_terminal:
        return BarProgress(console, overall=overall)
    return LogProgress(overall=overall)


def warning_summary(tally: WarningTally) -> list[str]:
    """One line per kind of warning: how many, and how many only the debug log shows."""
    lines = []
    for kind, count in tally.counts().items():
        hidden = tally.hidden(kind)
        line = f"warnings: {count:,} × {kind}"
        if hidden:
            line += f" — {tally.shown} shown above, … and {hidden:,} more (see --log-level debug)"
        lines.append(line)
    return lines
