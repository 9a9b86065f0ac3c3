"""Any string in any field of the operator routes, the CLI's filters and Flower's recover task:
a 400 / exit 2 / failed task naming the field, never a 5xx, a traceback or a crash.

Before the checks, NUL bytes reached Postgres (`identifier=%00`: 500) and so did absurd windows
(`since=99999999h` is 11,000 years: `now() - interval` overflows, 500 / a traceback)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services import redrive
from services.cli.main import main as cli_main
from services.config import Settings
from services.domain.errors import Invalid
from tests.operations.cli import wg_webhooks
from tests.security.conftest import Client

BASE = "/webhooks"
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# any text (NUL, controls, bidi, astral), raw bytes that are not UTF-8, and the known offenders
anything = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=40).map(lambda s: quote(s, safe="")),
    st.binary(max_size=40).map(lambda b: quote_from_bytes(b, safe="")),
    st.sampled_from(["%00", "99999999h", "9" * 400 + "h", "1e400h", "-1h", "0", "NaN", ""]),
)
any_json = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(["\x00", "99999999h", "9" * 400 + "h", "nan", "-5m"]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.lists(st.text(max_size=3), max_size=2),
)


def _refused_cleanly(answer: requests.Response, caplog: pytest.LogCaptureFixture) -> None:
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert set(answer.json()) == {"Code", "Message"}, answer.text
    crashes = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not crashes, crashes[0].getMessage()


@pytest.mark.parametrize("field", ["status", "endpoint", "entity", "identifier", "since", "limit"])
def test_any_value_of_a_list_filter_is_answered_without_a_5xx(
    field: str, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    @EXAMPLES
    @given(value=anything)
    def check(value: str) -> None:
        answer = client.request("GET", f"{BASE}/deliveries?{field}={value}")
        _refused_cleanly(answer, caplog)

    check()


@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("GET", "/deliveries/{}"),
        ("POST", "/deliveries/{}/redeliver"),
        ("POST", "/endpoints/{}/enable"),
    ],
)
def test_any_path_id_is_answered_without_a_5xx(
    method: str, template: str, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    @EXAMPLES
    @given(value=anything.filter(lambda v: v not in ("", ".", "..")))
    def check(value: str) -> None:
        answer = client.request(method, f"{BASE}{template.format(value)}")
        _refused_cleanly(answer, caplog)

    check()


@pytest.mark.parametrize("field", ["Since", "Endpoint", "Status"])
def test_any_value_in_a_recover_body_is_answered_without_a_5xx(
    field: str, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    @EXAMPLES
    @given(value=any_json)
    def check(value: Any) -> None:
        body = {"Since": "1h", field: value}
        answer = client.request("POST", f"{BASE}/recover", json=body)
        _refused_cleanly(answer, caplog)

    check()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("identifier=%00", "identifier"),
        ("endpoint=a%00b", "endpoint"),
        ("entity=%00", "entity"),
        ("since=99999999h", "since"),
        ("since=" + "9" * 400 + "h", "since"),
    ],
)
def test_the_reported_filters_are_a_400_naming_the_field(
    query: str, field: str, client: Client
) -> None:
    answer = client.request("GET", f"{BASE}/deliveries?{query}")
    assert answer.status_code == 400, answer.text
    assert answer.json()["Message"].startswith(f"{field}: ")


def test_a_recover_over_an_absurd_window_is_a_400_naming_since(client: Client) -> None:
    answer = client.request("POST", f"{BASE}/recover", json={"Since": "99999999h"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["Message"].startswith("Since: ")


# --- the CLI --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["deliveries", "list", "--since", "99999999h"],
        ["recover", "--since", "99999999h"],
        ["deliveries", "list", "--limit", "0"],
    ],
    ids=" ".join,
)
def test_the_cli_refuses_an_absurd_filter_with_one_line_and_exit_2(
    args: list[str], config_factory: Callable[..., tuple[Path, Settings]]
) -> None:
    config, _ = config_factory({"url": "http://127.0.0.1:9/hook"})
    done = wg_webhooks(config, *args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    option = next(a for a in args if a.startswith("--"))
    assert line.startswith(f"wg-webhooks: argument {option}: ")


@pytest.mark.parametrize(
    "argv",
    [
        ["deliveries", "list", "--since"],
        ["deliveries", "list", "--identifier"],
        ["deliveries", "list", "--endpoint"],
        ["deliveries", "list", "--entity"],
        ["deliveries", "list", "--limit"],
        ["recover", "--since"],
        ["recover", "--since", "1h", "--endpoint"],
    ],
    ids=" ".join,
)
def test_any_cli_filter_value_exits_cleanly(
    argv: list[str],
    config_factory: Callable[..., tuple[Path, Settings]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In-process `main` (what the console script runs): an exception out of it is a traceback."""
    config, _ = config_factory({"url": "http://127.0.0.1:9/hook"})

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(value=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30))
    def check(value: str) -> None:
        try:
            code = cli_main(["--config", str(config), *argv, value])
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        err = capsys.readouterr().err
        assert code in (0, 1, 2), err
        assert "Traceback" not in err
        if code:
            assert len(err.strip().splitlines()) == 1, err

    check()


# --- Flower's recover task (the same checks, in redrive) -----------------------------------------


def test_recover_and_filters_refuse_an_absurd_window_or_nul_before_postgres() -> None:
    with pytest.raises(Invalid, match=r"^since: "):
        redrive.Filters(since=99999999 * 3600.0)
    with pytest.raises(Invalid, match=r"^identifier: "):
        redrive.Filters(identifier="al\x00ice")
    with pytest.raises(Invalid, match=r"^since: "):
        redrive.check_since(float("inf"), "since")


def test_flowers_recover_task_fails_with_a_message_on_a_bad_since(
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    from workers import operator_tasks

    config_factory({"url": "http://127.0.0.1:9/hook"})  # the task reads the same environment
    for since, message in (
        ("99999999h", "since: "),
        (["1h"], "since: "),
        ("1h\x00", "since: "),
    ):
        with pytest.raises(Invalid, match=rf"^{message}"):
            operator_tasks.recover.run(since)
    with pytest.raises(Invalid, match=r"^endpoint: "):
        operator_tasks.recover.run("1h", endpoint="de\x00fault")
    assert json.dumps(operator_tasks.recover.run("1h")) == "0"
