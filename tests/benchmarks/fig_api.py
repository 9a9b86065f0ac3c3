"""Figures 5 and 6: what webhooks cost an API write, and what a stalled receiver does to it.

Four API processes on one database, measured in interleaved rounds (the order reversed every
other round) with the same closed-loop load:
  off       the real API, no endpoint configured
  on        the real API, one endpoint (fast receiver), relay and workers delivering
  stalled   the real API, one endpoint whose receiver takes 2 s per request
  in-request the baseline API (inrequest_api.py), POSTing to a 2 s receiver inside the request
"""

from __future__ import annotations

from typing import Any

from tests.benchmarks.api_load import LoadResult, closed_loop, create_interface
from tests.benchmarks.deploy import ApiSpec, config, deployed, endpoint
from tests.benchmarks.measure import Sampler, percentile
from tests.benchmarks.receivers import start_receiver
from tests.benchmarks.run import Figure, Run

CONNECTIONS = 8
STALL_MS = 2000.0
PHASES = ("off", "on", "stalled", "in-request")


def figures_5_and_6(run: Run) -> tuple[Figure, Figure]:
    seconds = run.size(4, 2)
    rounds = run.size(3, 1)
    fast = start_receiver()
    stalled = start_receiver(delay_ms=STALL_MS)
    baseline_receiver = start_receiver(delay_ms=STALL_MS)
    results: dict[str, list[LoadResult]] = {p: [] for p in PHASES}
    try:
        endpoints = {
            "on": endpoint("fast", fast.url),
            "stalled": endpoint("stalled", stalled.url),
        }
        apis = {
            "off": ApiSpec(config([])),
            "on": ApiSpec(config([endpoints["on"]])),
            "stalled": ApiSpec(config([endpoints["stalled"]])),
            "in-request": ApiSpec(
                config([endpoint("default", baseline_receiver.url)]),
                module="tests.benchmarks.inrequest_api",
            ),
        }
        delivery = config(list(endpoints.values()))
        dsn = run.stack.database("f5")
        with deployed(
            run.stack, dsn, run.logs("f5"), delivery, workers=2, apis=list(apis.values())
        ) as deployment:
            urls = dict(zip(PHASES, (url for _, url in deployment.apis), strict=True))
            create_interface(urls["off"])
            sampler = Sampler({"api": deployment.pids()["api"]}, interval=0.5).start()
            counter = 0
            for phase in PHASES:  # warm-up, not counted
                counter = closed_loop(urls[phase], 1.0, CONNECTIONS, first=counter).next_index
            for index in range(rounds):
                order = PHASES if index % 2 == 0 else tuple(reversed(PHASES))
                for phase in order:
                    result = closed_loop(urls[phase], seconds, CONNECTIONS, first=counter)
                    counter = result.next_index
                    results[phase].append(result)
            sampler.stop()
            run.plots["memory_peak_api_under_load"] = sampler.peak_rss("api")
    finally:
        for receiver in (fast, stalled, baseline_receiver):
            receiver.stop()
    summary = {phase: _summary(found) for phase, found in results.items()}
    ratio = summary["on"]["rate"] / summary["off"]["rate"]
    five = Figure(
        5,
        "write cost (POST /peer/new)",
        f"{summary['on']['rate']:,.0f}/s on vs {summary['off']['rate']:,.0f}/s off "
        f"(ratio {ratio:.2f})",
        "ratio >= 0.8",
        ratio >= 0.8,
        {"connections": CONNECTIONS, "ratio": ratio, **summary},
    )
    ours, theirs = summary["stalled"]["p99_ms"], summary["in-request"]["p99_ms"]
    reference = summary["on"]["p99_ms"]
    six = Figure(
        6,
        "receiver stall (2 s): write p99",
        f"ours {ours:.0f} ms (vs {reference:.0f} ms in fig. 5), in-request {theirs:,.0f} ms",
        "ours unchanged vs figure 5",
        ours <= 1.25 * reference,
        {
            "stall_ms": STALL_MS,
            "ours_p99_ms": ours,
            "figure5_on_p99_ms": reference,
            "in_request_p99_ms": theirs,
            "ours_rate": summary["stalled"]["rate"],
            "in_request_rate": summary["in-request"]["rate"],
            "tolerance": "within 25% of figure 5's p99",
        },
    )
    run.plots["api_latency_ms"] = {
        phase: sorted(1000 * x for r in found for x in r.latencies)
        for phase, found in results.items()
    }
    return run.add(five), run.add(six)


def _summary(results: list[LoadResult]) -> dict[str, Any]:
    latencies = [x for r in results for x in r.latencies]
    seconds = sum(r.seconds for r in results)
    return {
        "requests": len(latencies),
        "errors": sum(r.errors for r in results),
        "rate": len(latencies) / seconds if seconds else float("nan"),
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
    }
