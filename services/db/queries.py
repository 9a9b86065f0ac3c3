"""Named SQL blocks from every `*.sql` file of this folder (except `schema.sql`), loaded once.

Each block starts with `-- name: NAME` and a one-line `-- description`; parameters are always
bound (`%(name)s`), never formatted in. One file per concern (`queries.sql` for the delivery
path, `operations.sql` for what operators run); a name may be defined only once across them.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_BLOCK = re.compile(r"^-- name: (\w+)\n", re.MULTILINE)
_NOT_QUERIES = frozenset({"schema.sql"})


@cache
def _all() -> dict[str, str]:
    queries: dict[str, str] = {}
    found_in: dict[str, str] = {}
    folder = resources.files("services.db")
    files = sorted(
        item.name
        for item in folder.iterdir()
        if item.name.endswith(".sql") and item.name not in _NOT_QUERIES
    )
    for file_name in files:
        text = folder.joinpath(file_name).read_text("utf-8")
        parts = _BLOCK.split(text)
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            if name in queries:
                raise RuntimeError(
                    f"query {name} is defined twice ({found_in[name]} and {file_name})"
                )
            queries[name] = body.strip()
            found_in[name] = file_name
    return queries


def query(name: str) -> bytes:
    """The SQL of the block `name`, as bytes (psycopg takes them as they are)."""
    return _all()[name].encode()
