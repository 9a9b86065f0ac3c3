"""The configuration file: where it is, `${VAR}` substitution, YAML, and unknown keys.

What the keys mean and how they are read is services.config (the table); this module only finds
and parses the file, and refuses a key no table knows, naming the closest one.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from services.config_values import ConfigError
from services.envsubst import SubstitutionError, substitute


def find_config_file(explicit: str | None, env: Mapping[str, str]) -> Path | None:
    """`--config`, else WG_WEBHOOKS_CONFIG, else WG_PORTAL_CONFIG, else the usual places."""
    for candidate, key in (
        (explicit, "--config"),
        (env.get("WG_WEBHOOKS_CONFIG"), "WG_WEBHOOKS_CONFIG"),
        (env.get("WG_PORTAL_CONFIG"), "WG_PORTAL_CONFIG"),
    ):
        if candidate:
            path = Path(candidate)
            if not path.is_file():
                raise ConfigError(key, f"config file {candidate} does not exist")
            return path
    for name in ("config/config.yaml", "config/config.yml", "config.yml"):
        if Path(name).is_file():
            return Path(name)
    return None


def read_file(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    try:
        text = substitute(path.read_text(encoding="utf-8"), env)
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read config file: {exc.strerror}") from None
    except SubstitutionError as exc:
        raise ConfigError(str(path), str(exc)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(str(path), f"not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "the top level must be a mapping of sections")
    return data


def refuse_unknown(where: str, given: Mapping[str, Any], known: set[str]) -> None:
    """A key not in `known` stops start-up, naming the closest known key (a typo, usually)."""
    for name in sorted(set(map(str, given)) - known):
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(sorted(known))}"
        raise ConfigError(f"{where}.{name}", f"unknown key ({hint})")
