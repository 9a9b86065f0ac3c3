"""Generated credentials kept in the data dir: one file each, mode 0600 from its first byte.

`up` keeps the admin API token and Flower's login here when none is configured; the embedded
Redis keeps its password here. A file that exists is read back, so they survive restarts.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def kept_secret(path: Path, make: str) -> str:
    """The secret in `path`, or `make` written there (0600, never readable by others)."""
    with contextlib.suppress(FileNotFoundError):
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(make + "\n")
    return make
