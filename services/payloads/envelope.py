"""The webhook body: `{"event","entity","identifier","payload"}`, compact, serialized once."""

from __future__ import annotations

import json
from typing import Any


def envelope(event: str, entity: str, identifier: str, payload: dict[str, Any]) -> str:
    """The exact bytes (as text) every attempt to every endpoint sends."""
    return json.dumps(
        {"event": event, "entity": entity, "identifier": identifier, "payload": payload},
        separators=(",", ":"),
        ensure_ascii=False,
    )
