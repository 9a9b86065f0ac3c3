"""Endpoint health: failing streaks, disabling after `webhook.disable_after`, and enabling again.

Workers fold each batch's outcomes into `webhook_endpoints` in the same transaction as the
results (`record_outcomes`). An endpoint whose attempts have been nothing but failures for
`disable_after` is disabled: the relay stops claiming for it, its deliveries wait (none is
dropped or marked dead) until an operator enables it again. `disable_after: 0` never disables.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from psycopg import Connection

from services.config import Endpoint, Settings
from services.db.queries import query
from services.domain import validation
from services.domain.errors import NotFound
from services.durations import format_duration
from services.endpoints import live
from services.endpoints.rotation import active_secrets
from services.masking import public_url
from services.payloads.gotime import go_time_or_none
from services.signing_keys import public_key

MASK = "***"


class Counts(NamedTuple):
    """One batch's outcomes for one endpoint: 2xx answers, and everything else."""

    delivered: int
    failed: int


def record_outcomes(
    conn: Connection[Any], counts: Mapping[str, tuple[int, int]], disable_after: float
) -> list[str]:
    """Fold one batch's (delivered, failed) counts per endpoint into its health.

    A success ends the failing streak; a batch of only failures starts one (or continues it);
    a streak older than `disable_after` seconds disables the endpoint. Returns the endpoints
    this call disabled (log them). Run it in the transaction that records the results, as its
    last statement: it locks each endpoint's health row until commit.
    """
    params = outcomes_params(counts, disable_after)
    if params is None:
        return []
    return [row[0] for row in conn.execute(query("endpoint_outcomes"), params).fetchall()]


def outcomes_params(
    counts: Mapping[str, tuple[int, int]], disable_after: float
) -> dict[str, Any] | None:
    """The parameters of `endpoint_outcomes` for `counts` (None: nothing to fold), for a
    caller that runs it in a pipeline of its own (`workers.drain`)."""
    names = sorted(name for name, (ok, failed) in counts.items() if ok > 0 or failed > 0)
    if not names:
        return None
    return {
        "names": names,
        "ok": [int(counts[n][0]) for n in names],
        "failed": [int(counts[n][1]) for n in names],
        "disable_after": disable_after,
        "reason": f"nothing but failures for {format_duration(disable_after)} "
        "(webhook.disable_after)",
    }


@dataclass(frozen=True)
class EndpointState:
    name: str
    endpoint: Endpoint | None  # None: deliveries or health exist, but it is no longer configured
    disabled_at: datetime | None = None
    disabled_reason: str = ""
    failing_since: datetime | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    pending: int = 0
    in_flight: int = 0
    dead: int = 0

    @property
    def state(self) -> str:
        if self.endpoint is None:
            return "removed"
        return "disabled" if self.disabled_at is not None else "enabled"

    def to_json(self) -> dict[str, Any]:
        endpoint = self.endpoint
        return {
            "Name": self.name,
            "Url": public_url(endpoint.url) if endpoint is not None else None,
            "Configured": endpoint is not None,
            **settings_json(endpoint),
            "Enabled": self.disabled_at is None,
            "Events": sorted(endpoint.events) if endpoint is not None else [],
            "Entities": sorted(endpoint.entities) if endpoint is not None else [],
            "DisabledAt": go_time_or_none(self.disabled_at),
            "DisabledReason": self.disabled_reason,
            "FailingSince": go_time_or_none(self.failing_since),
            "LastSuccessAt": go_time_or_none(self.last_success_at),
            "LastFailureAt": go_time_or_none(self.last_failure_at),
            "Pending": self.pending,
            "InFlight": self.in_flight,
            "Dead": self.dead,
        }


def settings_json(endpoint: Endpoint | None) -> dict[str, Any]:
    """An endpoint's settings as the API shows them: secrets masked or counted, never shown."""
    if endpoint is None:  # removed: its deliveries and health remain, waiting under its name
        return {"Source": None, "Removed": True}
    return {
        "Source": endpoint.source,
        "Removed": False,
        "Timeout": format_duration(endpoint.timeout),
        "RetrySchedule": [format_duration(step) for step in endpoint.retry_schedule],
        "MaxInFlight": endpoint.max_in_flight,
        "Authentication": MASK if endpoint.authentication else "",
        "Headers": {name: MASK for name, _ in endpoint.headers},
        "SigningSecrets": len(active_secrets(endpoint, time.time())),
        "SigningPublicKey": public_key(endpoint.signing_key) if endpoint.signing_key else "",
        "PropagateTrace": endpoint.propagate_trace,
    }


def list_endpoints(conn: Connection[Any], settings: Settings) -> list[EndpointState]:
    """Every endpoint (the config file's, then the runtime ones), then any other that still
    has health or deliveries: a removed one."""
    health = {row[0]: row[1:] for row in conn.execute(query("endpoint_health")).fetchall()}
    backlog: dict[str, dict[str, int]] = {}
    for name, status, count in conn.execute(query("endpoint_backlog")).fetchall():
        backlog.setdefault(name, {})[status] = count
    configured = {e.name: e for e in live.current(conn, settings)}
    names = list(configured) + sorted((set(health) | set(backlog)) - set(configured))
    states = []
    for name in names:
        disabled_at, reason, failing_since, last_success, last_failure = health.get(
            name, (None, "", None, None, None)
        )
        counts = backlog.get(name, {})
        states.append(
            EndpointState(
                name=name,
                endpoint=configured.get(name),
                disabled_at=disabled_at,
                disabled_reason=reason,
                failing_since=failing_since,
                last_success_at=last_success,
                last_failure_at=last_failure,
                pending=counts.get("pending", 0),
                in_flight=counts.get("leased", 0),
                dead=counts.get("dead", 0),
            )
        )
    return states


def get_endpoint(conn: Connection[Any], settings: Settings, name: str) -> EndpointState:
    for state in list_endpoints(conn, settings):
        if state.name == name:
            return state
    raise NotFound(f"no endpoint named {name!r}{_known(settings)}")


def enable(conn: Connection[Any], settings: Settings, name: str) -> bool:
    """Lift a disable and forget the failing streak; True if it was disabled. Wakes the relays."""
    try:
        validation.text(name)
    except ValueError:  # NUL or a lone surrogate: no endpoint is named so, and Postgres says why
        raise NotFound(f"no endpoint named {name!r}{_known(settings)}") from None
    with conn.transaction():
        row = conn.execute(query("enable_endpoint"), {"name": name}).fetchone()
    if row is None and name not in {e.name for e in live.current(conn, settings)}:
        raise NotFound(f"no endpoint named {name!r}{_known(settings)}")
    return row is not None and row[0] is not None


def disable(conn: Connection[Any], settings: Settings, name: str, reason: str) -> bool:
    """An operator disables an endpoint; True if it was enabled. Its deliveries wait, none drop."""
    if settings.webhook.endpoint(name) is None:
        raise NotFound(f"no endpoint named {name!r}{_known(settings)}")
    with conn.transaction():
        row = conn.execute(query("disable_endpoint"), {"name": name, "reason": reason}).fetchone()
    return row is not None


def _known(settings: Settings) -> str:
    names = [e.name for e in settings.webhook.endpoints]
    return f" (configured: {', '.join(names)})" if names else " (none is configured)"
