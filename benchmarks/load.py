"""Load: many concurrent streams through the SDK against the real reference server, and exact quotas.

    .venv/bin/python benchmarks/load.py [--streams 256] [--threads 64] [--max-tokens 4]

Phases (each against a fresh ``llama-azure serve`` subprocess on 127.0.0.1):

1. ``--streams`` concurrent async streams through ONE ``AsyncLlamaClient``; meanwhile a probe thread
   times ``GET /info`` every 100 ms (p50/p99 printed) and counts this process's open sockets.
2. ``--threads`` threads, each with its own sync ``LlamaClient``, one stream each (then closed).
3. A storm: a server with ``--faults status:429@0.3,status:503@0.1,reset-before@0.05`` gets 64
   concurrent streams through one client with ``max_retries=10``: every stream must complete.
4. Quotas: a server with ``--rpm 40`` gets 100 concurrent requests (``max_retries=0``): exactly 60
   must be 429. A server with ``--tpm 600`` gets 30 sequential requests: each 429 must be the one the
   sliding-window arithmetic predicts from the usage of the answered ones.

Printed: errors by type (only the intended 429s are allowed), streams complete, peak memory of the
client process (``ru_maxrss``) and of the server (``VmHWM``), open sockets at peak and after, and the
``/info`` latency under load. Exit status 1 if any check fails. Nothing is timed as pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llama_azure import AsyncLlamaClient, LlamaClient, RateLimitError
from llama_azure.server.process import ReferenceServer

KEY = "load-key"
API_VERSION = {"api-version": "2024-05-01-preview"}


def open_sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def server_peak_mb(srv: ReferenceServer) -> float:
    try:
        for line in Path(f"/proc/{srv.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Probe:
    """A thread timing ``GET /info`` and sampling open sockets until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies: list[float] = []
        self.failures = 0
        self.peak_sockets = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        with httpx.Client(headers={"api-key": KEY}, timeout=30) as http:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    ok = http.get(f"{self.url}/info", params=API_VERSION).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    self.latencies.append(time.perf_counter() - started)
                else:
                    self.failures += 1
                self.peak_sockets = max(self.peak_sockets, open_sockets())
                self._stop.wait(0.1)

    def summary(self) -> str:
        if not self.latencies:
            return "no /info answer during load"
        ms = sorted(x * 1000 for x in self.latencies)
        p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
        return (f"/info during load: {len(ms)} probes, p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, "
                f"max {ms[-1]:.1f} ms, failures {self.failures}")


def messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Name a colour. ({i})"}]


async def phase_async(url: str, streams: int, max_tokens: int) -> bool:
    errors: Counter[str] = Counter()
    complete = 0
    chunks = 0
    sockets_before = open_sockets()
    started = time.perf_counter()
    with Probe(url) as probe:
        async with AsyncLlamaClient(url, KEY) as client:
            async def one(i: int) -> tuple[int, bool]:
                stream = await client.chat.completions.create(messages=messages(i), max_tokens=max_tokens,
                                                              stream=True)
                n = 0
                async with stream:
                    async for _ in stream:
                        n += 1
                    result = await stream.until_done()
                return n, result.choices[0].finish_reason is not None

            results = await asyncio.gather(*(one(i) for i in range(streams)), return_exceptions=True)
    elapsed = time.perf_counter() - started
    for r in results:
        if isinstance(r, BaseException):
            errors[type(r).__name__] += 1
        else:
            chunks += r[0]
            complete += r[1]
    sockets_after = open_sockets()
    print(f"[async] {streams} concurrent streams through one AsyncLlamaClient, max_tokens={max_tokens}: "
          f"{complete} complete, {chunks} chunks, errors {dict(errors) or 0}, {elapsed:.1f} s")
    print(f"[async] {probe.summary()}")
    print(f"[async] open sockets: before {sockets_before}, peak {probe.peak_sockets}, after {sockets_after}; "
          f"client peak RSS {peak_rss_mb():.0f} MB")
    return not errors and complete == streams and probe.failures == 0


def phase_threads(url: str, threads: int, max_tokens: int) -> bool:
    def one(i: int) -> bool:
        with LlamaClient(url, KEY) as client, client.chat.completions.create(
            messages=messages(i), max_tokens=max_tokens, stream=True
        ) as stream:
            return stream.until_done().choices[0].finish_reason is not None

    errors: Counter[str] = Counter()
    complete = 0
    started = time.perf_counter()
    with Probe(url) as probe, ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(one, i) for i in range(threads)]
        for future in futures:
            try:
                complete += future.result()
            except Exception as error:
                errors[type(error).__name__] += 1
    elapsed = time.perf_counter() - started
    print(f"[threads] {threads} threads, one LlamaClient and one stream each: {complete} complete, "
          f"errors {dict(errors) or 0}, {elapsed:.1f} s")
    print(f"[threads] {probe.summary()}")
    print(f"[threads] open sockets: peak {probe.peak_sockets}, after {open_sockets()}; "
          f"client peak RSS {peak_rss_mb():.0f} MB")
    return not errors and complete == threads


async def phase_rpm(rpm: int, requests: int) -> bool:
    with ReferenceServer(api_key=KEY, args=["--rpm", str(rpm), "--quota-window", "600", "--n-ctx", "512"]) as srv:
        async with AsyncLlamaClient(srv.url, KEY, max_retries=0) as client:
            async def one(i: int) -> str:
                try:
                    await client.chat.completions.create(messages=messages(i), max_tokens=1)
                    return "ok"
                except RateLimitError:
                    return "429"
                except Exception as error:
                    return type(error).__name__

            outcomes = Counter(await asyncio.gather(*(one(i) for i in range(requests))))
    expected = {"ok": rpm, "429": requests - rpm}
    good = dict(outcomes) == expected
    print(f"[quota rpm={rpm}] {requests} concurrent requests: {dict(outcomes)}; expected {expected}: "
          f"{'exact' if good else 'MISMATCH'}")
    return good


async def phase_storm(streams: int, max_tokens: int) -> bool:
    spec = "status:429@0.3,status:503@0.1,reset-before@0.05"
    args = ["--faults", spec, "--rpm", "1000000", "--tpm", "1000000000", "--n-ctx", "512"]
    errors: Counter[str] = Counter()
    complete = 0
    started = time.perf_counter()
    with ReferenceServer(api_key=KEY, args=args) as srv:
        async with AsyncLlamaClient(srv.url, KEY, max_retries=10) as client:
            async def one(i: int) -> bool:
                stream = await client.chat.completions.create(messages=messages(i), max_tokens=max_tokens,
                                                              stream=True)
                async with stream:
                    return (await stream.until_done()).choices[0].finish_reason is not None

            for r in await asyncio.gather(*(one(i) for i in range(streams)), return_exceptions=True):
                if isinstance(r, BaseException):
                    errors[type(r).__name__] += 1
                else:
                    complete += r
    print(f"[storm --faults {spec}] {streams} concurrent streams, max_retries=10: {complete} complete, "
          f"errors {dict(errors) or 0}, {time.perf_counter() - started:.1f} s")
    return not errors and complete == streams


def phase_tpm(tpm: int, requests: int, max_tokens: int) -> bool:
    mismatches = 0
    answered = limited = 0
    header_mismatches = 0
    with ReferenceServer(api_key=KEY, args=["--tpm", str(tpm), "--quota-window", "600", "--n-ctx", "512"]) as srv, \
            LlamaClient(srv.url, KEY, max_retries=0) as client:
        used = 0
        prompt_tokens: int | None = None
        for _ in range(requests):
            reserve = None if prompt_tokens is None else prompt_tokens + max_tokens
            predicted_ok = True if reserve is None else used + reserve <= tpm
            try:
                raw = client.chat.completions.create(messages=messages(0), max_tokens=max_tokens)
                ok = True
            except RateLimitError as error:
                ok = False
                remaining = error.headers.get("x-ratelimit-remaining-tokens")
                if remaining is not None and int(remaining) != tpm - used:
                    header_mismatches += 1
            if ok:
                answered += 1
                usage = raw.usage
                assert usage is not None
                prompt_tokens = usage.prompt_tokens
                used += usage.total_tokens
            else:
                limited += 1
            mismatches += ok != predicted_ok
    good = mismatches == 0 and header_mismatches == 0
    print(f"[quota tpm={tpm}] {requests} sequential requests (max_tokens={max_tokens}): {answered} answered, "
          f"{limited} x 429; {mismatches} differ from the sliding-window prediction, {header_mismatches} "
          f"remaining-tokens headers off: {'exact' if good else 'MISMATCH'}")
    return good


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--streams", type=int, default=256)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=4)
    args = parser.parse_args()
    print(f"llama-azure load benchmark, Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    checks: list[tuple[str, Callable[[], bool]]] = []
    srv_args = ["--rpm", "1000000", "--tpm", "1000000000", "--n-ctx", "512"]
    with ReferenceServer(api_key=KEY, args=srv_args) as srv:
        checks.append(("async streams", lambda: asyncio.run(phase_async(srv.url, args.streams, args.max_tokens))))
        checks.append(("threads", lambda: phase_threads(srv.url, args.threads, args.max_tokens)))
        results = [(name, run()) for name, run in checks]
        print(f"server peak RSS (VmHWM) {server_peak_mb(srv):.0f} MB")
    results.append(("storm", asyncio.run(phase_storm(64, args.max_tokens))))
    results.append(("rpm", asyncio.run(phase_rpm(40, 100))))
    results.append(("tpm", phase_tpm(600, 30, args.max_tokens)))
    failed = [name for name, ok in results if not ok]
    print("all checks passed" if not failed else f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

