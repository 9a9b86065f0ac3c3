"""Where wg-webhooks' tables live: one Postgres schema of their own (`database.schema`).

Every connection of ours is bound to that schema through its DSN (`options=-c search_path=...`),
so the SQL stays unqualified and a session of ours never sees another application's tables:
wg-portal's `users`, `interfaces` and `peers` can sit in `public` of the same database.
"""

from __future__ import annotations

import re

import psycopg

DEFAULT_SCHEMA = "wg_webhooks"
# Lower case only: the name then never needs quoting in a search_path or in SQL.
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SEARCH_PATH = re.compile(r"(?:-c\s*|--)search_path=(\S+)")


def schema_problem(name: str) -> str | None:
    """Why `name` cannot be our schema, or None when it can."""
    if not _IDENTIFIER.match(name):
        return f"{name!r} must be a lower-case identifier: a-z, 0-9 and _, at most 63 characters"
    if name == "public" or name.startswith("pg_") or name == "information_schema":
        return f"{name!r} is not ours to use: pick a schema of wg-webhooks' own (e.g. wg_webhooks)"
    return None


def in_schema(dsn: str, schema: str) -> str:
    """`dsn` with every session's search_path set to `schema` alone ('' stays '': embedded)."""
    problem = schema_problem(schema)
    if problem:
        raise ValueError(problem)
    if not dsn:
        return dsn
    options = str(psycopg.conninfo.conninfo_to_dict(dsn).get("options") or "")
    others = _SEARCH_PATH.sub("", options).strip()
    return psycopg.conninfo.make_conninfo(dsn, options=f"{others} -c search_path={schema}".strip())


def schema_of(dsn: str) -> str | None:
    """The schema a DSN made by `in_schema` is bound to; None for a DSN that is not bound."""
    if not dsn:
        return None
    options = str(psycopg.conninfo.conninfo_to_dict(dsn).get("options") or "")
    found = _SEARCH_PATH.findall(options)
    return found[-1] if found else None
