"""Secret files: checking that a file holding a secret is readable only by its owner, and reading it."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def check_secret_file(path: Path) -> None:
    """Check that ``path`` is a non-empty regular file readable only by its owner."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ValueError(f"'{path}' does not exist; expected a file holding the secret") from None
    except OSError as error:
        raise ValueError(f"'{path}' cannot be read: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"'{path}' is not a regular file; expected a file holding the secret")
    mode = stat.S_IMODE(info.st_mode)
    if os.name == "posix" and mode & 0o077:
        raise ValueError(
            f"'{path}' has mode {mode:04o}, so other users can read it; it must be 0600 or stricter "
            f"(run: chmod 600 '{path}')"
        )
    if not read_secret_file(path):
        raise ValueError(f"'{path}' is empty; expected a file holding the secret")


def read_secret_file(path: Path) -> str:
    """The secret held in ``path``, stripped; ``ValueError`` when it cannot be read as text."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ValueError(f"'{path}' cannot be read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"'{path}' is not UTF-8 text") from None
