"""Runtime endpoints in Postgres: add, update, remove, rotate, load.

Each change is one transaction that also bumps the endpoint generation and NOTIFYs
`webhook_endpoints`: the relays reload on the notification, the workers compare the generation
when they start a lease, and the outbox's fan-out reads the table in the recording statement,
so a change applies to every event recorded after it commits. Config-file endpoints are the
file's: changing one here is a Conflict.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import Connection
from psycopg.types.json import Jsonb

from services.config import Endpoint, Settings
from services.db.queries import query
from services.domain.errors import Conflict, Invalid, NotFound
from services.endpoints import rotation, sealing, spec
from services.endpoints.sealing import SealError
from services.masking import public_url
from services.signing_keys import new_signing_secret, public_key

log = logging.getLogger(__name__)

CHANNEL = "webhook_endpoints"


@dataclass(frozen=True)
class Loaded:
    """The runtime endpoints as of `generation` (those that could not be opened are left out)."""

    generation: int
    endpoints: tuple[Endpoint, ...]


def load(conn: Connection[Any], settings: Settings) -> Loaded:
    """Every runtime endpoint, opened and built with this process's defaults and environment."""
    rows = conn.execute(query("endpoints_load")).fetchall()
    generation = rows[0][0] if rows else 0
    configured = {e.name for e in settings.webhook.endpoints}
    endpoints = []
    for _, name, stored, sealed, _public_key, _names in rows:
        if name is None:
            continue
        if name in configured:  # the file is the truth for its names
            continue
        try:
            endpoints.append(_endpoint(name, stored, sealed, settings))
        except (SealError, Invalid) as exc:
            log.error("endpoint %s cannot be used, its deliveries wait: %s", name, exc)
    return Loaded(generation, tuple(endpoints))


def generation(conn: Connection[Any]) -> int:
    row = conn.execute(query("endpoints_generation")).fetchone()
    return int(row[0]) if row else 0


def _endpoint(name: str, stored: Mapping[str, Any], sealed: bytes, settings: Settings) -> Endpoint:
    secrets = sealing.unseal(sealed, settings.data_dir)
    previous = tuple((s, float(u)) for s, u in secrets.pop("previous_secrets", []))
    endpoint = spec.build({**stored, **secrets, "name": name}, settings)
    return dataclasses.replace(endpoint, previous_secrets=previous, source="api")


def _split(item: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(settings in the clear, secrets to seal), unset keys left out."""
    clear = {k: v for k, v in item.items() if v is not None and k not in spec.SECRET_KEYS}
    clear.pop("name", None)
    secret = {k: v for k, v in item.items() if v is not None and k in spec.SECRET_KEYS}
    return clear, secret


def _row(item: Mapping[str, Any], endpoint: Endpoint, sealed: bytes) -> dict[str, Any]:
    clear, _ = _split(item)
    return {
        "name": endpoint.name,
        "public_url": public_url(endpoint.url),
        "events": sorted(endpoint.events),
        "entities": sorted(endpoint.entities),
        "settings": Jsonb(clear),
        "header_names": [n for n, _ in endpoint.headers],
        "public_key": public_key(endpoint.signing_key) if endpoint.signing_key else "",
        "sealed": sealed,
    }


def _refuse_config_name(settings: Settings, name: str) -> None:
    if settings.webhook.endpoint(name) is not None:
        raise Conflict(
            f"endpoint {name!r} comes from the config file: change it there (the file is the "
            "truth for its endpoints; the API changes only endpoints it created)"
        )


def _seal(secrets: Mapping[str, Any], settings: Settings) -> bytes:
    try:
        return sealing.seal(secrets, settings.data_dir)
    except SealError as exc:
        raise Invalid(str(exc)) from None


def _changed(conn: Connection[Any], name: str) -> None:
    conn.execute(query("endpoints_changed"), {"name": name})


def add(conn: Connection[Any], settings: Settings, body: Mapping[str, Any]) -> Endpoint:
    """A new runtime endpoint from an API body (PascalCase); nothing is stored if it is bad."""
    item = spec.config_keys(body)
    if not item.get("name"):
        raise Invalid("Name: is required")
    _refuse_config_name(settings, str(item["name"]))
    endpoint = spec.check_new(item, settings)
    _, secrets = _split(item)
    sealed = _seal(secrets, settings)
    try:
        with conn.transaction():
            conn.execute(query("endpoints_insert"), _row(item, endpoint, sealed))
            _changed(conn, endpoint.name)
    except psycopg.errors.UniqueViolation:
        raise Conflict(f"endpoint {endpoint.name!r} exists already (PUT changes it)") from None
    return dataclasses.replace(endpoint, source="api")


def _stored(
    conn: Connection[Any], settings: Settings, name: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(settings, secrets) of a runtime endpoint, locked until the transaction ends."""
    _refuse_config_name(settings, name)
    row = conn.execute(query("endpoints_get"), {"name": name}).fetchone()
    if row is None:
        raise NotFound(f"no endpoint named {name!r}")
    try:
        secrets = sealing.unseal(row[2], settings.data_dir)
    except SealError as exc:
        raise Conflict(f"endpoint {name!r} cannot be opened: {exc}") from None
    return dict(row[1]), secrets


def update(
    conn: Connection[Any], settings: Settings, name: str, body: Mapping[str, Any]
) -> Endpoint:
    """Change the fields `body` names (null = back to the default); the others are kept."""
    changes = spec.config_keys(body)
    if changes.get("name") not in (None, name):
        raise Invalid(f"Name: {changes['name']!r} differs from the endpoint in the path")
    changes.pop("name", None)
    with conn.transaction():
        clear, secrets = _stored(conn, settings, name)
        previous = secrets.pop("previous_secrets", [])
        if "signing_secret" in changes:  # set by hand: the rotation history goes with it
            previous = []
        item = {**clear, **secrets, **changes, "name": name}
        endpoint = spec.check_new(item, settings)
        _, new_secrets = _split(item)
        new_secrets["previous_secrets"] = previous
        conn.execute(query("endpoints_update"), _row(item, endpoint, _seal(new_secrets, settings)))
        _changed(conn, name)
    return dataclasses.replace(endpoint, source="api")


def remove(conn: Connection[Any], settings: Settings, name: str) -> None:
    """Delete it; its deliveries stay, waiting under its name (re-added, it resumes them)."""
    _refuse_config_name(settings, name)
    with conn.transaction():
        if conn.execute(query("endpoints_delete"), {"name": name}).fetchone() is None:
            raise NotFound(f"no endpoint named {name!r}")
        _changed(conn, name)


def rotate_secret(
    conn: Connection[Any], settings: Settings, name: str, grace: float
) -> tuple[str, float | None]:
    """A new `whsec_` secret signs from now on; the one it replaces signs beside it for `grace`
    seconds. Returns the new secret (shown once) and when the previous one stops (None: none)."""
    now = time.time()
    with conn.transaction():
        clear, secrets = _stored(conn, settings, name)
        replaced = str(secrets.get("signing_secret") or "")
        previous = rotation.rotate(
            replaced,
            [(s, float(u)) for s, u in secrets.get("previous_secrets", [])],
            now,
            grace,
        )
        secret = new_signing_secret()
        secrets["signing_secret"] = secret
        secrets["previous_secrets"] = [list(p) for p in previous]
        item = {**clear, **{k: v for k, v in secrets.items() if k in spec.SECRET_KEYS}}
        endpoint = spec.build({**item, "name": name}, settings)
        conn.execute(query("endpoints_update"), _row(item, endpoint, _seal(secrets, settings)))
        _changed(conn, name)
    return secret, (now + grace if replaced else None)
