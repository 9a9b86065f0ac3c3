"""Figure 13: POST /ingest/wg-portal, wg-portal's webhook target. wg-portal sends each webhook
once, from its in-process event bus, and its own API call waits while the bus is full: the
ingest answer's latency is wg-portal's latency.

One API process (ingest on, one endpoint with a fast receiver), a relay and two workers
delivering meanwhile. The events are wg-portal v2.2 user creates (a new row and an event each),
built from the fixture tests/fixtures/wg-portal/v2.2_user_create.json.
  open loop  100 events/s for a fixed time, latency measured from each event's scheduled time
             (a late answer delays nothing else, as with wg-portal's many API callers)
  closed     8 kept-alive connections, each sending its next event when the last was answered:
             the sustained rate, and its latencies
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.benchmarks.api_load import LoadResult, request
from tests.benchmarks.deploy import ApiSpec, config, deployed, endpoint
from tests.benchmarks.measure import percentile
from tests.benchmarks.receivers import start_receiver, wait_for_count
from tests.benchmarks.run import Figure, Run

KEY = "Bearer bench-ingest"
RATE = 100.0
CONNECTIONS = 8
PATH = "/ingest/wg-portal"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "wg-portal" / "v2.2_user_create.json"


def body(n: int) -> bytes:
    """wg-portal's create of user n (the fixture with a fresh identifier and e-mail)."""
    data = json.loads(FIXTURE.read_bytes())
    name = f"bench-{n}@example.com"
    data["identifier"] = data["payload"]["Identifier"] = data["payload"]["Email"] = name
    return json.dumps(data, separators=(",", ":")).encode()


async def _connect(base: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(base)
    assert parts.hostname == "127.0.0.1"  # the network rule: loopback only
    return await asyncio.open_connection(parts.hostname, parts.port)


def open_loop(base: str, seconds: float, first: int) -> LoadResult:
    """RATE events/s for `seconds` over a pool of connections; latency from the scheduled time."""
    result = LoadResult()
    host = urlsplit(base).netloc
    total = int(seconds * RATE)

    async def run() -> None:
        pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        for _ in range(2 * CONNECTIONS):
            pool.put_nowait(await _connect(base))

        async def one(n: int, due: float) -> None:
            reader, writer = await pool.get()
            try:
                status = await asyncio.wait_for(
                    request(reader, writer, host, PATH, body(n), KEY), timeout=30
                )
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                result.errors += 1
                writer.close()
                pool.put_nowait(await _connect(base))
                return
            pool.put_nowait((reader, writer))
            if status == 200:
                result.latencies.append(time.perf_counter() - due)
            else:
                result.errors += 1

        began = time.perf_counter()
        tasks = []
        for i in range(total):
            due = began + i / RATE
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(first + i, due)))
        await asyncio.gather(*tasks)
        result.seconds = time.perf_counter() - began
        while not pool.empty():
            pool.get_nowait()[1].close()

    asyncio.run(run())
    result.next_index = first + total
    return result


def closed_loop(base: str, seconds: float, first: int) -> LoadResult:
    """CONNECTIONS clients, each sending its next event when the last one was answered."""
    result = LoadResult()
    host = urlsplit(base).netloc
    counter = [first]

    async def client(until: float) -> None:
        reader, writer = await _connect(base)
        try:
            while time.monotonic() < until:
                counter[0] += 1
                started = time.perf_counter()
                try:
                    status = await asyncio.wait_for(
                        request(reader, writer, host, PATH, body(counter[0]), KEY), timeout=30
                    )
                except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                    result.errors += 1
                    return
                if status == 200:
                    result.latencies.append(time.perf_counter() - started)
                else:
                    result.errors += 1
        finally:
            writer.close()

    async def run() -> None:
        began = time.monotonic()
        until = began + seconds
        await asyncio.gather(*(client(until) for _ in range(CONNECTIONS)))
        result.seconds = time.monotonic() - began

    asyncio.run(run())
    result.next_index = counter[0] + 1
    return result


def figure_13(run: Run) -> Figure:
    seconds = run.size(10, 3)
    receiver = start_receiver()
    try:
        cfg = config([endpoint("default", receiver.url)])
        cfg["ingest"] = {"authentication": KEY}
        dsn = run.stack.database("f13")
        with deployed(run.stack, dsn, run.logs("f13"), cfg, workers=2, apis=[ApiSpec(cfg)]) as d:
            ((_, url),) = d.apis
            warm = closed_loop(url, 1.0, 0)  # warm-up, not counted
            steady = open_loop(url, seconds, warm.next_index)
            sustained = closed_loop(url, seconds, steady.next_index)
            answered = len(warm.latencies) + len(steady.latencies) + len(sustained.latencies)
            delivered = wait_for_count([receiver], answered, timeout=120)
    finally:
        receiver.stop()
    p50, p99 = (1000 * percentile(steady.latencies, q) for q in (50, 99))
    run.plots["ingest_latency_ms"] = {
        "100/s": sorted(1000 * x for x in steady.latencies),
        "8 connections": sorted(1000 * x for x in sustained.latencies),
    }
    return run.add(
        Figure(
            13,
            "ingest (POST /ingest/wg-portal)",
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms at {RATE:.0f}/s; "
            f"{sustained.rate:,.0f}/s on {CONNECTIONS} connections",
            "reported",
            None,
            {
                "open_loop_rate": RATE,
                "open_loop_events": len(steady.latencies),
                "open_loop_errors": steady.errors,
                "p50_ms": p50,
                "p99_ms": p99,
                "connections": CONNECTIONS,
                "sustained_rate": sustained.rate,
                "sustained_events": len(sustained.latencies),
                "sustained_errors": sustained.errors,
                "sustained_p50_ms": 1000 * percentile(sustained.latencies, 50),
                "sustained_p99_ms": 1000 * percentile(sustained.latencies, 99),
                "answered_200": answered,
                "delivered_within_120s": delivered,
            },
        )
    )
