"""Failover: two reference servers behind one client; one is killed half way through the calls.

    .venv/bin/python benchmarks/failover.py [--calls 200] [--concurrency 16] [--max-tokens 2]

One ``AsyncLlamaClient(deployments=[a, b])`` (equal weights, default cool-down, ``max_retries=2``) sends
``--calls`` short chat calls, ``--concurrency`` at a time. When half of them have been answered, server ``a``
is killed (SIGKILL): calls in flight on it and the next ones sent to it fail and move to ``b``. Printed:
answered, how many moved, and the latency of the calls that moved against those that did not (median, p95,
max), i.e. the extra latency of a move. Nothing is timed as pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass

from llama_azure import AsyncLlamaClient, Deployment, LlamaAzureError
from llama_azure.server.process import ReferenceServer

KEY = "bench-key"


@dataclass
class Outcome:
    latency: float
    moved: bool
    by: str
    error: str | None = None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def describe(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: none"
    return (f"{name}: {len(values)} calls, median {statistics.median(values) * 1000:.0f} ms, "
            f"p95 {percentile(values, 0.95) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms")


async def run(calls: int, concurrency: int, max_tokens: int) -> None:
    with ReferenceServer(api_key=KEY, args=["--n-ctx", "512"]) as a, \
            ReferenceServer(api_key=KEY, args=["--n-ctx", "512"]) as b:
        names = {a.url: "a", b.url: "b"}
        client = AsyncLlamaClient(deployments=[Deployment(a.url), Deployment(b.url)], credential=KEY)
        gate = asyncio.Semaphore(concurrency)
        done = 0
        killed_at: float | None = None
        outcomes: list[Outcome] = []

        async def one(i: int) -> None:
            nonlocal done, killed_at
            async with gate:
                start = time.perf_counter()
                try:
                    raw = await client.chat.completions.with_raw_response.create(
                        messages=[{"role": "user", "content": f"Say a number: {i}"}], max_tokens=max_tokens)
                    outcomes.append(Outcome(time.perf_counter() - start, raw.retries_taken > 0,
                                            names[raw.deployment.endpoint]))
                except LlamaAzureError as error:
                    outcomes.append(Outcome(time.perf_counter() - start, False, "-", type(error).__name__))
                done += 1
                if done == calls // 2 and killed_at is None:
                    a.kill()  # on purpose: a.stop() does not report it as a crash
                    killed_at = time.perf_counter()

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(calls)))
        elapsed = time.perf_counter() - started
        await client.close()
        a.stop()

    answered = [o for o in outcomes if o.error is None]
    moved = [o.latency for o in answered if o.moved]
    stayed = [o.latency for o in answered if not o.moved]
    print(f"calls: {calls}, concurrency {concurrency}, max_tokens {max_tokens}; server a killed after "
          f"{calls // 2} answers")
    print(f"answered: {len(answered)}/{calls} (a {sum(o.by == 'a' for o in answered)}, "
          f"b {sum(o.by == 'b' for o in answered)}); failed: {calls - len(answered)} "
          f"{sorted({o.error for o in outcomes if o.error})}")
    print(describe("moved", moved))
    print(describe("not moved", stayed))
    if moved and stayed:
        extra = statistics.median(moved) - statistics.median(stayed)
        print(f"extra latency of a move (median moved - median not moved): {extra * 1000:.0f} ms")
    print(f"wall time: {elapsed:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.concurrency, args.max_tokens))


if __name__ == "__main__":
    main()
