"""The version of wg-webhooks, from the installed package's metadata (pyproject's `version`)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def _installed() -> str:
    try:
        return version("wg-webhooks")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


VERSION = _installed()
