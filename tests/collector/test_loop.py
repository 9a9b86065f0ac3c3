"""The collector's cycle around the database: reading `wg`, failing well, and concurrency."""

from __future__ import annotations

import logging
import shlex
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from services.collector.dump import parse_dump
from services.collector.loop import PING_CHECKS_IGNORED, Collector, CycleResult
from services.collector.source import DumpFile, WgCommand
from services.collector.status import record_observation
from services.config import ConfigError, Statistics
from tests.collector.conftest import (
    ALICE,
    Host,
    Seen,
    add_interface,
    add_peer,
    dump_text,
    events,
    settings_for,
)
from tests.support.waiting import wait_for, wait_for_lock_waits

NOW = datetime(2025, 6, 26, 21, 4, 40, tzinfo=UTC)


@pytest.fixture
def alice(db: psycopg.Connection[Any]) -> str:
    add_interface(db)
    add_peer(db, ALICE)
    return ALICE


def python_command(code: str) -> str:
    return shlex.join([sys.executable, "-c", code])


def warnings_and_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("services.collector")
    ]


# --- the wg command -------------------------------------------------------------------------------


def test_wg_command_output_is_recorded(
    pool: ConnectionPool[Any], tmp_path: Path, alice: str, db: psycopg.Connection[Any]
) -> None:
    path = tmp_path / "saved dump"  # a space: the command is split like a shell, run without one
    path.write_text(dump_text(Seen(alice, NOW - timedelta(seconds=5), rx=10, tx=20)))
    source = WgCommand(f"cat {shlex.quote(str(path))}", timeout=10)
    collector = Collector(settings_for(), pool, source, clock=lambda: NOW)
    assert collector.cycle() is CycleResult.RECORDED
    assert [e["event"] for e in events(db)] == ["connect"]


def test_missing_wg_binary_warns_once_not_every_interval(
    pool: ConnectionPool[Any], caplog: pytest.LogCaptureFixture
) -> None:
    source = WgCommand("wg-webhooks-test-no-such-wg show all dump", timeout=10)
    collector = Collector(settings_for(), pool, source)
    outcomes = [collector.cycle() for _ in range(3)]
    assert outcomes == [CycleResult.NO_DUMP] * 3
    [warning] = warnings_and_errors(caplog)
    assert warning.levelno == logging.WARNING
    assert "wg-webhooks-test-no-such-wg is not installed" in warning.getMessage()


def test_failing_wg_logs_one_error_line_per_cycle_with_its_message(
    pool: ConnectionPool[Any], caplog: pytest.LogCaptureFixture
) -> None:
    fail = python_command(
        "import sys; sys.stderr.write('Unable to access interface: Operation not permitted\\n');"
        " sys.exit(1)"
    )
    collector = Collector(settings_for(), pool, WgCommand(fail, timeout=10))
    assert [collector.cycle(), collector.cycle()] == [CycleResult.NO_DUMP] * 2
    lines = warnings_and_errors(caplog)
    assert [r.levelno for r in lines] == [logging.ERROR] * 2
    assert "exited with 1: Unable to access interface: Operation not permitted" in (
        lines[0].getMessage()
    )
    assert all(r.exc_info is None for r in lines)  # one line, no traceback


def test_stuck_wg_is_cut_off_and_logged(
    pool: ConnectionPool[Any], caplog: pytest.LogCaptureFixture
) -> None:
    source = WgCommand(python_command("import time; time.sleep(30)"), timeout=0.3)
    collector = Collector(settings_for(), pool, source)
    assert collector.cycle() is CycleResult.NO_DUMP
    [line] = warnings_and_errors(caplog)
    assert "did not finish within 0.3s" in line.getMessage()


def test_wg_working_again_after_missing_is_logged_once(
    pool: ConnectionPool[Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="services.collector")
    script = tmp_path / "wg"
    collector = Collector(settings_for(), pool, WgCommand(str(script), timeout=10))
    assert collector.cycle() is CycleResult.NO_DUMP
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    assert collector.cycle() is CycleResult.RECORDED
    assert collector.cycle() is CycleResult.RECORDED
    assert len([r for r in caplog.records if "works now" in r.getMessage()]) == 1


@pytest.mark.parametrize("command", ["", "   ", "wg show 'all dump"])
def test_unusable_wg_command_is_a_config_error_naming_the_key(command: str) -> None:
    with pytest.raises(ConfigError) as raised:
        WgCommand(command, timeout=10)
    assert raised.value.key == "statistics.wg_command"


# --- the database ---------------------------------------------------------------------------------


def test_database_outage_is_one_error_line_and_the_loop_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pool: ConnectionPool[Any] = ConnectionPool(
        f"host={tmp_path} dbname=missing connect_timeout=1",
        min_size=0,
        max_size=1,
        timeout=0.5,
        open=False,
    )
    pool.open()
    try:
        path = tmp_path / "dump"
        path.write_text(dump_text(Seen(ALICE, NOW)))
        collector = Collector(settings_for(), pool, DumpFile(path), clock=lambda: NOW)
        assert collector.cycle() is CycleResult.DATABASE
    finally:
        pool.close()
    [line] = warnings_and_errors(caplog)
    assert line.levelno == logging.ERROR
    assert line.getMessage().startswith("no peer status this cycle: database:")


@pytest.mark.parametrize("first_sight", [True, False], ids=["first-sight", "stored-row"])
def test_two_collectors_seeing_the_same_flip_publish_it_once(
    first_sight: bool,
    alice: str,
    database_url: str,
    host_factory: Callable[..., Host],
    db: psycopg.Connection[Any],
) -> None:
    if not first_sight:
        host_factory().observe(Seen(alice, handshake=None))  # stored: never connected
    text = dump_text(Seen(alice, NOW - timedelta(seconds=5), rx=10, tx=20))
    other = host_factory()
    other.now = NOW
    other.dump_path.write_text(text)
    with psycopg.connect(database_url) as first:
        observed = record_observation(first, settings_for(), parse_dump(text), NOW)
        assert [p.event.value for p in observed.published] == ["connect"]
        # The second collector's cycle now waits on the row the first one holds.
        outcome: list[CycleResult] = []
        thread = threading.Thread(target=lambda: outcome.append(other.cycle()))
        thread.start()
        wait_for_lock_waits(db, what="the second collector waiting for the row lock")
        first.commit()
    thread.join(30)
    assert outcome == [CycleResult.RECORDED]
    assert [e["event"] for e in events(db)] == ["connect"]


# --- the loop -------------------------------------------------------------------------------------


def test_run_cycles_every_interval_until_stopped(
    host: Host, alice: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="services.collector")
    host.dump_path.write_text(dump_text(Seen(alice, handshake=None)))
    collector = host.new_collector()
    stop = threading.Event()
    thread = threading.Thread(target=collector.run, args=(stop,))
    thread.start()
    try:
        wait_for(
            lambda: sum("recorded the status" in r.getMessage() for r in caplog.records) >= 3,
            timeout=10,
            what="three cycles",
        )
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert caplog.records[-1].getMessage() == "collector stopped"


def test_ping_checks_are_refused_with_a_warning(
    pool: ConnectionPool[Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = replace(settings_for(), statistics=Statistics(use_ping_checks=True))
    collector = Collector(settings, pool, DumpFile(tmp_path / "dump"))
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    collector.run(stop)
    assert time.monotonic() - started < 5
    assert [r.getMessage() for r in warnings_and_errors(caplog)] == [PING_CHECKS_IGNORED]
