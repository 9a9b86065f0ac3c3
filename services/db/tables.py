"""Row reads and writes by identifier, shared by the entity modules (users, interfaces, peers)
and the bridge's mirror.

Every entity table is keyed by `identifier`. Table and column names come from the entity modules'
own field lists, never from input, and are passed through `psycopg.sql.Identifier`; values are
always bound parameters. The SQL is composed here because the set of columns is the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from psycopg import sql
from psycopg.rows import dict_row

from services.db.store import Connection

Lock = Literal["", "FOR UPDATE", "FOR SHARE", "FOR KEY SHARE"]


def get(conn: Connection, table: str, identifier: str, lock: Lock = "") -> dict[str, Any] | None:
    query = sql.SQL("SELECT * FROM {} WHERE identifier = %s {}").format(
        sql.Identifier(table), sql.SQL(lock)
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, (identifier,)).fetchone()


def insert(conn: Connection, table: str, values: Mapping[str, Any]) -> dict[str, Any] | None:
    """Insert a row; None when the identifier is taken (the caller reports the conflict)."""
    query = sql.SQL(
        "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (identifier) DO NOTHING RETURNING *"
    ).format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in values),
        sql.SQL(", ").join(sql.Placeholder(c) for c in values),
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, values).fetchone()


def update(
    conn: Connection, table: str, identifier: str, values: Mapping[str, Any]
) -> dict[str, Any]:
    query = sql.SQL("UPDATE {} SET {} WHERE identifier = {} RETURNING *").format(
        sql.Identifier(table),
        sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder(c)) for c in values
        ),
        sql.Placeholder("__key"),
    )
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(query, {**values, "__key": identifier}).fetchone()
    if row is None:
        raise LookupError(f"{table} {identifier} vanished inside its own transaction")
    return row


def delete(conn: Connection, table: str, identifier: str) -> None:
    conn.execute(
        sql.SQL("DELETE FROM {} WHERE identifier = %s").format(sql.Identifier(table)),
        (identifier,),
    )


def changed(row: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Whether writing `values` would change `row` (lists compare as lists)."""
    return any(row[column] != value for column, value in values.items())
