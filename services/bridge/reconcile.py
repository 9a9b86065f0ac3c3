"""Reconcile: make the local tables equal a running wg-portal's state, one change at a time.

wg-portal's event bus is in memory and sends each webhook once: a restart, a crash or an ingest
outage loses events. A round finds what ingest missed:

1. read the local rows, each with its version (`xmin`), in one snapshot;
2. read wg-portal's whole state from its REST API (`portal.fetch_snapshot`, no transaction
   open); if any request fails, times out or answers a partial list, the round stops here and
   changes NOTHING: a failed fetch never looks like a deletion;
3. plan the differences (users, then interfaces, then peers created or updated; then peers,
   interfaces, users deleted: a peer's interface exists before the peer, and wg-portal's own
   peer updates after a user's delete are applied before the delete);
4. apply each difference in its own transaction through `mirror.apply`, the code path ingest
   uses, which records the event as the REST API would. A row that changed since step 1 (ingest
   got there first, with a newer state) is left alone: the next round looks at it again. With the
   row lock and mirror's no-op rule, a change seen by both ingest and reconcile makes exactly one
   event.

`baseline=True` adopts wg-portal's state with no events (the first run on a big install).
An event wg-portal never sent is found at the next round with the state at that time, not each
intermediate step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import psycopg
from psycopg import Connection, sql
from psycopg.rows import dict_row

from services.bridge import mirror
from services.bridge.portal import PortalClient, PortalError, Snapshot
from services.bridge.portal_state import STATE
from services.config import Settings
from services.db.queries import query
from services.periodic import JobFailed, JobRun, run_job

log = logging.getLogger(__name__)

Entity = Literal["user", "interface", "peer"]
ENTITIES: tuple[Entity, ...] = ("user", "interface", "peer")
TABLES: dict[Entity, str] = {"user": "users", "interface": "interfaces", "peer": "peers"}


@dataclass(frozen=True)
class Change:
    """One difference: `model` None = delete; `version` None = the row did not exist."""

    entity: Entity
    identifier: str
    model: Mapping[str, Any] | None
    version: str | None


@dataclass
class Outcome:
    """What a round found and did."""

    differences: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENTITIES, 0))
    events: int = 0
    skipped: int = 0  # changed locally since the round read it: left for the next round
    failed: int = 0  # refused by the table (a CHECK): logged, tried again next round
    seconds: float = 0.0

    def add(self, other: Outcome) -> None:
        for entity, found in other.differences.items():
            self.differences[entity] += found
        self.events += other.events
        self.skipped += other.skipped
        self.failed += other.failed

    def summary(self) -> str:
        found = ", ".join(f"{n} {e}(s)" for e, n in self.differences.items())
        return (
            f"{found} different; {self.events} event(s) recorded, "
            f"{self.skipped} left for the next round, {self.failed} not applied; "
            f"{self.seconds:.2f}s"
        )


Local = dict[Entity, dict[str, dict[str, Any]]]
BASELINE_BATCH = 500


def read_local(conn: Connection[Any]) -> Local:
    """Every local row with its version, from one consistent snapshot."""
    local: Local = {}
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for entity, table in TABLES.items():
            query = sql.SQL("SELECT xmin::text AS row_version, * FROM {}").format(
                sql.Identifier(table)
            )
            local[entity] = {row["identifier"]: row for row in cur.execute(query)}
    return local


def differs(row: Mapping[str, Any] | None, state: Mapping[str, Any]) -> bool:
    """Whether storing `state` would change `row` (bookkeeping columns aside): mirror's rule."""
    return row is None or mirror.is_change(row, state)


def plan(local: Local, snapshot: Snapshot, now: datetime) -> list[Change]:
    """The differences, in the order they can be applied."""
    remote: dict[Entity, dict[str, dict[str, Any]]] = {
        "user": snapshot.users,
        "interface": snapshot.interfaces,
        "peer": snapshot.peers,
    }
    upserts: list[Change] = []
    deletes: list[Change] = []
    for entity in ENTITIES:
        rows, models = local[entity], remote[entity]
        for identifier, model in models.items():
            row = rows.get(identifier)
            if differs(row, STATE[entity](model, row, now)):
                version = row["row_version"] if row is not None else None
                upserts.append(Change(entity, identifier, model, version))
        for identifier, row in rows.items():
            if identifier not in models:
                deletes.append(Change(entity, identifier, None, row["row_version"]))
    deletes.sort(key=lambda c: ENTITIES.index(c.entity), reverse=True)
    return upserts + deletes


def apply_change(
    conn: Connection[Any], settings: Settings, change: Change, emit: bool, now: datetime
) -> tuple[bool, str | None]:
    """Apply one change in the caller's transaction: (applied, event recorded)."""
    query = sql.SQL("SELECT xmin::text AS row_version, * FROM {} WHERE identifier = %s FOR UPDATE")
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            query.format(sql.Identifier(TABLES[change.entity])), (change.identifier,)
        ).fetchone()
    if (row["row_version"] if row is not None else None) != change.version:
        return False, None  # changed since the round read it (ingest): next round
    state = None if change.model is None else STATE[change.entity](change.model, row, now)
    event = mirror.apply(conn, settings, change.entity, change.identifier, state, emit=emit)
    return True, event


def _apply_one(
    conn: Connection[Any],
    settings: Settings,
    change: Change,
    emit: bool,
    now: datetime,
    outcome: Outcome,
) -> None:
    """Apply `change` in its own transaction (a savepoint inside a batch); a change the table
    refuses is logged and counted, and the others go on."""
    try:
        with conn.transaction():
            applied, event = apply_change(conn, settings, change, emit, now)
    except (psycopg.DataError, psycopg.IntegrityError) as exc:
        # what the table cannot hold (mirror stores everything else): the next round retries
        outcome.failed += 1
        log.error(
            "reconcile: %s %s not applied: %s", change.entity, change.identifier, _one_line(exc)
        )
        return
    _count(outcome, change, applied, event)


def _apply_batch(
    conn: Connection[Any], settings: Settings, batch: list[Change], now: datetime
) -> Outcome:
    """A baseline's batch in one transaction, no savepoints; if the table refuses one change,
    the batch is rolled back and applied again one savepoint per change."""
    outcome = Outcome()
    try:
        with conn.transaction():
            for change in batch:
                applied, event = apply_change(conn, settings, change, False, now)
                _count(outcome, change, applied, event)
        return outcome
    except (psycopg.DataError, psycopg.IntegrityError):
        outcome = Outcome()
        with conn.transaction():
            for change in batch:
                _apply_one(conn, settings, change, False, now, outcome)
        return outcome


def _count(outcome: Outcome, change: Change, applied: bool, event: str | None) -> None:
    if not applied:
        outcome.skipped += 1
        return
    outcome.differences[change.entity] += 1
    if event is not None:
        outcome.events += 1
        log.info("reconcile: %s %s %s", event, change.entity, change.identifier)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def reconcile(
    conn: Connection[Any], settings: Settings, client: PortalClient, *, baseline: bool = False
) -> Outcome:
    """One round (see the module docstring); raises PortalError having changed nothing."""
    started = time.monotonic()
    local = read_local(conn)
    snapshot = client.fetch_snapshot()  # no transaction is open while wg-portal answers
    now = datetime.now(UTC)
    outcome = Outcome()
    changes = plan(local, snapshot, now)
    # One transaction per change and its event. A baseline records no events: it commits in
    # batches, or a first run beside 10,000 peers would wait for 10,000 WAL flushes.
    if baseline:
        for start in range(0, len(changes), BASELINE_BATCH):
            outcome.add(_apply_batch(conn, settings, changes[start : start + BASELINE_BATCH], now))
    else:
        for change in changes:
            _apply_one(conn, settings, change, True, now, outcome)
    outcome.seconds = time.monotonic() - started
    return outcome


JOB = "reconcile"


def run_round(
    settings: Settings,
    *,
    baseline: bool = False,
    interval: float | None = None,
    client: PortalClient | None = None,
) -> JobRun[Outcome]:
    """One round as the cluster's one reconciler (`periodic.run_job`), its figures recorded.

    `interval` (the loop's `portal.reconcile_interval`) skips the round when another replica
    ran one within it; None (the command) runs whenever no other round is running.
    """
    portal = client or PortalClient(settings.portal)

    def work(conn: Connection[Any]) -> Outcome:
        try:
            outcome = reconcile(conn, settings, portal, baseline=baseline)
        except PortalError as exc:
            raise JobFailed(f"wg-portal: {exc}") from None
        if not baseline:  # a baseline adopts wg-portal's state: nothing was missed
            for entity, found in outcome.differences.items():
                if found:
                    params = {"entity": entity, "found": found}
                    conn.execute(query("reconcile_add_differences"), params)
        return outcome

    try:
        return run_job(settings.database_dsn, JOB, work, interval, "wg-webhooks-reconcile")
    finally:
        if client is None:
            portal.close()
