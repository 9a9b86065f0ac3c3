"""Network namespaces with userspace WireGuard (wireguard-go) for the end-to-end test.

Everything a `Lab` creates (namespaces, the veth pair inside them, wireguard-go processes and
their UAPI sockets) is undone by `close()`, in reverse order, even after a failure halfway. The
addresses live only inside the namespaces: nothing this lab sends can reach another host.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.waiting import wait_for

TOOLS = ("wireguard-go", "wg", "ip")
UAPI_DIR = Path("/var/run/wireguard")


def missing_prerequisite() -> str | None:
    """Why this machine cannot run the lab, or None when it can."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces and WireGuard devices"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return (
            f"{', '.join(missing)} not installed (apt-get install wireguard-go wireguard-tools "
            "iproute2; .ci/system-packages.sh does it in CI)"
        )
    if not Path("/dev/net/tun").exists():
        return "/dev/net/tun is missing: wireguard-go needs a TUN device"
    return None


def run(*argv: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


@dataclass
class Device:
    """A wireguard-go device in a namespace."""

    namespace: str
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def wg(self, *args: str, stdin: str | None = None) -> str:
        return run("ip", "netns", "exec", self.namespace, "wg", *args, stdin=stdin)

    def ip(self, *args: str) -> str:
        return run("ip", "-n", self.namespace, *args)


@dataclass
class Lab:
    """Two namespaces joined by a veth pair; `close()` removes all of it."""

    workdir: Path
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    undo: list[tuple[str, Callable[[], object]]] = field(default_factory=list)

    def namespace(self, role: str) -> str:
        name = f"wgw-{role}-{self.suffix}"
        run("ip", "netns", "add", name)
        self.undo.append((f"delete namespace {name}", lambda: run("ip", "netns", "del", name)))
        run("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def veth(self, left: tuple[str, str], right: tuple[str, str]) -> None:
        """A veth pair between two namespaces: (namespace, CIDR address) on each side."""
        (left_ns, left_addr), (right_ns, right_addr) = left, right
        left_dev, right_dev = f"wgwv{self.suffix}a", f"wgwv{self.suffix}b"
        run("ip", "link", "add", left_dev, "type", "veth", "peer", "name", right_dev)
        # Until both ends moved, the pair is in the root namespace: remove it from there.
        self.undo.append(
            (f"delete {left_dev}", lambda: _ignore_missing("ip", "link", "del", left_dev))
        )
        run("ip", "link", "set", left_dev, "netns", left_ns)
        run("ip", "link", "set", right_dev, "netns", right_ns)
        for ns, dev, addr in ((left_ns, left_dev, left_addr), (right_ns, right_dev, right_addr)):
            run("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            run("ip", "-n", ns, "link", "set", dev, "up")

    def wireguard(self, namespace: str, name: str) -> Device:
        """Start `wireguard-go NAME` in the foreground inside `namespace`."""
        log_path = self.workdir / f"wireguard-go-{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                ["ip", "netns", "exec", namespace, "wireguard-go", name],
                env={**os.environ, "WG_PROCESS_FOREGROUND": "1"},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        device = Device(namespace, name, process, log_path)
        self.undo.append((f"stop wireguard-go {name}", lambda: _stop(device)))
        socket = UAPI_DIR / f"{name}.sock"
        wait_for(
            lambda: socket.exists() or process.poll() is not None,
            timeout=20,
            what=f"wireguard-go {name} to start",
        )
        if process.poll() is not None:
            raise AssertionError(f"wireguard-go {name} exited:\n{log_path.read_text()}")
        return device

    def send_udp(self, namespace: str, address: str, port: int, payload: bytes) -> None:
        """One UDP datagram from inside `namespace` (never from the root namespace)."""
        code = (
            "import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            "s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))"
        )
        run(
            "ip", "netns", "exec", namespace, sys.executable, "-c", code,
            address, str(port), payload.decode(),
        )  # fmt: skip

    def tear_down(self, what: str) -> None:
        """Run the undo step named `what` now (e.g. to take one side down mid-test)."""
        for index, (name, action) in enumerate(self.undo):
            if name == what:
                del self.undo[index]
                action()
                return
        raise KeyError(what)

    def close(self) -> None:
        errors: list[str] = []
        while self.undo:
            name, action = self.undo.pop()
            try:
                action()
            except Exception as exc:  # keep undoing the rest; report at the end
                errors.append(f"{name}: {exc}")
        if errors:
            raise AssertionError("lab clean-up failed: " + "; ".join(errors))


def _stop(device: Device) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(device.process.pid, signal.SIGTERM)
    try:
        device.process.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(device.process.pid, signal.SIGKILL)
        device.process.wait(10)
    # A killed wireguard-go leaves its socket behind; `wg show all` would then list a dead device.
    with contextlib.suppress(FileNotFoundError):
        (UAPI_DIR / f"{device.name}.sock").unlink()


def _ignore_missing(*argv: str) -> None:
    subprocess.run(argv, capture_output=True, timeout=30, check=False)
