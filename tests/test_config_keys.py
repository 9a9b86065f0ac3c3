"""The configuration table: each default stated once, unknown keys refused with the closest known
one, wg-portal's own keys tolerated, `${VAR:-default}` as wg-portal's envsubst does it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from services.config import KEYS, ConfigError, Endpoint, Settings, load_settings
from services.envsubst import substitute
from services.wg_portal_keys import WG_PORTAL_KEYS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "fixtures" / "wg-portal-config.yml.sample"


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def _refused(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(_write(tmp_path, text), env={})
    return caught.value


def test_the_dataclass_defaults_are_what_an_empty_config_reads() -> None:
    loaded = load_settings(None, env={})
    declared = Settings(data_dir=loaded.data_dir)
    assert loaded == declared
    endpoint = load_settings(None, env={"WG_PORTAL_WEBHOOK_URL": "http://127.0.0.1:1/"})
    assert endpoint.webhook.endpoints == (Endpoint(name="default", url="http://127.0.0.1:1/"),)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "webhook:\n  max_in_fligth: 4\n",
            "webhook.max_in_fligth: unknown key (did you mean max_in_flight?)",
        ),
        ("core:\n  admin_usr: a@b.c\n", "core.admin_usr: unknown key (did you mean admin_user?)"),
        (
            "advanced:\n  log_jsn: true\n",
            "advanced.log_jsn: unknown key (did you mean log_json?)",
        ),
        (
            "webhook:\n  endpoints:\n    - name: a\n      url: http://127.0.0.1:1/\n"
            "      propagate_trac: true\n",
            "webhook.endpoints[0].propagate_trac: unknown key (did you mean propagate_trace?)",
        ),
    ],
)
def test_an_unknown_key_in_a_section_we_read_names_the_closest_known_key(
    tmp_path: Path, text: str, line: str
) -> None:
    assert str(_refused(tmp_path, text)) == line


def test_an_unknown_key_far_from_any_known_one_lists_the_known_keys(tmp_path: Path) -> None:
    error = _refused(tmp_path, "redis:\n  zzzzzz: 1\n")
    assert str(error) == "redis.zzzzzz: unknown key (known: url)"


def test_sections_we_do_not_read_are_ignored_whatever_they_hold(tmp_path: Path) -> None:
    text = "mail:\n  hots: x\nauth:\n  anything: [1, 2]\nwebhok:\n  url: http://x/\n"
    assert load_settings(_write(tmp_path, text), env={}).webhook.endpoints == ()


def test_every_key_wg_portal_has_in_a_section_we_read_loads(tmp_path: Path) -> None:
    ours = {(k.section, k.name) for k in KEYS}  # those are checked by their own coercion
    config = {
        section: {key: "" for key in keys if (section, key) not in ours}
        for section, keys in WG_PORTAL_KEYS.items()
    }
    settings = load_settings(_write(tmp_path, yaml.safe_dump(config)), env={})
    assert settings.core.admin_user == "admin@wgportal.local"


def test_the_wg_portal_sample_and_its_keys_load_unchanged() -> None:
    settings = load_settings(str(SAMPLE), env={})
    assert settings.advanced.log_level == "DEBUG"  # wg-portal's "trace"
    sample = yaml.safe_load(SAMPLE.read_text())
    ours = {(k.section, k.name) for k in KEYS}
    for section, keys in sample.items():
        if section in WG_PORTAL_KEYS:
            for key in keys:
                assert key in WG_PORTAL_KEYS[section] or (section, key) in ours, (section, key)


def test_the_keys_other_parts_wire_later_are_known_and_checked(tmp_path: Path) -> None:
    text = """
database: {schema: hooks}
ingest: {authentication: "Bearer x"}
portal: {url: "http://127.0.0.1:8888", api_user: admin, api_token: t, reconcile_interval: 1m}
advanced: {log_level: warn, log_json: true}
webhook:
  headers: {X-Tenant: acme}
  endpoints:
    - {name: a, url: "http://127.0.0.1:1/", headers: {X-A: b}, signing_key: ""}
    - {name: b, url: "http://127.0.0.1:2/", propagate_trace: true}
"""
    settings = load_settings(_write(tmp_path, text), env={})
    assert (settings.advanced.log_level, settings.advanced.log_json) == ("WARNING", True)
    assert _refused(tmp_path, "portal:\n  reconcile_interval: soon\n").key == (
        "portal.reconcile_interval"
    )
    assert _refused(tmp_path, "advanced:\n  log_level: loud\n").key == "advanced.log_level"


def test_log_keys_come_from_wg_portal_variables(tmp_path: Path) -> None:
    env = {"WG_PORTAL_ADVANCED_LOG_LEVEL": "error", "WG_PORTAL_ADVANCED_LOG_JSON": "true"}
    advanced = load_settings(None, env=env).advanced
    assert (advanced.log_level, advanced.log_json) == ("ERROR", True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${HOOK_URL:-http://127.0.0.1:9/fallback}", "http://127.0.0.1:9/fallback"),
        ("${EMPTY:-http://127.0.0.1:9/fallback}", "http://127.0.0.1:9/fallback"),
        ("${EMPTY-http://127.0.0.1:9/unset-only}", ""),
        ("${SET:-http://127.0.0.1:9/fallback}", "http://127.0.0.1:9/set"),
        ("$SET", "http://127.0.0.1:9/set"),
        ("${UNSET=$SET}", "http://127.0.0.1:9/set"),
    ],
)
def test_variables_with_defaults_are_substituted_as_wg_portal_does(
    tmp_path: Path, text: str, expected: str
) -> None:
    env = {"SET": "http://127.0.0.1:9/set", "EMPTY": ""}
    settings = load_settings(_write(tmp_path, f"webhook:\n  url: {text}\n"), env=env)
    assert [e.url for e in settings.webhook.endpoints] == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pa$$word", "pa$word"),
        ("$$HOME", "$HOME"),
        ("${SET+yes}|${UNSET+yes}", "yes|"),
        ("${_} and $_", "${_} and $_"),
        ("cost: 5 $", "cost: 5 $"),
    ],
)
def test_dollar_escapes_and_plain_dollars(text: str, expected: str) -> None:
    assert substitute(text, {"SET": "x"}) == expected


def test_an_unclosed_substitution_names_the_file_and_line(tmp_path: Path) -> None:
    error = _refused(tmp_path, "core:\n  admin_user: ${ADMIN\n")
    assert str(error).endswith("closing brace expected in ${...} at line 2")


def test_a_typo_stops_the_cli_with_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "webhook:\n  max_in_fligth: 4\n")
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "--config", path, "migrate"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line == (
        "wg-webhooks: config error: "
        "webhook.max_in_fligth: unknown key (did you mean max_in_flight?)"
    )
