"""Golden envelopes: the stored webhook body compared field by field with tests/golden/<name>.json.

Key order is compared (it is the wire format, and it is how omitempty shows: a left-out key is a
missing key). Values compare with their JSON types (false is not 0, [] is not null). Times vary,
so the golden file holds "<time>" and the actual value must be a Go RFC 3339 time. Run with
UPDATE_GOLDEN=1 to rewrite the files from the actual values (then review the diff).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
TIME = "<time>"
GO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
TIME_KEYS = {"CreatedAt", "UpdatedAt", "Disabled", "Locked", "ExpiresAt"}


def _masked(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if key in TIME_KEYS and isinstance(value, str):
        return TIME
    return value


def _compare(expected: Any, actual: Any, path: str) -> None:
    if expected == TIME:
        assert isinstance(actual, str) and GO_TIME.match(actual), (
            f"{path}: {actual!r} is no Go time"
        )
        return
    assert type(actual) is type(expected), f"{path}: {actual!r} is not like {expected!r}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), (
            f"{path}: keys differ\n  expected {list(expected)}\n  actual   {list(actual)}"
        )
        for key in expected:
            _compare(expected[key], actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{path}: {actual!r} != {expected!r}"
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            _compare(e, a, f"{path}[{index}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def assert_golden(actual: dict[str, Any], name: str) -> None:
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(_masked(actual), indent=2, ensure_ascii=False) + "\n")
    expected = json.loads(path.read_text())
    _compare(expected, actual, name)
