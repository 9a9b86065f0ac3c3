"""Figure 7: does a large backlog slow the drain? 1,000,000 pending vs 10,000 pending.

Both backlogs are made the same way (generate_series, then VACUUM ANALYZE as autovacuum would
have by then). Each drain phase is cut after a fixed number of deliveries and rated between
the 500th and the (n-500)th arrival; the two sizes alternate, the large one continuing from
where it stopped (leases the killed phase left are released first).
"""

from __future__ import annotations

from statistics import median

from tests.benchmarks.events import backlog
from tests.benchmarks.receivers import start_receiver
from tests.benchmarks.run import Figure, Run, drain, one_endpoint, settle


def figure_7(run: Run) -> Figure:
    large = run.size(1_000_000, 50_000)
    small = 10_000
    measured = run.size(10_000, 4_000)
    rounds = run.size(2, 1)
    window = (500, measured - 500)
    dsn_large = run.stack.database("f7_large")
    build_seconds = backlog(dsn_large, large, "default")
    receiver = start_receiver()
    rates: dict[str, list[float]] = {"small": [], "large": []}
    try:
        cfg = one_endpoint(receiver.url)
        for index in range(rounds):
            dsn_small = run.stack.database(f"f7_small_{index}")
            backlog(dsn_small, small, "default")
            for label, dsn in (("small", dsn_small), ("large", dsn_large)):
                result = drain(
                    run, f"f7-{label}-{index}", dsn, cfg, [receiver], measured, window=window
                )
                rates[label].append(result.rate)
                settle(0.5)
            run.stack.drop(f"f7_small_{index}")
    finally:
        receiver.stop()
    rate_small, rate_large = median(rates["small"]), median(rates["large"])
    ratio = rate_large / rate_small
    return run.add(
        Figure(
            7,
            "backlog drain (1M vs 10k pending)",
            f"{rate_large:,.0f}/s vs {rate_small:,.0f}/s (ratio {ratio:.2f})",
            "ratio >= 0.8",
            ratio >= 0.8,
            {
                "large_pending": large,
                "small_pending": small,
                "measured_deliveries": measured,
                "rates": rates,
                "ratio": ratio,
                "large_backlog_build_seconds": build_seconds,
            },
        )
    )
