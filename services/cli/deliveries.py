"""`wg-webhooks deliveries list|show`: inspect deliveries and their attempts.

Also home of what the operator commands share (`redeliver`, `recover`, `endpoints`): the
database session beside a running `up` (embedded servers found or started, and stopped again),
domain errors as one line and exit code 1, and plain-text tables.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg

from services import redrive
from services.cli import context
from services.config import Settings
from services.domain.errors import DomainError
from services.durations import parse_duration
from services.endpoints import live

EXCERPT = 1000  # characters of a response body `show` prints (`--json` has all that is kept)


# ---------------------------------------------------------------------------------------------
# Shared by the operator commands
# ---------------------------------------------------------------------------------------------


class CommandFailed(Exception):
    """A one-line message for stderr; the command exits 1."""


@contextlib.contextmanager
def database(config: str | None) -> Iterator[tuple[Settings, psycopg.Connection[Any]]]:
    """Settings and an autocommit connection, on the same servers as a running `up`."""
    settings, stack = context.with_servers(context.load(config))
    try:
        try:
            conn = psycopg.connect(
                settings.database_dsn, autocommit=True, application_name="wg-webhooks-cli"
            )
        except psycopg.OperationalError as exc:
            raise CommandFailed(f"cannot reach the database: {str(exc).strip()[:300]}") from None
        with conn:
            try:
                yield settings, conn
            except psycopg.errors.UndefinedTable:
                raise CommandFailed(
                    "the database has no webhook tables yet: run `wg-webhooks migrate` first"
                ) from None
            except DomainError as exc:
                raise CommandFailed(exc.message) from None
    finally:
        stack.stop()


Run = Callable[[argparse.Namespace], int]


def failing_as_exit_code(run: Run) -> Run:
    """Decorate a command's `run`: CommandFailed -> message on stderr, exit code 1."""

    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            code: int = run(args)
        except CommandFailed as exc:
            print(f"wg-webhooks: {exc}", file=sys.stderr)
            return 1
        return code

    return wrapper


def duration_argument(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than zero")
    return seconds


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """`--config` after a nested subcommand too (`deliveries list --config x.yaml`)."""
    parser.add_argument(
        "--config", dest="sub_config", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def clip(text: str | None, width: int) -> str:
    if not text:
        return "-"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def relative(when: datetime | None, now: datetime | None = None) -> str:
    """`in 4m30s`, `2h5m ago`, `6d ago`, `now`, or `-` (the two largest units at most)."""
    if when is None:
        return "-"
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if abs(seconds) < 1:
        return "now"
    text = _span(int(abs(seconds)))
    return f"in {text}" if seconds > 0 else f"{text} ago"


def _span(seconds: int) -> str:
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (parts and len(parts) < 2):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
        if len(parts) == 2:
            break
    return "".join(p for p in parts if not p.startswith("0") or p == parts[0])


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


# ---------------------------------------------------------------------------------------------
# deliveries list | show
# ---------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="deliveries, newest first")
    add_config_argument(listing)
    listing.add_argument("--status", choices=redrive.STATUSES)
    listing.add_argument("--endpoint", help="endpoint name")
    listing.add_argument("--entity", help="user, peer, interface, ...")
    listing.add_argument("--identifier", help="the entity's identifier")
    listing.add_argument(
        "--since",
        type=duration_argument,
        metavar="DURATION",
        help="last changed within (like 24h, 30m)",
    )
    listing.add_argument(
        "--limit", type=int, default=redrive.DEFAULT_LIMIT, help="at most this many (1-1000)"
    )
    listing.add_argument("--json", action="store_true", help="the API's JSON instead of a table")
    show = actions.add_parser("show", help="one delivery with every attempt")
    add_config_argument(show)
    show.add_argument("id", type=int, metavar="ID")
    show.add_argument("--json", action="store_true", help="the API's JSON instead of text")


@failing_as_exit_code
def run(args: argparse.Namespace) -> int:
    with database(args.config) as (settings, conn):
        if args.action == "show":
            detail = redrive.get_delivery(conn, args.id)
            if args.json:
                print_json(detail.to_json())
            else:
                print(format_detail(detail))
            return 0
        filters = redrive.Filters(
            status=args.status,
            endpoint=args.endpoint,
            entity=args.entity,
            identifier=args.identifier,
            since=args.since,
            limit=args.limit,
        )
        deliveries = redrive.list_deliveries(conn, filters)
        removed = live.removed_endpoints(conn, settings, {d.endpoint for d in deliveries})
    if args.json:
        print_json([{**d.to_json(), "EndpointRemoved": d.endpoint in removed} for d in deliveries])
    elif not deliveries:
        print("no deliveries match", file=sys.stderr)
    else:
        print(format_list(deliveries, removed))
    return 0


def _last(delivery: redrive.Delivery) -> str:
    if delivery.last_status_code is not None:
        return str(delivery.last_status_code)
    return clip(delivery.last_error, 24)


def _next(delivery: redrive.Delivery, now: datetime) -> str:
    if delivery.status == "leased":
        return "in flight"
    due = delivery.due_at
    if due is None:
        return "-"
    return "now" if due <= now else relative(due, now)


def format_list(
    deliveries: Sequence[redrive.Delivery], removed: frozenset[str] = frozenset()
) -> str:
    """One row each; an endpoint that was removed shows as `NAME (removed)`."""
    now = datetime.now(UTC)
    headers = ("ID", "STATUS", "ENDPOINT", "EVENT", "ENTITY", "IDENTIFIER", "ATTEMPTS", "LAST")
    rows = [
        (
            str(d.id),
            d.status,
            f"{d.endpoint} (removed)" if d.endpoint in removed else d.endpoint,
            d.event,
            d.entity,
            clip(d.identifier, 40),
            str(d.attempts),
            _last(d),
            _next(d, now),
        )
        for d in deliveries
    ]
    return render_table((*headers, "NEXT ATTEMPT"), rows)


def format_detail(detail: redrive.DeliveryDetail) -> str:
    d = detail.delivery
    body = d.to_json()
    fields = [
        ("Status", d.status),
        ("Endpoint", d.endpoint),
        ("Event", f"{d.event} {d.entity} {d.identifier}"),
        ("Event id", str(d.event_id)),
        ("webhook-id", d.webhook_id),
        ("Attempts", f"{d.attempts} since the last re-drive, {len(detail.attempts)} recorded"),
        ("Next attempt", _next(d, datetime.now(UTC))),
        ("Last status", str(d.last_status_code) if d.last_status_code is not None else "-"),
        ("Last error", d.last_error or "-"),
        ("Created", body["CreatedAt"]),
        ("Delivered", body["DeliveredAt"] or "-"),
    ]
    width = max(len(name) for name, _ in fields)
    lines = [f"Delivery {d.id}"]
    lines += [f"  {name.ljust(width)}  {value}" for name, value in fields]
    lines.append("Attempts" if detail.attempts else "Attempts: none yet")
    for number, attempt in enumerate(detail.attempts, 1):
        answer = str(attempt.status_code) if attempt.status_code is not None else "-"
        lines.append(
            f"  #{number}  {attempt.to_json()['AttemptedAt']}  {answer}  {attempt.outcome}"
            f"  {attempt.duration_ms:.1f} ms" + (f"  {attempt.error}" if attempt.error else "")
        )
        excerpt = attempt.response_body
        if excerpt:
            shown = excerpt[:EXCERPT]
            for line in shown.splitlines() or [""]:
                lines.append(f"      {line}")
            if len(excerpt) > EXCERPT:
                lines.append(f"      … ({len(excerpt) - EXCERPT} more characters; --json has all)")
    return "\n".join(lines)
