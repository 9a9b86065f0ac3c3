"""A throw-away PostgreSQL cluster from the distribution's binaries (`TEST_POSTGRES=15`).

initdb into a temporary directory, pg_ctl start listening only on a unix socket in it (no TCP
port at all), stopped and removed at the end of the session. Postgres refuses to run as root: as
root the cluster belongs to the `postgres` user (which Debian's package creates). Settings as
the embedded server's in the tests: no fsync, 300 connections.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SETTINGS = (
    "-c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=300"
)


def bin_dir(version: str) -> Path:
    """Debian's layout: /usr/lib/postgresql/<major>/bin."""
    return Path(f"/usr/lib/postgresql/{version}/bin")


@dataclass
class ThrowawayPostgres:
    version: str
    root: Path
    user: str | None  # run as this user (when we are root), else as ourselves

    @classmethod
    def start(cls, version: str) -> ThrowawayPostgres:
        root = Path(tempfile.mkdtemp(prefix=f"wgw-test-pg{version}-"))
        user = "postgres" if os.geteuid() == 0 else None
        server = cls(version, root, user)
        if user is not None:
            entry = pwd.getpwnam(user)
            root.chmod(0o755)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        server._run("initdb", "-D", str(server.data), "-U", "postgres", "--auth=trust",
                    "--encoding=UTF8", "--no-sync")  # fmt: skip
        server._run("pg_ctl", "-D", str(server.data), "-l", str(root / "server.log"), "-w",
                    "-o", f"-k {root} {SETTINGS}", "start")  # fmt: skip
        return server

    @property
    def data(self) -> Path:
        return self.root / "data"

    def admin_dsn(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.root}"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, binary: str, *args: str) -> None:
        done = subprocess.run(
            [str(bin_dir(self.version) / binary), *args],
            user=self.user, group=self.user, extra_groups=[] if self.user else None,
            capture_output=True, text=True, timeout=120, cwd=self.root,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{binary} failed ({done.returncode}): {done.stderr[-2000:]}")
