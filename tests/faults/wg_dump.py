"""A `wg show all dump` file that changes under the collector: peers connect and disconnect.

A thread rewrites the file (atomically: write, then rename) every few hundred milliseconds,
flipping some peers between a fresh handshake (connected) and a stale one (disconnected), so
the collector keeps writing connect/disconnect events while it is being killed.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

from tests.faults.load import WG0


class DumpWriter(threading.Thread):
    def __init__(
        self,
        path: Path,
        interface: tuple[str, str],
        peers: list[str],
        rng: random.Random,
        every: float = 0.4,
    ) -> None:
        super().__init__(name="wg-dump-writer", daemon=True)
        self.path = path
        self.interface = interface
        self.connected = dict.fromkeys(peers, False)
        self.counters = dict.fromkeys(peers, 0)
        self.rng = rng
        self.every = every
        self.stopping = threading.Event()
        self.flips = 0

    def write(self) -> None:
        now = int(time.time())
        private, public = self.interface
        lines = [f"{WG0}\t{private}\t{public}\t51820\toff"]
        for index, (key, connected) in enumerate(self.connected.items()):
            # connected: a handshake a second ago; disconnected: a minute ago (rekey is 5 s)
            handshake = now - 1 if connected else now - 60
            self.counters[key] += 1000 if connected else 0
            rx = self.counters[key]
            lines.append(
                f"{WG0}\t{key}\t(none)\t127.0.0.1:{40000 + index}\t10.11.{index // 250}."
                f"{index % 250 + 2}/32\t{handshake}\t{rx}\t{rx * 2}\t25"
            )
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, self.path)

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            for key in self.connected:
                if self.rng.random() < 0.15:
                    self.connected[key] = not self.connected[key]
                    self.flips += 1
            self.write()

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)
