"""`wg-webhooks flower`: Celery Flower on the project's app, with basic auth from config."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

from services.cli import context
from services.config import ConfigError, Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def flower_argv(settings: Settings) -> list[str]:
    if not settings.flower_basic_auth and not is_loopback(settings.flower.host):
        raise ConfigError(
            "flower.basic_auth",
            f"is required when Flower listens on {settings.flower} (not loopback): "
            "Flower can re-drive deliveries",
        )
    argv = [
        sys.executable, "-m", "workers.flower_server", "-A", "workers.app", "flower",
        f"--address={settings.flower.host}", f"--port={settings.flower.port}",
        "--purge_offline_workers=60",
    ]  # fmt: skip
    return argv


def run(args: argparse.Namespace) -> int:
    settings, _ = context.with_servers(context.load(args.config))
    argv = flower_argv(settings)
    if settings.flower_basic_auth:
        # Through the environment, not argv: any local user can read a command line with `ps`.
        os.environ["FLOWER_BASIC_AUTH"] = settings.flower_basic_auth
    os.execv(sys.executable, argv)  # noqa: S606
    return 0  # not reached
