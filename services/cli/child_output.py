"""Where the output of `up`'s children goes: all of it into one file per component, and to the
terminal only what a newcomer should see there.

The terminal shows the sink (the webhooks arriving) and what the components log at WARNING or
above; the rest (Celery's and Flower's start-up chatter, INFO records) is in
`<data dir>/logs/<component>.log`. With `advanced.log_json` the terminal gets every line, as one
JSON object naming its component, for a log pipeline.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import BinaryIO

from services.cli.logging_setup import json_line, record_level

ALWAYS_SHOWN = frozenset({"sink"})  # its output is the point: what webhooks arrive


def json_of(line: str, component: str) -> str:
    """A child's line as one JSON object naming the child (a record, or stray output wrapped)."""
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        return json_line(line.rstrip("\n"), component=component) + "\n"
    return json.dumps({**record, "component": component}) + "\n"


class ChildOutput:
    """One child's lines: each into its log file, and to the terminal as described above."""

    def __init__(self, component: str, log_dir: Path, log_json: bool) -> None:
        self.component = component
        self.log_json = log_json
        self.path = log_dir / f"{component}.log"
        self.showing = True  # lines that are not records follow the record before them
        self.file: BinaryIO | None = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = self.path.open("ab")

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def line(self, raw: bytes) -> None:
        if self.file is not None:
            self.file.write(raw)
            self.file.flush()
        text = raw.decode("utf-8", errors="replace")
        if self.log_json:
            sys.stdout.write(json_of(text, self.component))
        elif self.shown(text):
            sys.stdout.write(f"[{self.component}] {text}")
        else:
            return
        sys.stdout.flush()

    def shown(self, text: str) -> bool:
        if self.component in ALWAYS_SHOWN:
            return True
        level = record_level(text)
        if level is not None:
            self.showing = level >= logging.WARNING
        return self.showing
