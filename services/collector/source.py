"""Where the collector reads `wg show all dump` from: the `wg` command, or a saved file.

A source returns the dump's text or raises `DumpUnavailable` with one line fit for the log.
`ToolMissing` is the one failure an operator may leave on purpose (a machine without WireGuard
running `wg-webhooks up`): the loop warns about it once instead of every interval.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path
from typing import Protocol

from services.config import ConfigError

_WG_COMMAND_KEY = "statistics.wg_command"
_STDERR_CHARS = 300


class DumpUnavailable(Exception):
    """The dump could not be read this time; the message is one log line."""


class ToolMissing(DumpUnavailable):
    """The command's program does not exist on this machine."""


class DumpSource(Protocol):
    def read(self) -> str:
        """The dump's text; raises DumpUnavailable."""
        ...

    def describe(self) -> str:
        """For the start-up log line."""
        ...


class WgCommand:
    """Runs `statistics.wg_command` (split like a shell would, but run without one)."""

    def __init__(self, command: str, timeout: float) -> None:
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ConfigError(_WG_COMMAND_KEY, f"{command!r} cannot be split: {exc}") from None
        if not argv:
            raise ConfigError(_WG_COMMAND_KEY, "is empty")
        self.argv = argv
        self.timeout = timeout

    def describe(self) -> str:
        return f"`{shlex.join(self.argv)}`"

    def read(self) -> str:
        try:
            done = subprocess.run(
                self.argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.timeout,
                check=False,
                # Ctrl-C in a terminal reaches the collector, which finishes its cycle; `wg`
                # must not die of the same signal halfway through.
                start_new_session=True,
            )
        except FileNotFoundError:
            raise ToolMissing(
                f"{self.argv[0]} is not installed (statistics.wg_command is "
                f"{self.describe()}): no peer status is collected on this machine"
            ) from None
        except subprocess.TimeoutExpired:
            raise DumpUnavailable(
                f"{self.describe()} did not finish within {self.timeout:g}s"
            ) from None
        except OSError as exc:
            raise DumpUnavailable(f"{self.describe()} could not run: {exc.strerror}") from None
        if done.returncode != 0:
            stderr = done.stderr.decode("utf-8", errors="replace").strip()
            stderr = " ".join(stderr.split())[:_STDERR_CHARS] or "no error output"
            raise DumpUnavailable(f"{self.describe()} exited with {done.returncode}: {stderr}")
        try:
            return done.stdout.decode("utf-8")
        except UnicodeDecodeError:
            raise DumpUnavailable(f"{self.describe()} printed bytes that are not UTF-8") from None


class DumpFile:
    """A saved `wg show all dump` (for `--dump-file`), read again every interval."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> str:
        return f"dump file {self.path}"

    def read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DumpUnavailable(f"dump file {self.path} does not exist") from None
        except UnicodeDecodeError:
            raise DumpUnavailable(f"dump file {self.path} is not UTF-8 text") from None
        except OSError as exc:
            raise DumpUnavailable(f"cannot read dump file {self.path}: {exc.strerror}") from None
