"""What a fault run checks at the end, from Postgres, the receivers' records and the logs.

A receiver record is `[seq, webhook_id, entity, identifier, kind, late]` (tests.faults.receiver);
`kind` ok/slow/big is a 2xx answer, i.e. the receiver has the event.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import psycopg

SUCCESS = frozenset({"ok", "slow", "big"})

_RECORD_START = re.compile(r"^(\[?\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)")


@dataclass
class Report:
    counts: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.failures.append(message)


def records_of(text: str) -> list[list[Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass
class Outbox:
    """What Postgres holds at the end: events, and per (event id, endpoint) its delivery."""

    events: list[tuple[str, str, str, str]]  # id, event, entity, identifier
    deliveries: dict[tuple[str, str], Delivery]
    # webhook-id header -> event id; a header missing here is taken as the event id itself
    event_of: dict[str, str] = field(default_factory=dict)

    def by_event_id(self, records: list[list[Any]]) -> list[list[Any]]:
        """Receiver records with the webhook-id replaced by the event id (commit order)."""
        return [[r[0], self.event_of.get(str(r[1]), str(r[1])), *r[2:]] for r in records]


@dataclass(frozen=True)
class Delivery:
    status: str
    attempts: int  # recorded attempts
    timeouts: int  # of which timed out (the total timeout, or a read timeout)


def load_outbox(conn: psycopg.Connection[Any]) -> Outbox:
    event_rows = conn.execute(
        "SELECT id, event, entity, identifier, webhook_id FROM webhook_events ORDER BY id"
    ).fetchall()
    events = [(str(i), e, n, k) for i, e, n, k, _ in event_rows]
    event_of = {w: str(i) for i, _, _, _, w in event_rows}
    rows = conn.execute(
        "SELECT d.event_id, d.endpoint, d.status, d.attempts, coalesce(t.cut, 0)"
        " FROM webhook_deliveries d LEFT JOIN ("
        "   SELECT delivery_id, count(*) AS cut FROM webhook_attempts"
        "   WHERE error LIKE '%%timeout%%' GROUP BY delivery_id) t ON t.delivery_id = d.id"
    ).fetchall()
    return Outbox(events, {(str(e), n): Delivery(s, a, t) for e, n, s, a, t in rows}, event_of)


def check_deliveries(
    outbox: Outbox, endpoints: list[str], received: dict[str, list[list[Any]]], report: Report
) -> None:
    """Every (event, endpoint) delivered and answered 2xx; duplicates counted by cause;
    per-identifier order; nothing left leased."""
    c = report.counts
    c["events"] = len(outbox.events)
    c["events by source"] = dict(
        Counter("collector" if ev in ("connect", "disconnect") else "api"
                for _, ev, _, _ in outbox.events)
    )  # fmt: skip
    c["deliveries expected"] = len(outbox.events) * len(endpoints)
    c["deliveries by status"] = dict(Counter(d.status for d in outbox.deliveries.values()))
    expected = [(e[0], n) for e in outbox.events for n in endpoints]
    missing_rows = [p for p in expected if p not in outbox.deliveries]
    if missing_rows:
        report.fail(f"{len(missing_rows)} (event, endpoint) pairs have no delivery row")
    not_delivered = [
        p for p in expected if p in outbox.deliveries and outbox.deliveries[p].status != "delivered"
    ]
    if not_delivered:
        report.fail(
            f"{len(not_delivered)} deliveries not delivered, e.g. {not_delivered[:5]} "
            f"({dict(Counter(outbox.deliveries[p].status for p in not_delivered))})"
        )
    lost: list[tuple[str, str]] = []
    duplicates: Counter[str] = Counter()
    causes: Counter[str] = Counter()
    unrecorded = 0
    order_violations: list[str] = []
    for name in endpoints:
        records = outbox.by_event_id(received.get(name, []))
        answered = Counter(str(r[1]) for r in records if r[4] in SUCCESS)
        posts = Counter(str(r[1]) for r in records)
        lost += [(event_id, name) for event_id, *_ in outbox.events if not answered[event_id]]
        for event_id, copies in answered.items():
            if copies > 1:
                duplicates[name] += copies - 1
                delivery = outbox.deliveries.get((event_id, name))
                timed_out = delivery is not None and delivery.timeouts > 0
                causes["an answer after the timeout" if timed_out else "a kill or an outage"] += (
                    copies - 1
                )
        # POSTs the receiver saw that no attempt row records: in flight when a worker was
        # killed, or their outcome lost when Redis or Postgres went away
        for event_id, seen in posts.items():
            delivery = outbox.deliveries.get((event_id, name))
            unrecorded += max(0, seen - (delivery.attempts if delivery else 0))
        order_violations += _order_violations(name, records)
    c["lost (never answered 2xx by the receiver)"] = len(lost)
    if lost:
        report.fail(f"{len(lost)} events never reached a receiver: {lost[:5]}")
    c["duplicates (2xx answers beyond the first)"] = sum(duplicates.values())
    c["duplicates by endpoint"] = dict(duplicates)
    c["duplicates by cause"] = dict(causes)
    c["POSTs without an attempt row (in flight at a kill or outage)"] = unrecorded
    c["order violations"] = len(order_violations)
    if order_violations:
        report.fail(f"per-identifier order broken: {order_violations[:5]}")
    c["stuck leased"] = sum(1 for d in outbox.deliveries.values() if d.status == "leased")
    if c["stuck leased"]:
        report.fail(f"{c['stuck leased']} deliveries stuck leased")


def _order_violations(endpoint: str, records: list[list[Any]]) -> list[str]:
    """Per (entity, identifier), events must first be answered 2xx in event id order."""
    first: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for seq, webhook_id, entity, identifier, kind, _late in records:
        if kind in SUCCESS:
            first[(entity, identifier)].setdefault(int(webhook_id), seq)
    violations = []
    for key, by_event in first.items():
        in_answer_order = [e for e, _ in sorted(by_event.items(), key=lambda item: item[1])]
        if in_answer_order != sorted(in_answer_order):
            violations.append(f"{endpoint} {key}: {in_answer_order[:10]}")
    return violations


def check_attempts(conn: psycopg.Connection[Any], timeout: float, report: Report) -> None:
    row = conn.execute(
        "SELECT count(*), coalesce(max(octet_length(response_body)), 0),"
        " count(*) FILTER (WHERE octet_length(response_body) = 4096),"
        " coalesce(max(duration_ms), 0),"
        " count(*) FILTER (WHERE error LIKE 'timeout%%')"
        " FROM webhook_attempts"
    ).fetchone()
    assert row is not None
    attempts, longest_body, full_excerpts, longest_ms, timeouts = row
    c = report.counts
    c["attempts"] = attempts
    c["attempts cut by the total timeout"] = timeouts
    c["longest attempt (s)"] = round(longest_ms / 1000, 2)
    c["longest stored response body (bytes)"] = longest_body
    c["attempts with a 4 KiB excerpt of a 50 MB body"] = full_excerpts
    if longest_body > 4096:
        report.fail(f"a stored response body has {longest_body} bytes (more than 4 KiB)")
    # A trickling receiver never finishes: only the total timeout ends its attempts.
    if longest_ms > (timeout + 5.0) * 1000:
        report.fail(f"an attempt took {longest_ms / 1000:.1f}s, beyond the {timeout:g}s timeout")


def check_logs(logs: list[tuple[str, str]], report: Report) -> None:
    """Any traceback fails the run: a fault the code handles is one log line, not a stack."""
    unhandled: list[str] = []
    for name, text in logs:
        lines = text.splitlines()
        for index, line in enumerate(lines):
            if "Traceback" not in line:
                continue
            header = next(
                (lines[i] for i in range(index - 1, max(-1, index - 5), -1)
                 if _RECORD_START.match(lines[i])),
                "",
            )  # fmt: skip
            end = next(
                (i for i in range(index + 1, len(lines)) if _RECORD_START.match(lines[i])),
                len(lines),
            )
            excerpt = "\n".join(lines[index : min(end, index + 30)])
            unhandled.append(f"{name}: {header or line}\n{excerpt}")
    report.counts["unhandled exceptions in logs"] = len(unhandled)
    for item in unhandled[:3]:
        report.fail(f"unhandled exception in {item}")
