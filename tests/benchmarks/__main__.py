"""`make bench`: run every figure of the benchmark issue on real processes, print one table,
write `.bench/results.json` and `.bench/figures.png`.

`python -m tests.benchmarks [--quick] [--only 2,4] [--out .bench]`. The whole run is bounded
(15 minutes at most; on a 2-core machine figures 1-13 and 15 fit, figure 14, the reconcile
round, runs when time is left or alone; a figure that would not fit is skipped and says so).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psutil

from tests.benchmarks.run import Run
from tests.benchmarks.stack import Stack

BUDGET_SECONDS = 900.0


def _figures() -> list[tuple[tuple[int, ...], float, Callable[[Run], object]]]:
    """(figure numbers, seconds a full run of them takes here at most, the function)."""
    from tests.benchmarks import (
        fig_api,
        fig_backlog,
        fig_console,
        fig_ingest,
        fig_latency,
        fig_reconcile,
        fig_recovery,
        fig_slow,
        fig_throughput,
    )

    return [
        ((1,), 30, fig_throughput.figure_1),
        ((2,), 45, fig_throughput.figure_2),
        ((3,), 45, fig_throughput.figure_3),
        ((9,), 60, fig_throughput.figure_9),
        ((4,), 80, fig_latency.figure_4),
        ((8,), 80, fig_latency.figure_8),
        ((5, 6), 75, fig_api.figures_5_and_6),
        ((7,), 120, fig_backlog.figure_7),
        ((11,), 45, fig_slow.figure_11),
        ((15,), 60, fig_recovery.figure_15),
        ((12,), 90, fig_console.figure_12),
        ((13,), 45, fig_ingest.figure_13),
        ((14,), 180, fig_reconcile.figure_14),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes, to try the harness")
    parser.add_argument("--only", default="", help="comma-separated figure numbers")
    parser.add_argument("--out", default=".bench", help="folder for JSON, PNG and logs")
    args = parser.parse_args(argv)
    only = {int(n) for n in args.only.split(",") if n.strip()}
    out = Path(args.out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    load_before = os.getloadavg()
    _say(f"load average {load_before[0]:.2f}; starting embedded Postgres and Redis in a temp dir")
    stack = Stack.start()
    os.environ["REDIS_URL"] = stack.redis_url  # the benchmark's own Celery producer
    run = Run(stack, out, args.quick)
    skipped: list[str] = []
    try:
        for numbers, estimate, function in _figures():
            if only and not set(numbers) & only:
                continue
            name = "/".join(map(str, numbers))
            left = BUDGET_SECONDS - (time.monotonic() - began)
            if not args.quick and left < estimate:
                skipped.append(name)
                _say(f"figure {name}: skipped, {left:.0f}s left of the time budget")
                continue
            started = time.monotonic()
            _say(f"figure {name} ...")
            function(run)
            _say(f"figure {name}: {time.monotonic() - started:.0f}s")
    finally:
        stack.stop()
    from tests.benchmarks import report

    report.decide_relative(run)
    meta = _meta(args, time.monotonic() - began, load_before, skipped)
    print(_heading(meta))
    print(report.table(run))
    report.write_json(run, out / "results.json", meta)
    (out / "table.md").write_text(_heading(meta) + "\n\n" + report.markdown(run) + "\n")
    report.write_plot(run, out / "figures.png")
    _say(f"wrote {out / 'results.json'}, {out / 'figures.png'} and {out / 'table.md'}")
    return 0


def _meta(
    args: argparse.Namespace, seconds: float, load_before: tuple[float, float, float],
    skipped: list[str],
) -> dict[str, object]:  # fmt: skip
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "make bench" + (" (--quick)" if args.quick else ""),
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "seconds": round(seconds, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "skipped": skipped,
    }


def _heading(meta: dict[str, object]) -> str:
    load = meta["load_average_before"]
    assert isinstance(load, list)
    return (
        f"{meta['command']} on {meta['date']}: {meta['cpus']} CPUs, {meta['memory_gib']} GiB, "
        f"Python {meta['python']}; {meta['seconds']} s; 1-min load before {load[0]}"
    )


def _say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
