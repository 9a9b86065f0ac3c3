"""`wg-webhooks collector` as operators run it: a real process, its exit codes and signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from services.config import Settings
from tests.collector.conftest import ALICE, Seen, add_interface, add_peer, dump_text, events
from tests.support.processes import ROOT, Processes
from tests.support.waiting import wait_for

Config = Callable[..., tuple[Path, Settings]]


@pytest.fixture
def alice(db: psycopg.Connection[Any]) -> str:
    add_interface(db)
    add_peer(db, ALICE)
    return ALICE


def fresh_dump(path: Path, key: str) -> Path:
    handshake = datetime.now(UTC) - timedelta(seconds=2)
    path.write_text(dump_text(Seen(key, handshake, rx=1860, tx=10824)))
    return path


def collector_once(procs: Processes, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", "collector", "--once", *args],
        env=procs.env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_once_with_a_dump_file_records_the_connect_and_exits_0(
    config_factory: Config,
    processes_factory: Callable[[Path], Processes],
    tmp_path: Path,
    alice: str,
    db: psycopg.Connection[Any],
) -> None:
    path, _ = config_factory()
    done = collector_once(
        processes_factory(path), "--dump-file", str(fresh_dump(tmp_path / "d", alice))
    )
    assert done.returncode == 0, done.stderr
    assert [(e["event"], e["identifier"]) for e in events(db)] == [("connect", alice)]
    assert f"peer {alice} on wg0: connect" in done.stderr


def test_once_with_a_broken_dump_exits_1_with_one_error_line(
    config_factory: Config,
    processes_factory: Callable[[Path], Processes],
    tmp_path: Path,
    alice: str,
    db: psycopg.Connection[Any],
) -> None:
    path, _ = config_factory()
    dump = tmp_path / "broken"
    dump.write_text("wg0\tnot a dump line\n")
    done = collector_once(processes_factory(path), "--dump-file", str(dump))
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, done.stderr
    assert "wg dump line 1" in errors[0]
    assert "Traceback" not in done.stderr
    assert events(db) == []


def test_bad_wg_command_stops_start_up_with_a_config_error(
    config_factory: Config, processes_factory: Callable[[Path], Processes]
) -> None:
    path, _ = config_factory(statistics={"wg_command": "wg show 'all"})
    done = collector_once(processes_factory(path))
    assert done.returncode == 2
    assert "config error: statistics.wg_command:" in done.stderr


def test_collect_peer_data_off_exits_at_once(
    config_factory: Config, processes_factory: Callable[[Path], Processes]
) -> None:
    path, _ = config_factory(statistics={"collect_peer_data": False})
    done = collector_once(processes_factory(path))
    assert done.returncode == 0
    assert "statistics.collect_peer_data is false" in done.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_the_loop_after_the_cycle_and_exits_0(
    signum: signal.Signals,
    config_factory: Config,
    processes_factory: Callable[[Path], Processes],
    tmp_path: Path,
    alice: str,
    db: psycopg.Connection[Any],
) -> None:
    path, _ = config_factory(statistics={"data_collection_interval": "200ms"})
    procs = processes_factory(path)
    dump = fresh_dump(tmp_path / "d", alice)
    proc = procs.start("collector", "--dump-file", str(dump))
    wait_for(lambda: events(db), timeout=60, what="the connect event")
    os.kill(proc.popen.pid, signum)
    assert proc.popen.wait(30) == 0
    log = proc.log()
    assert f"{signum.name}: stopping after this cycle" in log
    assert log.rstrip().endswith("collector stopped")
    assert [e["event"] for e in events(db)] == ["connect"]


def test_ping_checks_on_are_refused_with_a_warning_and_handshakes_still_count(
    config_factory: Config,
    processes_factory: Callable[[Path], Processes],
    tmp_path: Path,
    alice: str,
    db: psycopg.Connection[Any],
) -> None:
    path, _ = config_factory(statistics={"use_ping_checks": True})
    procs = processes_factory(path)
    proc = procs.start("collector", "--dump-file", str(fresh_dump(tmp_path / "d", alice)))
    wait_for(lambda: events(db), timeout=60, what="the connect event")
    assert "statistics.use_ping_checks is true, but this collector does not ping" in proc.log()
    assert events(db)[0]["payload"]["IsPingable"] is False
