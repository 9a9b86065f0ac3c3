"""Numbers from samples: percentiles, rates over time, and the processes' RSS and CPU."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field

import psutil


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def rate_between(times: list[float], first: int, last: int) -> float:
    """Deliveries per second between the `first`-th and `last`-th arrival (0-based, sorted)."""
    ordered = sorted(times)
    if len(ordered) <= last or last <= first:
        return float("nan")
    span = ordered[last] - ordered[first]
    return (last - first) / span if span > 0 else float("nan")


def timeline(times: list[float], origin: float, step: float = 0.5) -> list[tuple[float, float]]:
    """(seconds since origin, arrivals per second) in bins of `step` seconds."""
    if not times:
        return []
    bins: dict[int, int] = {}
    for t in times:
        index = int((t - origin) // step)
        bins[index] = bins.get(index, 0) + 1
    return [(i * step, bins.get(i, 0) / step) for i in range(min(bins), max(bins) + 1)]


def _cpu_seconds(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


@dataclass
class Sampler:
    """Samples RSS of named processes every `interval` seconds in a thread; CPU seconds are
    read at start and stop (children of a process are counted with it)."""

    pids: dict[str, list[int]]
    interval: float = 0.2
    rss: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # name -> (t, MiB)
    cpu: dict[str, float] = field(default_factory=dict)  # name -> CPU seconds while sampled
    wall: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _cpu0: dict[str, float] = field(default_factory=dict)
    _t0: float = 0.0

    def _all_pids(self, name: str) -> list[int]:
        found: list[int] = []
        for pid in self.pids[name]:
            found.append(pid)
            with contextlib.suppress(psutil.Error):
                found.extend(c.pid for c in psutil.Process(pid).children(recursive=True))
        return found

    def _cpu_now(self) -> dict[str, float]:
        return {n: sum(_cpu_seconds(p) for p in self._all_pids(n)) for n in self.pids}

    def start(self) -> Sampler:
        self._t0 = time.monotonic()
        self._cpu0 = self._cpu_now()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            now = time.monotonic() - self._t0
            for name in self.pids:
                for pid in self.pids[name]:
                    try:
                        mib = psutil.Process(pid).memory_info().rss / 2**20
                    except psutil.Error:
                        continue
                    self.rss.setdefault(f"{name}:{pid}", []).append((now, mib))

    def stop(self) -> Sampler:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.wall = time.monotonic() - self._t0
        end = self._cpu_now()
        self.cpu = {n: end[n] - self._cpu0.get(n, 0.0) for n in self.pids}
        return self

    def peak_rss(self, name: str) -> float:
        """The largest RSS (MiB) any single process of `name` reached."""
        peaks = [max(m for _, m in s) for k, s in self.rss.items() if k.split(":")[0] == name and s]
        return max(peaks, default=float("nan"))

    def rss_at(self, name: str, at: float, window: float = 2.0) -> float:
        """Summed RSS (MiB) of `name`'s processes, averaged over [at, at + window)."""
        total = 0.0
        for key, series in self.rss.items():
            if key.split(":")[0] != name:
                continue
            picked = [m for t, m in series if at <= t < at + window]
            if picked:
                total += sum(picked) / len(picked)
        return total
