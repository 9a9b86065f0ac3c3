"""Configuration: wg-portal's file loads as it is; precedence; every bad value is named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.config import ConfigError, load_settings
from services.db.namespace import DEFAULT_SCHEMA, in_schema

# wg-portal's own sample config as it publishes it: a copy of
# ../shared/reference/wg-portal-config.yml.sample, so the test runs from any checkout
SAMPLE = Path(__file__).resolve().parent / "fixtures" / "wg-portal-config.yml.sample"
ROOT = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def test_wg_portal_sample_config_loads_unchanged() -> None:
    if not SAMPLE.exists():
        pytest.fail(f"the reference sample is missing at {SAMPLE}")
    settings = load_settings(str(SAMPLE), env={})
    assert settings.core.admin_user == "test@test.de"
    assert settings.core.admin_password == "secret"
    assert settings.webhook.endpoints == ()  # url "" = webhooks off
    assert settings.rekey_timeout_interval == 180.0


def test_defaults_match_wg_portal() -> None:
    settings = load_settings(None, env={})
    assert settings.core.admin_user == "admin@wgportal.local"
    assert settings.core.admin_api_token == ""
    assert settings.advanced.start_listen_port == 51820
    assert settings.advanced.start_cidr_v4 == "10.11.12.0/24"
    assert settings.statistics.data_collection_interval == 60.0
    assert settings.statistics.use_ping_checks is False
    assert settings.webhook.retention == 30 * 86400
    assert str(settings.web) == "127.0.0.1:8888"


def test_wg_portal_variables_set_defaults_and_the_file_wins(tmp_path: Path) -> None:
    env = {
        "WG_PORTAL_CORE_ADMIN_API_TOKEN": "from-env",
        "WG_PORTAL_CORE_ADMIN_USER": "env-admin@example.com",
        "WG_PORTAL_WEBHOOK_URL": "http://127.0.0.1:9000/env",
        "WG_PORTAL_WEBHOOK_TIMEOUT": "3s",
    }
    path = _write(
        tmp_path, "core:\n  admin_user: file-admin@example.com\nwebhook:\n  timeout: 7s\n"
    )
    settings = load_settings(path, env=env)
    assert settings.core.admin_user == "file-admin@example.com"  # the file wins
    assert settings.core.admin_api_token == "from-env"  # the variable fills what the file lacks
    assert settings.webhook.endpoints[0].url == "http://127.0.0.1:9000/env"
    assert settings.webhook.endpoints[0].timeout == 7.0


def test_variables_are_substituted_inside_the_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "webhook:\n  url: http://127.0.0.1:9000/hook\n  authentication: ${HOOK_AUTH}\n"
    )
    settings = load_settings(path, env={"HOOK_AUTH": "Bearer abc"})
    assert settings.webhook.endpoints[0].authentication == "Bearer abc"


def test_database_and_redis_urls_override_everything(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "database:\n  dsn: postgresql://file/db\nredis:\n  url: redis://file:6379/0\n"
    )
    settings = load_settings(
        path, env={"DATABASE_URL": "postgresql://env/db", "REDIS_URL": "redis://env:6379/1"}
    )
    # the DSN is bound to wg-webhooks' schema (tests/test_own_schema.py)
    assert settings.database_dsn == in_schema("postgresql://env/db", DEFAULT_SCHEMA)
    assert settings.redis_url == "redis://env:6379/1"
    from_file = load_settings(path, env={})
    assert from_file.database_dsn == in_schema("postgresql://file/db", DEFAULT_SCHEMA)
    assert from_file.redis_url == "redis://file:6379/0"


def test_secret_is_an_alias_of_authentication(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'webhook:\n  url: http://127.0.0.1:9000/\n  secret: "Basic dXNlcm5hbWU6cGFzc3dvcmQ="\n',
    )
    endpoint = load_settings(path, env={}).webhook.endpoints[0]
    assert endpoint.authentication == "Basic dXNlcm5hbWU6cGFzc3dvcmQ="


def test_endpoints_inherit_webhook_defaults_and_may_override(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
webhook:
  url: http://127.0.0.1:9000/default
  timeout: 4s
  max_in_flight: 8
  endpoints:
    - name: billing
      url: https://billing.example.com/hooks
      events: [create, delete]
      entities: [user, peer]
      max_in_flight: 2
""",
    )
    default, billing = load_settings(path, env={}).webhook.endpoints
    assert (default.name, default.timeout, default.max_in_flight) == ("default", 4.0, 8)
    assert (billing.name, billing.timeout, billing.max_in_flight) == ("billing", 4.0, 2)
    assert billing.wants("create", "user") and not billing.wants("update", "user")
    assert not billing.wants("create", "interface")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("webhook:\n  timeout: ten seconds\n", "webhook.timeout"),
        ("webhook:\n  timeout: -5s\n", "webhook.timeout"),
        ("webhook:\n  timeout: 9000h\n", "webhook.timeout"),
        ("webhook:\n  url: ftp://example.com/x\n", "webhook.url"),
        ("webhook:\n  url: example.com/hook\n", "webhook.url"),
        ("webhook:\n  retry_schedule: [5s, soon]\n", "webhook.retry_schedule"),
        ("webhook:\n  max_in_flight: 0\n", "webhook.max_in_flight"),
        ("webhook:\n  peer_state_format: json\n", "webhook.peer_state_format"),
        ("webhook:\n  signing_secret: not-base64!\n", "webhook.signing_secret"),
        (
            "webhook:\n  endpoints:\n    - name: a\n      url: http://127.0.0.1:1/\n"
            "      events: [created]\n",
            "webhook.endpoints[0].events",
        ),
        (
            "webhook:\n  endpoints:\n    - name: a\n      url: http://127.0.0.1:1/\n"
            "    - name: a\n      url: http://127.0.0.1:2/\n",
            "webhook.endpoints[1].name",
        ),
        ("webhook:\n  endpoints:\n    - name: a\n", "webhook.endpoints[0].url"),
        ("backend:\n  rekey_timeout_interval: 3 minutes\n", "backend.rekey_timeout_interval"),
        ("database:\n  type: oracle\n", "database.type"),
        ("database:\n  schema: Hooks-Two\n", "database.schema"),
        ("database:\n  schema: public\n", "database.schema"),
        ("database:\n  schema: pg_hooks\n", "database.schema"),
        ("web:\n  listening_address: 127.0.0.1:99999\n", "web.listening_address"),
        ("advanced:\n  start_cidr_v4: 10.0.0.0/33\n", "advanced.start_cidr_v4"),
        ("flower:\n  basic_auth: justuser\n", "flower.basic_auth"),
        ("statistics:\n  use_ping_checks: maybe\n", "statistics.use_ping_checks"),
    ],
)
def test_bad_value_is_refused_naming_its_key(tmp_path: Path, text: str, key: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ")


def test_bad_config_stops_the_cli_with_one_line_and_exit_code_2(tmp_path: Path) -> None:
    path = _write(tmp_path, "webhook:\n  timeout: 10 parsecs\n")
    result = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "--config", path, "migrate"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("wg-webhooks: config error: webhook.timeout:")


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(str(tmp_path / "nope.yaml"), env={})
    assert caught.value.key == "--config"
