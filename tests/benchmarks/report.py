"""The figures as one table (stdout, and markdown for docs), as JSON, and as a PNG plot."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tests.benchmarks.measure import percentile
from tests.benchmarks.run import Figure, Run

WORKER_RSS_LIMIT_MIB = 150.0
GROWTH_LIMIT = 0.10


CPU_MS_PER_DELIVERY = 0.7  # figure 2: every process's CPU (ours, Postgres, Redis, receiver)


def decide_relative(run: Run) -> None:
    """The targets that compare figures: 2 against 1, 3 against 2; and figure 10's memory."""
    one, two, three = (run.figures.get(n) for n in (1, 2, 3))
    if one and two:
        factor = two.data["rate"] / one.data["rate"]
        cpu = two.data["cpu_ms_per_delivery_total"]
        two.met = factor >= 3.0 and cpu <= CPU_MS_PER_DELIVERY
        two.measured += f" ({factor:.1f}x fig. 1; CPU {cpu:.2f} ms/delivery)"
        two.data["times_figure_1"] = factor
    if two and three:
        factor = two.data["rate"] / three.data["rate"]
        three.met = factor >= 4.0
        three.measured += f" (2/3 = {factor:.1f})"
        three.data["figure_2_over_3"] = factor
    peaks = run.plots.get("memory_peak") or {}
    growth = run.plots.get("memory_growth") or {}
    if not peaks and not growth:
        return
    worst = max((g["growth"] for g in growth.values()), default=None)
    measured = "peak " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items() if not math.isnan(v))
    if worst is not None:
        measured += f"; growth over fig. 4 {100 * worst:+.1f}%"
    met = peaks.get("worker", 0.0) <= WORKER_RSS_LIMIT_MIB and (worst or 0.0) <= GROWTH_LIMIT
    run.add(
        Figure(
            10,
            "memory: peak RSS (MiB), growth",
            measured,
            "worker <= 150 MiB, growth <= 10%",
            met,
            {
                "peak_mib_during_figure_2": peaks,
                "api_peak_mib_under_load_figure_5": run.plots.get("memory_peak_api_under_load"),
                "growth_during_figure_4": growth,
            },
        )
    )


def _verdict(figure: Figure) -> str:
    if figure.met is None:
        return "reported"
    return "met" if figure.met else "NOT MET"


def rows(run: Run) -> list[tuple[str, str, str, str, str]]:
    return [
        (str(f.number), f.name, f.measured, f.target, _verdict(f))
        for _, f in sorted(run.figures.items())
    ]


def table(run: Run) -> str:
    header = ("#", "figure", "measured", "target", "result")
    body = rows(run)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(out)


def markdown(run: Run) -> str:
    out = ["| # | figure | measured | target | result |", "|---|---|---|---|---|"]
    out += ["| " + " | ".join(r) + " |" for r in rows(run)]
    return "\n".join(out)


def write_json(run: Run, path: Path, meta: dict[str, Any]) -> None:
    figures = {
        str(n): {
            "name": f.name,
            "measured": f.measured,
            "target": f.target,
            "met": f.met,
            "data": f.data,
        }
        for n, f in sorted(run.figures.items())
    }
    path.write_text(json.dumps({"meta": meta, "figures": figures}, indent=2, default=str))


def write_plot(run: Run, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    _latency_panel(axes[0][0], run)
    _throughput_panel(axes[0][1], run)
    _api_panel(axes[1][0], run)
    _memory_panel(axes[1][1], run)
    fig.suptitle("wg-webhooks benchmarks (make bench)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


QUANTILES = (50, 75, 90, 95, 99, 99.9)


def _latency_panel(ax: Any, run: Run) -> None:
    latencies = run.plots.get("latency_ms") or []
    if latencies:
        values = [percentile(latencies, q) for q in QUANTILES]
        ax.bar([f"p{q:g}" for q in QUANTILES], values, color="tab:blue")
        for i, v in enumerate(values):
            ax.text(i, v, f"{v:.1f}", ha="center", va="bottom", fontsize=8)
    ax.set_title("fig. 4: commit -> receiver latency at 100 events/s")
    ax.set_ylabel("ms")


def _throughput_panel(ax: Any, run: Run) -> None:
    for key, label in (
        ("throughput_ours", "fig. 2: this service"),
        ("throughput_naive", "fig. 3: naive task per event"),
        ("throughput_slow", "fig. 11: 10 receivers at 100 ms"),
    ):
        series = run.plots.get(key) or []
        if series:
            ax.plot([t for t, _ in series], [r for _, r in series], label=label)
    ax.set_title("throughput over time (receiver arrivals)")
    ax.set_xlabel("s since first delivery")
    ax.set_ylabel("deliveries/s")
    _legend(ax)


def _api_panel(ax: Any, run: Run) -> None:
    phases = run.plots.get("api_latency_ms") or {}
    for phase, latencies in phases.items():
        if latencies:
            ax.plot(
                [f"p{q:g}" for q in QUANTILES],
                [percentile(latencies, q) for q in QUANTILES],
                marker="o",
                label=phase,
            )
    ax.set_yscale("log")
    ax.set_title("figs. 5-6: POST /api/v1/peer/new latency (8 connections)")
    ax.set_ylabel("ms (log)")
    _legend(ax)


def _memory_panel(ax: Any, run: Run) -> None:
    for key, series in (run.plots.get("memory_series") or {}).items():
        ax.plot([t for t, _ in series], [m for _, m in series], label=key.split(":")[0])
    ax.set_title("fig. 10: RSS during figure 4's steady load")
    ax.set_xlabel("s")
    ax.set_ylabel("MiB")
    _legend(ax)


def _legend(ax: Any) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
