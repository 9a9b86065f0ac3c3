"""The suite runs against the PostgreSQL it was asked for: the embedded 18 by default, the
distribution's TEST_POSTGRES (e.g. 15) as a throw-away cluster, or TEST_DATABASE_URL's."""

from __future__ import annotations

import os
from typing import Any

import psycopg
import pytest


def test_the_server_is_the_postgres_asked_for(db: psycopg.Connection[Any]) -> None:
    row = db.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()
    assert row is not None
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip(f"TEST_DATABASE_URL chooses the server (PostgreSQL {row[0]})")
    assert row[0] == int(os.environ.get("TEST_POSTGRES") or 18)
