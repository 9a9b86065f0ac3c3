"""`wg-webhooks redeliver ID...`: put deliveries (any status) back to pending, due now."""

from __future__ import annotations

import argparse
import sys

from services import redrive
from services.cli.operator_session import database, failing_as_exit_code
from services.endpoint_health import list_endpoints


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", type=int, nargs="+", metavar="ID", help="delivery ids")


@failing_as_exit_code
def run(args: argparse.Namespace) -> int:
    with database(args.config) as (settings, conn):
        previous = redrive.redeliver(conn, args.ids)
        endpoints = {
            redrive.get_delivery(conn, delivery_id).delivery.endpoint for delivery_id in previous
        }
        states = {s.name: s for s in list_endpoints(conn, settings) if s.name in endpoints}
    for delivery_id, status in previous.items():
        print(f"delivery {delivery_id}: {status} -> pending")
    for name in sorted(endpoints):
        state = states.get(name)
        if state is None or state.endpoint is None:
            print(
                f"note: endpoint {name} is not configured: its deliveries wait until it is",
                file=sys.stderr,
            )
        elif state.disabled_at is not None:
            print(
                f"note: endpoint {name} is disabled: its deliveries wait until"
                f" `wg-webhooks endpoints enable {name}`",
                file=sys.stderr,
            )
    return 0
