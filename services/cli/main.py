"""`wg-webhooks`: one small module per command; this file only parses and dispatches."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from services.config import ConfigError
from services.version import VERSION

# command -> (module under services.cli, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("up_cmd", "the whole stack in one terminal (embedded Postgres/Redis when unset)"),
    "migrate": ("migrate_cmd", "apply pending schema migrations"),
    "api": ("api_cmd", "the HTTP API (REST v1, operations, /healthz, /metrics)"),
    "relay": ("relay_cmd", "the outbox relay (any number may run)"),
    "worker": ("worker_cmd", "a Celery worker (extra args pass through to Celery)"),
    "collector": ("collector_cmd", "the peer status collector"),
    "flower": ("flower_cmd", "Celery Flower with authentication from config"),
    "sink": ("sink_cmd", "a local receiver that prints every webhook it gets"),
    "deliveries": ("deliveries_cmd", "inspect deliveries and their attempts"),
    "redeliver": ("redeliver_cmd", "put deliveries back to pending, due now"),
    "recover": ("recover_cmd", "bulk re-drive deliveries in a time window"),
    "reconcile": ("reconcile_cmd", "compare with a running wg-portal and apply each difference"),
    "endpoints": (
        "endpoints_cmd",
        "list, add, update, remove endpoints; rotate a secret; enable one",
    ),
}


class _Parser(argparse.ArgumentParser):
    """A usage error is one line naming the argument, exit 2 (`--help` shows the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"wg-webhooks: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wg-webhooks", description="Durable webhooks for WireGuard Portal.")
    parser.add_argument("--config", help="config file (else WG_WEBHOOKS_CONFIG, WG_PORTAL_CONFIG)")
    parser.add_argument("--version", action="version", version=f"wg-webhooks {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--config", dest="sub_config", help=argparse.SUPPRESS)
        module = importlib.import_module(f"services.cli.{module_name}")
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    args.config = getattr(args, "sub_config", None) or args.config
    if extra and args.command != "worker":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        code: int = args.run(args)
    except ConfigError as exc:
        print(f"wg-webhooks: config error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
