"""`wg-webhooks endpoints list|enable NAME`: endpoint health, and lifting a disable."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from services.cli.operator_session import add_config_argument, database, failing_as_exit_code
from services.cli.text_output import clip, print_json, relative, render_table
from services.endpoint_health import EndpointState, enable, get_endpoint, list_endpoints


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every endpoint with its health and backlog")
    add_config_argument(listing)
    listing.add_argument("--json", action="store_true", help="the API's JSON instead of a table")
    enabling = actions.add_parser("enable", help="enable a disabled endpoint again")
    add_config_argument(enabling)
    enabling.add_argument("name", metavar="NAME")


@failing_as_exit_code
def run(args: argparse.Namespace) -> int:
    with database(args.config) as (settings, conn):
        if args.action == "enable":
            was_disabled = enable(conn, settings, args.name)
            state = get_endpoint(conn, settings, args.name)
            if was_disabled:
                print(f"endpoint {args.name} enabled: {state.pending} pending deliveries resume")
            else:
                print(f"endpoint {args.name} was not disabled")
            return 0
        states = list_endpoints(conn, settings)
    if args.json:
        print_json([s.to_json() for s in states])
    elif not states:
        print("no endpoints configured (webhook.url, webhook.endpoints)")
    else:
        print(format_list(states))
    return 0


def format_list(states: list[EndpointState]) -> str:
    now = datetime.now(UTC)
    headers = (
        "NAME", "STATE", "URL", "PENDING", "IN FLIGHT", "DEAD",
        "FAILING SINCE", "LAST SUCCESS", "LAST FAILURE",
    )  # fmt: skip
    rows = [
        (
            s.name,
            s.state,
            clip(s.to_json()["Url"], 50),
            str(s.pending),
            str(s.in_flight),
            str(s.dead),
            relative(s.failing_since, now),
            relative(s.last_success_at, now),
            relative(s.last_failure_at, now),
        )
        for s in states
    ]
    lines = [render_table(headers, rows)]
    for s in states:
        if s.disabled_at is not None:
            lines.append(f"{s.name}: disabled {relative(s.disabled_at, now)}: {s.disabled_reason}")
    return "\n".join(lines)
