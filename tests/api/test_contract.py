"""wg-portal's own Swagger file as the contract, checked by schemathesis against the live API.

Every one of the file's 25 operations gets generated requests: schema-conforming ones, the same
with ids of seeded entities, and valid bodies carrying generated values, so the 200 paths are
exercised as well as the 400/404 ones. Each response must not be a 5xx and
must match the schema the spec declares for its status.

The spec has defects that wg-portal itself violates; `_patched` works around each, and
docs/compatibility.md lists them. The run is derandomized (the same cases every time) and bounded
(EXAMPLES per operation).
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import psycopg
import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.api.conftest import ADMIN, KEYS, Api, interface_body, peer_body

# wg-portal's file as published (reference/wg-portal-api-v1.swagger.yaml), unmodified.
SPEC = Path(__file__).with_name("wg-portal-api-v1.swagger.yaml")
EXAMPLES = 40
AUTH = {"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()}
# Deletes last, so the seeded entities exist for everything else; peers before their owners.
ORDER = {"get": 0, "put": 1, "post": 1, "delete": 2}
DELETE_ORDER = {"/peer/by-id/{id}": 0, "/user/by-id/{id}": 1, "/interface/by-id/{id}": 2}


def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return spec


def _patched(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with the defects wg-portal's own responses violate worked around."""
    spec = copy.deepcopy(spec)
    definitions = spec["definitions"]
    # 1. PeerMetrics times are *time.Time without omitempty in Go: null when never seen.
    for key in ("LastPing", "LastHandshake", "LastSessionStart"):
        definitions["models.PeerMetrics"]["properties"][key]["x-nullable"] = True
    # 2. User.ApiToken is "" when the user has no token, and on every bulk read (minLength 32).
    del definitions["models.User"]["properties"]["ApiToken"]["minLength"]
    # 3. Interface.ListenPort and Mtu are 0 when unset (Go's omitempty binding), minimum 1.
    for key in ("ListenPort", "Mtu"):
        definitions["models.Interface"]["properties"][key]["minimum"] = 0
    # 4. No `consumes` anywhere, though every body is JSON (wg-portal decodes it as JSON).
    spec["consumes"] = ["application/json"]
    return spec


@pytest.fixture
def seeded(api: Api, db: psycopg.Connection[Any]) -> Api:
    api.ok("POST", "/interface/new", interface_body())
    api.ok(
        "POST",
        "/user/new",
        {"Identifier": "alice", "Email": "alice@example.com", "ApiToken": "a" * 32},
    )
    api.ok("POST", "/peer/new", peer_body("alpha", UserIdentifier="alice"))
    api.ok("POST", "/peer/new", peer_body("beta", Addresses=["10.11.12.3/32"]))
    db.execute(
        "INSERT INTO peer_status (peer_identifier, interface_identifier, bytes_received,"
        " last_handshake) VALUES (%s, 'wg0', 42, now())",
        (KEYS["alpha"][1],),
    )
    return api


def _known_queries(path: str) -> list[dict[str, str]]:
    if path.startswith("/provisioning/data/peer-"):
        return [{"PeerId": key} for key in _known_ids("/peer/")]
    if path == "/provisioning/data/user-info":
        return [{}, {"UserId": "alice"}, {"Email": "alice@example.com"}, {"UserId": "bob"}]
    return []


def _known_ids(path: str) -> list[str]:
    if path.startswith(("/interface/", "/metrics/by-interface/", "/peer/by-interface/")):
        return ["wg0", "wg1"]
    if path.startswith("/peer/prepare/"):
        return ["wg0"]
    if path.startswith(("/user/", "/metrics/by-user/", "/peer/by-user/")):
        return ["alice", "admin@wgportal.local", "bob"]
    return [KEYS["alpha"][1], KEYS["beta"][1], KEYS["gamma"][1]]


# Printable text of any script: values a client would plausibly send.
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=60)


def _valid_bodies(
    api: Api, method: str, path: str
) -> tuple[st.SearchStrategy[dict[str, Any]], str | None] | None:
    """A valid body for a write operation with generated values in it, and its path id."""
    if (method, path) == ("post", "/interface/new"):
        prepared = api.ok("GET", "/interface/prepare")
        names = st.from_regex(r"wg[0-9]{1,4}", fullmatch=True)
        return st.builds(
            lambda name, display: {**prepared, "Identifier": name, "DisplayName": display},
            names,
            TEXT,
        ), None
    if (method, path) == ("put", "/interface/by-id/{id}"):
        current = api.ok("GET", "/interface/by-id/wg0")
        return st.builds(lambda name: {**current, "DisplayName": name}, TEXT), "wg0"
    if (method, path) == ("post", "/peer/new"):
        prepared = [api.ok("GET", "/peer/prepare/wg0") for _ in range(10)]
        return st.builds(
            lambda peer, notes: {**peer, "Notes": notes}, st.sampled_from(prepared), TEXT
        ), None
    if (method, path) == ("put", "/peer/by-id/{id}"):
        current = api.ok("GET", "/peer/by-id/" + KEYS["alpha"][1])
        return st.builds(lambda notes: {**current, "Notes": notes}, TEXT), KEYS["alpha"][1]
    if (method, path) == ("post", "/user/new"):
        return st.builds(
            lambda name: {"Identifier": name.strip() or "x", "Firstname": name}, TEXT
        ), None
    if (method, path) == ("post", "/provisioning/new-peer"):
        return st.builds(
            lambda name: {"InterfaceIdentifier": "wg0", "DisplayName": name}, TEXT
        ), None
    if (method, path) == ("put", "/user/by-id/{id}"):
        return st.builds(lambda name: {"Identifier": "alice", "Lastname": name}, TEXT), "alice"
    return None


def test_the_api_honours_wg_portals_swagger(seeded: Api) -> None:
    schema = schemathesis.openapi.from_dict(_patched(_spec()), config=SchemathesisConfig())
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda op: (ORDER[op.method.lower()], DELETE_ORDER.get(op.path, 0), op.path),
    )
    assert len(operations) == 25
    session = requests.Session()
    base_url = seeded.url + "/api/v1"
    cases: dict[str, int] = {}
    statuses: dict[str, dict[int, int]] = {}

    for operation in operations:
        method, path = operation.method.lower(), operation.path
        strategies = [operation.as_strategy(headers=AUTH)]
        if "{id}" in path:
            strategies.append(
                st.sampled_from(_known_ids(path)).flatmap(
                    lambda id_, op=operation: op.as_strategy(
                        headers=AUTH, path_parameters={"id": id_}
                    )
                )
            )
        queries = _known_queries(path)
        if queries:
            strategies.append(
                st.sampled_from(queries).flatmap(
                    lambda query, op=operation: op.as_strategy(headers=AUTH, query=query)
                )
            )
        valid = _valid_bodies(seeded, method, path)
        if valid is not None:
            bodies, id_ = valid
            strategies.append(
                bodies.flatmap(
                    lambda body, op=operation, id_=id_: op.as_strategy(
                        headers=AUTH,
                        body=body,
                        path_parameters={"id": id_} if id_ else None,
                    )
                )
            )

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies))
        def run(case: Any) -> None:
            label = case.operation.label
            cases[label] = cases.get(label, 0) + 1
            response = case.call(base_url=base_url, session=session)
            statuses.setdefault(label, {}).setdefault(response.status_code, 0)
            statuses[label][response.status_code] += 1
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )

        run()

    total = sum(cases.values())
    print(f"\nschemathesis: {total} cases over {len(cases)} operations")
    for label, by_status in sorted(statuses.items()):
        print(f"  {label}: {dict(sorted(by_status.items()))}")
    assert len(cases) == 25
    assert total >= 25 * EXAMPLES // 2


def test_every_operation_of_the_spec_is_served_and_documented(api: Api) -> None:
    served = requests.get(api.url + "/openapi.json", timeout=10).json()["paths"]
    for path, item in _patched(_spec())["paths"].items():
        assert set(item) <= set(served.get("/api/v1" + path, {})), f"{path} is not served"
