"""What the API's handlers share: settings and the pool, hung on the app, not global."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from psycopg import Connection
from psycopg_pool import ConnectionPool

from services.api.brake import FailedAuthBrake
from services.config import Settings


@dataclass
class ApiState:
    settings: Settings
    pool: ConnectionPool[Connection[Any]]
    brake: FailedAuthBrake = field(default_factory=FailedAuthBrake)


def state_of(request: Request) -> ApiState:
    state: ApiState = request.app.state.wg
    return state
