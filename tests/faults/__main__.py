"""`make faults` / `python -m tests.faults [--seed N] [--events N] [--short]`.

Prints the seed first (to run the same faults again), the faults as they happen, then the
counts; exits 1 on any loss, stuck lease, order violation, unhandled exception or API failure.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.faults.run import FULL_FAULTS, SHORT_FAULTS, Options, run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__)
    parser.add_argument("--seed", type=int, default=None, help="default: a random one")
    parser.add_argument("--events", type=int, default=None, help="API changes (default 20000)")
    parser.add_argument(
        "--short", action="store_true", help="the CI version: 1,000 changes, fewer faults, 60 s"
    )
    parser.add_argument("--budget", type=float, default=None, help="seconds (default 300)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent API callers")
    parser.add_argument("--json", type=Path, help="also write the counts here as JSON")
    parser.add_argument("--keep", action="store_true", help="keep logs and data in the temp dir")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    options = Options(
        seed=seed,
        events=args.events or (1000 if args.short else 20_000),
        faults=dict(SHORT_FAULTS if args.short else FULL_FAULTS),
        budget=args.budget or (60.0 if args.short else 300.0),
        peers=6 if args.short else 12,
        clients=args.clients,
        keep=args.keep,
    )
    # SIGTERM (a CI timeout, `timeout`) unwinds like Ctrl-C: every process started is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"seed: {seed}", flush=True)
    report = run(options, say=lambda line: print(line, flush=True))
    print("counts:")
    for key, value in report.counts.items():
        print(f"  {key}: {value}")
    if args.json:
        args.json.write_text(
            json.dumps({"seed": seed, "counts": report.counts, "failures": report.failures})
        )
    if report.failures:
        print("FAILED:")
        for failure in report.failures:
            print(f"  - {failure}")
        return 1
    print(f"passed (seed {seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
