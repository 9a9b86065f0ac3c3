"""Named SQL blocks from `queries.sql`, loaded once.

Each block starts with `-- name: NAME` and a one-line `-- description`; parameters are always
bound (`%(name)s`), never formatted in.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_BLOCK = re.compile(r"^-- name: (\w+)\n", re.MULTILINE)


@cache
def _all() -> dict[str, str]:
    text = resources.files("services.db").joinpath("queries.sql").read_text("utf-8")
    parts = _BLOCK.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise RuntimeError(f"query {name} is defined twice in queries.sql")
        queries[name] = body.strip()
    return queries


def query(name: str) -> bytes:
    """The SQL of the block `name`, as bytes (psycopg takes them as they are)."""
    return _all()[name].encode()
