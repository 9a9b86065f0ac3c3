"""`wg-webhooks endpoints list|add|update|remove|rotate-secret|enable`.

Endpoints with their health, runtime endpoints managed in Postgres (services/endpoints/), and
lifting a disable. Each action parses, calls the service, prints.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from services.cli.operator_session import (
    CommandFailed,
    add_config_argument,
    database,
    failing_as_exit_code,
)
from services.cli.text_output import clip, print_json, relative, render_table
from services.endpoint_health import EndpointState, enable, get_endpoint, list_endpoints
from services.endpoints import store
from services.endpoints.rotation import DEFAULT_GRACE, GRACE
from services.signing_keys import new_signing_key, new_signing_secret


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every endpoint with its health and backlog")
    add_config_argument(listing)
    listing.add_argument("--json", action="store_true", help="the API's JSON instead of a table")
    enabling = actions.add_parser("enable", help="enable a disabled endpoint again")
    add_config_argument(enabling)
    enabling.add_argument("name", metavar="NAME")
    adding = actions.add_parser("add", help="add an endpoint at runtime (stored in Postgres)")
    _endpoint_options(adding, required_url=True)
    updating = actions.add_parser("update", help="change the given settings of an endpoint")
    _endpoint_options(updating, required_url=False)
    removing = actions.add_parser(
        "remove", help="remove an endpoint: nothing more is sent, its deliveries are kept"
    )
    add_config_argument(removing)
    removing.add_argument("name", metavar="NAME")
    rotating = actions.add_parser(
        "rotate-secret", help="a new whsec_ secret; the old one keeps signing for --grace"
    )
    add_config_argument(rotating)
    rotating.add_argument("name", metavar="NAME")
    rotating.add_argument(
        "--grace", default=DEFAULT_GRACE, help="how long the old secret signs too"
    )


GENERATE = "generate"  # in place of a secret: make one and print it once


def _endpoint_options(parser: argparse.ArgumentParser, required_url: bool) -> None:
    """The config keys of an `endpoints:` entry as options (DESIGN §4.2)."""
    add_config_argument(parser)
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("--url", required=required_url)
    parser.add_argument("--authentication", help="sent verbatim as Authorization")
    parser.add_argument("--event", action="append", dest="events", help="repeat; none = all")
    parser.add_argument("--entity", action="append", dest="entities", help="repeat; none = all")
    parser.add_argument("--timeout", help="like 10s")
    parser.add_argument("--retry-schedule", help='like "5s 5m 30m"')
    parser.add_argument("--max-in-flight")
    parser.add_argument(
        "--header", action="append", dest="headers", metavar="NAME=VALUE", help="repeat"
    )
    parser.add_argument("--signing-secret", help="whsec_..., or `generate` (printed once)")
    parser.add_argument("--signing-key", help="whsk_..., or `generate` (Ed25519)")
    parser.add_argument("--propagate-trace", action=argparse.BooleanOptionalAction, default=None)


def _body(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    """The API's body from the options given, and lines to print once (generated secrets)."""
    body: dict[str, Any] = {"Name": args.name}
    shown: list[str] = []
    for option, field in (
        ("url", "Url"),
        ("authentication", "Authentication"),
        ("events", "Events"),
        ("entities", "Entities"),
        ("timeout", "Timeout"),
        ("retry_schedule", "RetrySchedule"),
        ("max_in_flight", "MaxInFlight"),
        ("propagate_trace", "PropagateTrace"),
    ):
        if getattr(args, option) is not None:
            body[field] = getattr(args, option)
    if args.headers is not None:
        headers = {}
        for pair in args.headers:
            name, sep, value = pair.partition("=")
            if not sep:
                raise CommandFailed(f"--header {name.strip()!r}: must be NAME=VALUE")
            headers[name.strip()] = value
        body["Headers"] = headers
    if args.signing_secret == GENERATE:
        args.signing_secret = new_signing_secret()
        shown.append(f"signing secret (shown once): {args.signing_secret}")
    if args.signing_secret is not None:
        body["SigningSecret"] = args.signing_secret
    if args.signing_key == GENERATE:
        args.signing_key = new_signing_key()
        shown.append(f"signing key (shown once, keep it if you need it again): {args.signing_key}")
    if args.signing_key is not None:
        body["SigningKey"] = args.signing_key
    return body, shown


@failing_as_exit_code
def run(args: argparse.Namespace) -> int:
    with database(args.config) as (settings, conn):
        if args.action in ("add", "update"):
            body, shown = _body(args)
            if args.action == "add":
                store.add(conn, settings, body)
            else:
                store.update(conn, settings, args.name, body)
            state = get_endpoint(conn, settings, args.name)
            print(f"endpoint {args.name} {args.action}ed: {state.to_json()['Url']}")
            for line in shown:
                print(line)
            return 0
        if args.action == "remove":
            store.remove(conn, settings, args.name)
            print(
                f"endpoint {args.name} removed: nothing more is sent to it; its deliveries are kept"
            )
            return 0
        if args.action == "rotate-secret":
            try:
                grace = GRACE(args.grace)
            except ValueError as exc:
                raise CommandFailed(f"--grace: {exc}") from None
            secret, until = store.rotate_secret(conn, settings, args.name, grace)
            print(f"new signing secret (shown once): {secret}")
            if until is not None:
                when = datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds")
                print(f"the previous secret keeps signing until {when}")
            return 0
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
        "NAME", "SOURCE", "STATE", "URL", "PENDING", "IN FLIGHT", "DEAD",
        "FAILING SINCE", "LAST SUCCESS", "LAST FAILURE",
    )  # fmt: skip
    rows = [
        (
            s.name,
            s.endpoint.source if s.endpoint is not None else "-",
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
