"""`wg-webhooks deliveries list|show`: inspect deliveries and their attempts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from services import redrive
from services.cli.operator_session import (
    add_config_argument,
    database,
    duration_argument,
    failing_as_exit_code,
    filter_argument,
    limit_argument,
)
from services.cli.text_output import clip, print_json, relative, render_table
from services.endpoints import live

EXCERPT = 1000  # characters of a response body `show` prints (`--json` has all that is kept)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="deliveries, newest first")
    add_config_argument(listing)
    listing.add_argument("--status", choices=redrive.STATUSES)
    listing.add_argument("--endpoint", type=filter_argument, help="endpoint name")
    listing.add_argument("--entity", type=filter_argument, help="user, peer, interface, ...")
    listing.add_argument("--identifier", type=filter_argument, help="the entity's identifier")
    listing.add_argument(
        "--since",
        type=duration_argument,
        metavar="DURATION",
        help="last changed within (like 24h, 30m)",
    )
    listing.add_argument(
        "--limit",
        type=limit_argument,
        default=redrive.DEFAULT_LIMIT,
        help="at most this many (1-1000)",
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
