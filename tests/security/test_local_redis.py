"""The embedded Redis against a local user without privileges (SECURITY.md, "A local user").

It listens on no TCP port, only on a Unix socket in a 0700 folder of the user that runs it; it
wants a password, refuses CONFIG/SAVE/DEBUG/MODULE, and runs unprivileged when started as root.
Each test starts its own server in a fresh folder, as `up` does in `.wg-webhooks/`.
"""

from __future__ import annotations

import errno
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest
import redis

from services.embedded import EmbeddedRedis, broker_url
from tests.conftest import skip_or_fail

# Run as another uid: every way in that a stranger could try, with errno as the answer.
_PROBE = r"""
import json, os, socket, sys
target = json.loads(sys.argv[1])
found = {}
if target["socket"]:
    s = socket.socket(socket.AF_UNIX)
    address = target["socket"]
else:
    s = socket.socket(socket.AF_INET)
    address = (target["host"], target["port"])
try:
    s.settimeout(2)
    s.connect(address)
    s.sendall(b"PING\r\n")
    found["connect"] = s.recv(64).decode(errors="replace")
except OSError as exc:
    found["connect"] = exc.errno
for path in target["files"]:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").read(1)
        found[path] = "read"
    except OSError as exc:
        found[path] = exc.errno
print(json.dumps(found))
"""


@pytest.fixture
def server() -> Iterator[tuple[EmbeddedRedis, str]]:
    # not under tmp_path: another pytest starting on the machine resets /tmp/pytest-of-<user>
    # to 0700, and the embedded_redis user must pass through the folders above its own
    root = Path(tempfile.mkdtemp(prefix="wgw-test-local-redis-"))
    embedded = EmbeddedRedis(root / ".wg-webhooks" / "redis")
    url = embedded.start(appendonly=True)
    client = redis.Redis.from_url(url)
    client.set("wgw-probe", "payload-a-stranger-must-not-read")  # something in the AOF
    client.close()
    yield embedded, url
    embedded.stop()
    shutil.rmtree(root, ignore_errors=True)


def _run_as_nobody(target: dict[str, object]) -> dict[str, object]:
    if os.geteuid() != 0:
        skip_or_fail("needs root to run a probe as another user (nobody)")
    nobody = pwd.getpwnam("nobody")
    # the system's Python: ours may sit under a folder nobody may enter (/root/.pyenv)
    python = next(
        (
            p
            for p in ("/usr/bin/python3", os.path.realpath(sys.executable))
            if os.access(p, os.X_OK)
        ),
        "",
    )
    if not _usable_by_nobody(python):
        skip_or_fail("no Python that user nobody may run (/usr/bin/python3)")
    done = subprocess.run(
        [python, "-I", "-c", _PROBE, json.dumps(target)],
        user=nobody.pw_uid,
        group=nobody.pw_gid,
        extra_groups=[],
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout)
    return found


def _usable_by_nobody(path: str) -> bool:
    """Every folder above `path` lets others through, and others may run it."""
    if not path:
        return False
    real = Path(path).resolve()
    return all(p.stat().st_mode & 0o001 for p in [real, *real.parents])


def _files(data_dir: Path) -> list[str]:
    paths = [data_dir, *data_dir.iterdir(), data_dir.parent / "redis_password"]
    return [str(p) for p in paths if p.exists() and not p.is_socket()]


def test_another_local_user_can_neither_connect_nor_read_its_files(
    server: tuple[EmbeddedRedis, str],
) -> None:
    embedded, url = server
    parts = urlsplit(url)
    target = {
        "socket": parts.path if parts.scheme == "unix" else "",
        "host": parts.hostname,
        "port": parts.port,
        "files": _files(embedded.data_dir),
    }
    assert any(f.endswith(".aof") for f in target["files"])  # type: ignore[attr-defined]

    found = _run_as_nobody(target)

    assert found.pop("connect") == errno.EACCES
    assert found == dict.fromkeys(target["files"], errno.EACCES)  # type: ignore[call-overload]


def test_it_listens_on_no_tcp_port_and_keeps_its_files_private(
    server: tuple[EmbeddedRedis, str],
) -> None:
    embedded, url = server
    assert embedded.process is not None
    process = psutil.Process(embedded.process.pid)
    assert process.net_connections(kind="inet") == []
    assert urlsplit(url).scheme == "unix"
    for path in [embedded.data_dir, *embedded.data_dir.iterdir()]:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is open to others"
    secret = embedded.data_dir.parent / "redis_password"
    assert secret.stat().st_mode & 0o777 == 0o600
    # the password reaches the server on its stdin: `ps` shows every command line to everyone
    assert embedded.password not in " ".join(process.cmdline())


def test_started_as_root_it_runs_as_an_unprivileged_user(
    server: tuple[EmbeddedRedis, str],
) -> None:
    if os.geteuid() != 0:
        skip_or_fail("needs root: only a server started as root changes its user")
    embedded, _ = server
    assert embedded.process is not None
    uids = psutil.Process(embedded.process.pid).uids()
    assert uids.real == uids.effective == pwd.getpwnam("embedded_redis").pw_uid
    assert embedded.data_dir.stat().st_uid == uids.real


def test_a_client_without_the_password_is_refused(server: tuple[EmbeddedRedis, str]) -> None:
    _, url = server
    parts = urlsplit(url)
    anonymous = (
        redis.Redis(unix_socket_path=parts.path, protocol=2)
        if parts.scheme == "unix"
        else redis.Redis(host=parts.hostname or "", port=parts.port or 0, protocol=2)
    )
    with pytest.raises(redis.AuthenticationError):
        anonymous.get("wgw-probe")
    anonymous.close()


@pytest.mark.parametrize(
    "command",
    [
        ("CONFIG", "SET", "dir", "/tmp"),
        ("CONFIG", "GET", "requirepass"),
        ("SAVE",),
        ("BGSAVE",),
        ("DEBUG", "SLEEP", "0"),
        ("MODULE", "LIST"),
        ("SHUTDOWN", "NOSAVE"),
        ("REPLICAOF", "127.0.0.1", "9"),
    ],
    ids=lambda c: c[0],
)
def test_dangerous_commands_are_refused_even_with_the_password(
    server: tuple[EmbeddedRedis, str], command: tuple[str, ...]
) -> None:
    _, url = server
    client = redis.Redis.from_url(url)
    with pytest.raises(redis.ResponseError, match="unknown command"):
        client.execute_command(*command)
    assert client.get("wgw-probe") == b"payload-a-stranger-must-not-read"  # still up
    client.close()


def test_celery_reaches_the_socket_with_the_password_and_tcp_urls_pass_unchanged() -> None:
    assert (
        broker_url("unix://:s3cret@/run/wgw/redis.sock?db=0")
        == "redis+socket://:s3cret@/run/wgw/redis.sock?virtual_host=0"
    )
    for external in ("redis://:pw@redis.example:6379/1", "rediss://cache:6380/0"):
        assert broker_url(external) == external
