"""Client-side CPU cost of llama-azure against openai-python, azure-ai-inference and a raw httpx floor.

A canned server (``benchmarks/_canned_server.py``) runs in a separate process on 127.0.0.1 with
HTTP/1.1 keep-alive, so only the client's CPU is counted (``time.process_time`` in the client
process). Each client runs in its own fresh worker process, one client object reused throughout,
retries disabled. Two figures per client:

- per-request overhead: microseconds of client CPU per non-streamed chat request (best round);
- streaming: chunks per second of client CPU, consuming a 4,000-chunk stream fully (best stream;
  the median is shown too).

Each figure is also shown as a ratio to the floor measured in the same run and mode: raw httpx +
``json.loads`` (goals: streams >= 0.6x the floor's chunks/s, calls <= 1.1x its CPU per request). The
stream body is sent both ways, one table each: with ``Content-Length`` (one write), and chunked
(``Transfer-Encoding: chunked``, one HTTP chunk per 64 KiB of events). ``--repeat N`` runs the whole set
N times, clients interleaved, and keeps each client's best. On a shared machine the ratio is taken against
the floor measured in the same worker process, alternating with the client round by round and stream by
stream (the floor's own row comes from its own worker): the table prints that floor figure beside each
ratio. The warm-up's garbage is collected before the timed rounds: left alone, a full collection of it
(about 30 ms) fell into the first timed round, which with ``--quick`` (one round) doubled a client's CPU
per request.

    .venv/bin/python benchmarks/client_overhead.py [--quick] [--framing both|content-length|chunked] [--only NAME ...]
    .venv/bin/python benchmarks/client_overhead.py --tracing   # llama-azure with OpenTelemetry tracing off / on
    .venv/bin/python benchmarks/client_overhead.py --profile llama-azure-sync   # cProfile one client (first framing)

A library that is not installed is reported as ``skipped: X not installed``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout, installed or not

MESSAGES = [{"role": "user", "content": "hi"}]

# name -> (distribution to report / require, mode)
CLIENTS: dict[str, tuple[str, str]] = {
    "raw-httpx-sync": ("httpx", "sync"),
    "raw-httpx-async": ("httpx", "async"),
    "llama-azure-sync": ("llama-azure", "sync"),
    "llama-azure-async": ("llama-azure", "async"),
    "llama-azure-sync-traced": ("llama-azure", "sync"),
    "llama-azure-async-traced": ("llama-azure", "async"),
    "llama-azure-sync-traced-content": ("llama-azure", "sync"),
    "openai-sync": ("openai", "sync"),
    "openai-async": ("openai", "async"),
    "azure-ai-inference-sync": ("azure-ai-inference", "sync"),
    "azure-ai-inference-async": ("azure-ai-inference", "async"),
}
LABELS = {
    "raw-httpx-sync": "raw httpx + json.loads, sync (floor)",
    "raw-httpx-async": "raw httpx + json.loads, async (floor)",
    "llama-azure-sync": "llama-azure sync",
    "llama-azure-async": "llama-azure async",
    "llama-azure-sync-traced": "llama-azure sync, tracing on",
    "llama-azure-async-traced": "llama-azure async, tracing on",
    "llama-azure-sync-traced-content": "llama-azure sync, tracing + content",
    "openai-sync": "openai-python sync",
    "openai-async": "openai-python async",
    "azure-ai-inference-sync": "azure-ai-inference sync",
    "azure-ai-inference-async": "azure-ai-inference async",
}


class Skipped(Exception):
    pass


# --------------------------------------------------------------------------------------------------
# The clients. Each factory returns (one_request, one_stream, close); for async, coroutine functions.
# one_stream returns the number of chunks seen (checked against the server's count).
# --------------------------------------------------------------------------------------------------

def _require(module: str, dist: str) -> None:
    try:
        __import__(module)
    except ImportError:
        raise Skipped(f"{dist} not installed") from None


def raw_sync(url: str) -> tuple[Callable[[], Any], Callable[[], int], Callable[[], None]]:
    import httpx
    client = httpx.Client()
    endpoint = url + "/v1/chat/completions"
    headers = {"authorization": "Bearer k", "content-type": "application/json"}

    def one_request() -> Any:
        r = client.post(endpoint, content=json.dumps({"messages": MESSAGES}), headers=headers)
        return json.loads(r.content)["choices"][0]["message"]["content"]

    def one_stream() -> int:
        n = 0
        body = json.dumps({"messages": MESSAGES, "stream": True})
        with client.stream("POST", endpoint, content=body, headers=headers) as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        break
                    _ = json.loads(data)["choices"][0]["delta"]["content"]
                    n += 1
        return n

    return one_request, one_stream, client.close


def raw_async(url: str) -> tuple[Any, Any, Any]:
    import httpx
    client = httpx.AsyncClient()
    endpoint = url + "/v1/chat/completions"
    headers = {"authorization": "Bearer k", "content-type": "application/json"}

    async def one_request() -> Any:
        r = await client.post(endpoint, content=json.dumps({"messages": MESSAGES}), headers=headers)
        return json.loads(r.content)["choices"][0]["message"]["content"]

    async def one_stream() -> int:
        n = 0
        body = json.dumps({"messages": MESSAGES, "stream": True})
        async with client.stream("POST", endpoint, content=body, headers=headers) as r:
            async for line in r.aiter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        break
                    _ = json.loads(data)["choices"][0]["delta"]["content"]
                    n += 1
        return n

    return one_request, one_stream, client.aclose


def llama_sync(url: str) -> tuple[Any, Any, Any]:
    _require("llama_azure", "llama-azure")
    from llama_azure import LlamaClient
    client = LlamaClient(endpoint=url, credential="k", max_retries=0)

    def one_request() -> Any:
        return client.chat.completions.create(messages=MESSAGES).choices[0].message.content

    def one_stream() -> int:
        n = 0
        for chunk in client.chat.completions.create(messages=MESSAGES, stream=True):
            if chunk.choices:
                _ = chunk.choices[0].delta.content
            n += 1
        return n

    return one_request, one_stream, client.close


def llama_async(url: str) -> tuple[Any, Any, Any]:
    _require("llama_azure", "llama-azure")
    from llama_azure import AsyncLlamaClient
    client = AsyncLlamaClient(endpoint=url, credential="k", max_retries=0)

    async def one_request() -> Any:
        return (await client.chat.completions.create(messages=MESSAGES)).choices[0].message.content

    async def one_stream() -> int:
        n = 0
        async for chunk in await client.chat.completions.create(messages=MESSAGES, stream=True):
            if chunk.choices:
                _ = chunk.choices[0].delta.content
            n += 1
        return n

    return one_request, one_stream, client.close


def _instrument(capture_content: bool) -> None:
    """Trace with the OpenTelemetry SDK, spans to an in-memory exporter and metrics to an in-memory reader."""
    _require("opentelemetry.sdk", "opentelemetry-sdk")
    if capture_content:
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from llama_azure.tracing import LlamaAzureInstrumentor
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    LlamaAzureInstrumentor().instrument(tracer_provider=tracer_provider,
                                        meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]))


def llama_sync_traced(url: str) -> tuple[Any, Any, Any]:
    _instrument(capture_content=False)
    return llama_sync(url)


def llama_async_traced(url: str) -> tuple[Any, Any, Any]:
    _instrument(capture_content=False)
    return llama_async(url)


def llama_sync_traced_content(url: str) -> tuple[Any, Any, Any]:
    _instrument(capture_content=True)
    return llama_sync(url)


def openai_sync(url: str) -> tuple[Any, Any, Any]:
    _require("openai", "openai")
    from openai import OpenAI
    client = OpenAI(base_url=url + "/v1", api_key="k", max_retries=0)

    def one_request() -> Any:
        return client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content

    def one_stream() -> int:
        n = 0
        for chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            if chunk.choices:
                _ = chunk.choices[0].delta.content
            n += 1
        return n

    return one_request, one_stream, client.close


def openai_async(url: str) -> tuple[Any, Any, Any]:
    _require("openai", "openai")
    from openai import AsyncOpenAI
    client = AsyncOpenAI(base_url=url + "/v1", api_key="k", max_retries=0)

    async def one_request() -> Any:
        reply = await client.chat.completions.create(model="m", messages=MESSAGES)
        return reply.choices[0].message.content

    async def one_stream() -> int:
        n = 0
        async for chunk in await client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            if chunk.choices:
                _ = chunk.choices[0].delta.content
            n += 1
        return n

    return one_request, one_stream, client.close


def azure_sync(url: str) -> tuple[Any, Any, Any]:
    _require("azure.ai.inference", "azure-ai-inference")
    from azure.ai.inference import ChatCompletionsClient
    from azure.ai.inference.models import UserMessage
    from azure.core.credentials import AzureKeyCredential
    client = ChatCompletionsClient(endpoint=url, credential=AzureKeyCredential("k"), retry_total=0)
    messages = [UserMessage("hi")]

    def one_request() -> Any:
        return client.complete(messages=messages).choices[0].message.content

    def one_stream() -> int:
        n = 0
        with client.complete(messages=messages, stream=True) as updates:
            for update in updates:
                if update.choices:
                    _ = update.choices[0].delta.content
                n += 1
        return n

    return one_request, one_stream, client.close


def azure_async(url: str) -> tuple[Any, Any, Any]:
    _require("azure.ai.inference", "azure-ai-inference")
    _require("aiohttp", "aiohttp (needed by azure-ai-inference async)")
    from azure.ai.inference.aio import ChatCompletionsClient
    from azure.ai.inference.models import UserMessage
    from azure.core.credentials import AzureKeyCredential
    client = ChatCompletionsClient(endpoint=url, credential=AzureKeyCredential("k"), retry_total=0)
    messages = [UserMessage("hi")]

    async def one_request() -> Any:
        return (await client.complete(messages=messages)).choices[0].message.content

    async def one_stream() -> int:
        n = 0
        async with await client.complete(messages=messages, stream=True) as updates:
            async for update in updates:
                if update.choices:
                    _ = update.choices[0].delta.content
                n += 1
        return n

    return one_request, one_stream, client.close


FACTORIES: dict[str, Callable[[str], tuple[Any, Any, Any]]] = {
    "raw-httpx-sync": raw_sync,
    "raw-httpx-async": raw_async,
    "llama-azure-sync": llama_sync,
    "llama-azure-async": llama_async,
    "llama-azure-sync-traced": llama_sync_traced,
    "llama-azure-async-traced": llama_async_traced,
    "llama-azure-sync-traced-content": llama_sync_traced_content,
    "openai-sync": openai_sync,
    "openai-async": openai_async,
    "azure-ai-inference-sync": azure_sync,
    "azure-ai-inference-async": azure_async,
}


# --------------------------------------------------------------------------------------------------
# Measurement (inside a worker process)
# --------------------------------------------------------------------------------------------------

def _summary(request_cpu: list[float], n_requests: int, stream_cpu: list[float], chunks: int) -> dict[str, Any]:
    rates = [chunks / t for t in stream_cpu if t > 0]
    return {
        "us_per_request": min(request_cpu) / n_requests * 1e6,
        "us_per_request_median": statistics.median(request_cpu) / n_requests * 1e6,
        "chunks_per_s": max(rates),
        "chunks_per_s_median": statistics.median(rates),
    }


def _paired(name: str) -> list[str]:
    """The clients measured in one worker: ``name``, and (unless it is one) its mode's floor, alternating round
    by round, so that the ratio to the floor compares the same minutes of a shared machine."""
    floor = FLOOR[CLIENTS[name][1]]
    return [name] if name == floor else [name, floor]


def measure_sync(name: str, url: str, cfg: argparse.Namespace) -> dict[str, Any]:
    names = _paired(name)
    clients = [FACTORIES[n](url) for n in names]
    request_cpu: dict[str, list[float]] = {n: [] for n in names}
    stream_cpu: dict[str, list[float]] = {n: [] for n in names}
    try:
        for n, (one_request, one_stream, _) in zip(names, clients, strict=True):
            for _ in range(cfg.warmup):
                one_request()
            _check(n, one_stream(), cfg.chunks)
        gc.collect()  # the warm-up's garbage (validators built, imports): not the first timed round's to collect
        for _ in range(cfg.rounds):
            for n, (one_request, _, _) in zip(names, clients, strict=True):
                t0 = time.process_time()
                for _ in range(cfg.requests):
                    one_request()
                request_cpu[n].append(time.process_time() - t0)
        for _ in range(cfg.streams):
            for n, (_, one_stream, _) in zip(names, clients, strict=True):
                t0 = time.process_time()
                seen = one_stream()
                stream_cpu[n].append(time.process_time() - t0)
                _check(n, seen, cfg.chunks)
    finally:
        for _, _, close in clients:
            close()
    return _paired_summary(names, request_cpu, stream_cpu, cfg)


def measure_async(name: str, url: str, cfg: argparse.Namespace) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        names = _paired(name)
        clients = [FACTORIES[n](url) for n in names]
        request_cpu: dict[str, list[float]] = {n: [] for n in names}
        stream_cpu: dict[str, list[float]] = {n: [] for n in names}
        try:
            for n, (one_request, one_stream, _) in zip(names, clients, strict=True):
                for _ in range(cfg.warmup):
                    await one_request()
                _check(n, await one_stream(), cfg.chunks)
            gc.collect()
            for _ in range(cfg.rounds):
                for n, (one_request, _, _) in zip(names, clients, strict=True):
                    t0 = time.process_time()
                    for _ in range(cfg.requests):
                        await one_request()
                    request_cpu[n].append(time.process_time() - t0)
            for _ in range(cfg.streams):
                for n, (_, one_stream, _) in zip(names, clients, strict=True):
                    t0 = time.process_time()
                    seen = await one_stream()
                    stream_cpu[n].append(time.process_time() - t0)
                    _check(n, seen, cfg.chunks)
        finally:
            for _, _, close in clients:
                await close()
        return _paired_summary(names, request_cpu, stream_cpu, cfg)

    return asyncio.run(run())


def _paired_summary(names: list[str], request_cpu: dict[str, list[float]], stream_cpu: dict[str, list[float]],
                    cfg: argparse.Namespace) -> dict[str, Any]:
    result = _summary(request_cpu[names[0]], cfg.requests, stream_cpu[names[0]], cfg.chunks)
    if len(names) > 1:
        result["floor"] = _summary(request_cpu[names[1]], cfg.requests, stream_cpu[names[1]], cfg.chunks)
    return result


def _check(name: str, seen: int, expected: int) -> None:
    if seen != expected:
        raise RuntimeError(f"{name}: saw {seen} chunks, the server sent {expected}")


def version_of(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def worker(name: str, url: str, cfg: argparse.Namespace) -> dict[str, Any]:
    dist, mode = CLIENTS[name]
    try:
        result = (measure_sync if mode == "sync" else measure_async)(name, url, cfg)
    except Skipped as why:
        return {"skipped": str(why)}
    result["version"] = version_of(dist)
    return result


def profile(name: str, url: str, cfg: argparse.Namespace) -> None:
    """cProfile one client: the request loop and the stream loop separately, top functions by own time."""
    import cProfile
    import pstats

    mode = CLIENTS[name][1]
    one_request, one_stream, close = FACTORIES[name](url)
    runner: Callable[[Callable[[], Any]], Any]
    loop = asyncio.new_event_loop() if mode == "async" else None
    runner = (lambda f: loop.run_until_complete(f())) if loop else (lambda f: f())  # type: ignore[union-attr]
    runner(one_request)
    runner(one_stream)
    for label, work in (("per-request", lambda: [runner(one_request) for _ in range(cfg.requests)]),
                        ("stream", lambda: [runner(one_stream) for _ in range(cfg.streams)])):
        prof = cProfile.Profile()
        prof.enable()
        work()
        prof.disable()
        print(f"\n===== {name}: {label} =====")
        stats = pstats.Stats(prof).strip_dirs()
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)
    runner(close)
    if loop:
        loop.close()


# --------------------------------------------------------------------------------------------------
# Orchestration (parent process): the server, one worker process per client, the table
# --------------------------------------------------------------------------------------------------

def start_server(chunks: int, chunked: bool, http_chunk_bytes: int = 65536) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, str(HERE / "_canned_server.py"), "--chunks", str(chunks), "--lifetime", "1800"]
    if chunked:
        cmd += ["--chunked", "--http-chunk-bytes", str(http_chunk_bytes)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"the canned server did not start: {line!r}")
    return proc, f"http://127.0.0.1:{int(line.split()[1])}"


def stop_server(proc: subprocess.Popen[str]) -> None:
    if proc.stdin:
        proc.stdin.close()  # the server exits at EOF on stdin
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_worker(name: str, url: str, cfg: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", name, "--url", url,
           "--requests", str(cfg.requests), "--rounds", str(cfg.rounds), "--warmup", str(cfg.warmup),
           "--streams", str(cfg.streams), "--chunks", str(cfg.chunks)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=cfg.worker_timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {cfg.worker_timeout:.0f} s"}
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"worker failed: {tail}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def against_floor(results: dict[str, dict[str, Any]], name: str, key: str) -> tuple[float | None, str]:
    """``name``'s ``key`` figure as a ratio to the floor's: the floor figure divided by (the one measured in
    ``name``'s worker, else the floor's own row, see :func:`floor_of`) and the ratio, printed together so that
    every ratio names its denominator."""
    floor = floor_of(results, name).get(key)
    return floor, ratio(results.get(name, {}).get(key), floor)


def figure(value: float | None) -> str:
    return f"{value:,.0f}" if value else "n/a"


FLOOR = {"sync": "raw-httpx-sync", "async": "raw-httpx-async"}
STREAM_GOAL = 0.6  # chunks/s, at least this times the floor's
REQUEST_GOAL = 1.1  # CPU per request, at most this times the floor's


def floor_of(results: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """The floor to compare ``name`` with: the one measured alongside it in its worker, else the floor's own row."""
    r = results.get(name, {})
    if "floor" in r:
        return r["floor"]  # type: ignore[no-any-return]
    return results.get(FLOOR[CLIENTS[name][1]], {})


def print_table(results: dict[str, dict[str, Any]]) -> None:
    def get(name: str, key: str) -> float | None:
        return results.get(name, {}).get(key)

    print()
    print(f"{'client':<40} {'chunks/s (CPU)':>15} {'median':>9} {'floor':>9} {'vs floor':>9} {'vs openai':>10} "
          f"{'us/request':>11} {'median':>8} {'floor':>6} {'vs floor':>9} {'vs openai':>10} {'vs azure':>9}")
    for name, label in LABELS.items():
        r = results.get(name)
        if r is None:
            continue
        if "skipped" in r or "error" in r:
            print(f"{label:<40} {'skipped: ' + r['skipped'] if 'skipped' in r else 'ERROR: ' + r['error']}")
            continue
        mode = CLIENTS[name][1]
        oa, az = f"openai-{mode}", f"azure-ai-inference-{mode}"
        stream_floor, stream_ratio = against_floor(results, name, "chunks_per_s")
        request_floor, request_ratio = against_floor(results, name, "us_per_request")
        print(f"{label:<40} {r['chunks_per_s']:>15,.0f} {r['chunks_per_s_median']:>9,.0f} "
              f"{figure(stream_floor):>9} {stream_ratio:>9} "
              f"{ratio(r['chunks_per_s'], get(oa, 'chunks_per_s')):>10} "
              f"{r['us_per_request']:>11,.0f} {r['us_per_request_median']:>8,.0f} "
              f"{figure(request_floor):>6} {request_ratio:>9} "
              f"{ratio(r['us_per_request'], get(oa, 'us_per_request')):>10} "
              f"{ratio(r['us_per_request'], get(az, 'us_per_request')):>9}")
    print("(chunks/s: higher is better; us/request: lower is better; each ratio = this / the other client "
          "in the same mode and run; vs floor: this / the floor column, the floor measured in the same worker, "
          "round by round, which is not the floor's own row)")

    print_tracing_cost(results)
    print()
    for mode in ("sync", "async"):
        name = f"llama-azure-{mode}"
        mine = results.get(name, {})
        if "chunks_per_s" not in mine:
            continue
        stream_floor, stream_ratio = against_floor(results, name, "chunks_per_s")
        request_floor, request_ratio = against_floor(results, name, "us_per_request")
        oa = results.get(f"openai-{mode}", {})
        az = results.get(f"azure-ai-inference-{mode}", {})
        print(f"llama-azure {mode}: {mine['chunks_per_s']:,.0f} chunks/s "
              f"({stream_ratio} the floor's {figure(stream_floor)}, "
              f"{ratio(mine['chunks_per_s'], oa.get('chunks_per_s'))} openai), "
              f"{mine['us_per_request']:,.0f} us/request "
              f"({request_ratio} the floor's {figure(request_floor)}, "
              f"{ratio(mine['us_per_request'], oa.get('us_per_request'))} openai, "
              f"{ratio(mine['us_per_request'], az.get('us_per_request'))} azure-ai-inference)")
        if stream_floor and request_floor:
            ok = mine["chunks_per_s"] >= STREAM_GOAL * stream_floor
            print(f"  goal streamed chunks/s >= {STREAM_GOAL}x the floor: {'MET' if ok else 'MISSED'}")
            ok = mine["us_per_request"] <= REQUEST_GOAL * request_floor
            print(f"  goal CPU per request <= {REQUEST_GOAL}x the floor: {'MET' if ok else 'MISSED'}")
        if "chunks_per_s" in oa:
            ok = mine["chunks_per_s"] >= 1.5 * oa["chunks_per_s"]
            print(f"  aim streamed chunks/s >= 1.5x openai-python: {'MET' if ok else 'MISSED'}")
        rivals = [x["us_per_request"] for x in (oa, az) if "us_per_request" in x]
        if rivals:
            ok = mine["us_per_request"] <= min(rivals)
            print(f"  aim per-request overhead <= each competitor: {'MET' if ok else 'MISSED'}")


def print_tracing_cost(results: dict[str, dict[str, Any]]) -> None:
    """What tracing adds to llama-azure's per-call and per-chunk CPU (same run, same server)."""
    for traced, plain in (("llama-azure-sync-traced", "llama-azure-sync"), ("llama-azure-async-traced",
                          "llama-azure-async"), ("llama-azure-sync-traced-content", "llama-azure-sync")):
        on, off = results.get(traced, {}), results.get(plain, {})
        if "us_per_request" in on and "us_per_request" in off:
            extra = on["us_per_request"] - off["us_per_request"]
            print(f"{LABELS[traced]}: {on['us_per_request']:,.0f} us/request vs {off['us_per_request']:,.0f} off "
                  f"({extra:+,.0f} us, {extra / off['us_per_request']:+.0%}); streams "
                  f"{on['chunks_per_s']:,.0f} vs {off['chunks_per_s']:,.0f} chunks/s")


def main() -> None:
    parser = argparse.ArgumentParser(description="Client CPU overhead: llama-azure vs openai-python vs "
                                                 "azure-ai-inference vs raw httpx.")
    parser.add_argument("--quick", action="store_true", help="fewer requests and streams (a few seconds)")
    parser.add_argument("--framing", choices=("both", "content-length", "chunked"), default="both",
                        help="how the server frames the stream body: Content-Length, chunked, or both (two tables)")
    parser.add_argument("--chunked", action="store_true", help="the same as --framing chunked")
    parser.add_argument("--http-chunk-bytes", type=int, default=65536,
                        help="chunked framing: bytes of events per HTTP chunk (0: one HTTP chunk per event)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="run the set of clients this many times, interleaved; each client's best counts")
    parser.add_argument("--only", nargs="+", choices=list(CLIENTS), help="measure only these clients")
    parser.add_argument("--tracing", action="store_true",
                        help="only llama-azure, OpenTelemetry tracing off and on (needs opentelemetry-sdk)")
    parser.add_argument("--profile", choices=list(CLIENTS), help="cProfile one client instead of the table")
    parser.add_argument("--json", type=Path, help="also write the raw results to this file")
    parser.add_argument("--requests", type=int, default=None, help="non-streamed requests per round")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of requests (best one counts)")
    parser.add_argument("--streams", type=int, default=None, help="streams per client (best one counts)")
    parser.add_argument("--chunks", type=int, default=4000, help="chunks per stream")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--worker-timeout", type=float, default=240.0)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    cfg = parser.parse_args()
    cfg.requests = cfg.requests or (100 if cfg.quick else 600)
    cfg.rounds = cfg.rounds or (1 if cfg.quick else 3)
    cfg.streams = cfg.streams or (2 if cfg.quick else 7)
    cfg.repeat = cfg.repeat or (1 if cfg.quick else 2)
    if cfg.tracing:
        cfg.only = [name for name in CLIENTS if name.startswith("llama-azure-")]

    if cfg.worker:
        print(json.dumps(worker(cfg.worker, cfg.url, cfg)))
        return

    if cfg.chunked:
        cfg.framing = "chunked"
    framings = ["content-length", "chunked"] if cfg.framing == "both" else [cfg.framing]
    if cfg.profile:
        server, url = start_server(cfg.chunks, framings[0] == "chunked", cfg.http_chunk_bytes)
        try:
            profile(cfg.profile, url, cfg)
        finally:
            stop_server(server)
        return
    versions = {d: version_of(d) for d in ("llama-azure", "openai", "azure-ai-inference", "azure-core",
                                           "opentelemetry-api", "opentelemetry-sdk",
                                           "httpx", "pydantic", "pydantic-core", "aiohttp", "requests")}
    print(f"{cfg.requests} requests x {cfg.rounds} rounds, {cfg.streams} streams x {cfg.chunks} chunks, "
          f"best of {cfg.repeat} interleaved run(s); python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print("versions: " + ", ".join(f"{d} {v or 'not installed'}" for d, v in versions.items()))
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    for framing in framings:
        tables[framing] = run_framing(framing, cfg)
    if cfg.json:
        cfg.json.write_text(json.dumps({"results": tables, "versions": versions}, indent=2))


def run_framing(framing: str, cfg: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Every client against one server framing the stream body one way; prints the table."""
    chunked = framing == "chunked"
    server, url = start_server(cfg.chunks, chunked, cfg.http_chunk_bytes)
    try:
        what = ("chunked body, " + (f"one HTTP chunk per {cfg.http_chunk_bytes:,} bytes of events"
                                    if cfg.http_chunk_bytes > 0 else "one HTTP chunk per event")
                if chunked else "Content-Length body")
        print(f"\n=== {what} (canned server {url}, pid {server.pid}) ===")
        results: dict[str, dict[str, Any]] = {}
        names = list(cfg.only or CLIENTS)
        # The floors' own rows (each other client also measures its floor in its worker, for the ratio).
        names = [floor for mode, floor in FLOOR.items()
                 if floor not in names and any(CLIENTS[n][1] == mode for n in names)] + names
        for _ in range(cfg.repeat):
            for name in names:
                r = run_worker(name, url, cfg)
                results[name] = best_of(results.get(name), r)
                status = r.get("skipped") or r.get("error") or (
                    f"{r['chunks_per_s']:,.0f} chunks/s, {r['us_per_request']:,.0f} us/request" + (
                        f" (the floor in this worker: {r['floor']['chunks_per_s']:,.0f} chunks/s, "
                        f"{r['floor']['us_per_request']:,.0f} us/request)" if "floor" in r else ""))
                print(f"  {LABELS[name]:<40} {status}", flush=True)
        print_table(results)
        return results
    finally:
        stop_server(server)


def best_of(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Two runs of one client: the best stream and the best request round (medians from the same runs)."""
    if old is None or "chunks_per_s" not in old:
        return new
    if "chunks_per_s" not in new:
        return old
    # The run with the better ratio to its own floor (or the better figure, for a floor), per figure.
    def score(r: dict[str, Any], key: str) -> float:
        floor = r.get("floor", {}).get(key)
        return r[key] / floor if floor else r[key]

    best = {**old, "floor": dict(old.get("floor", {}))}
    for key, median, higher in (("chunks_per_s", "chunks_per_s_median", True),
                                ("us_per_request", "us_per_request_median", False)):
        if (score(new, key) > score(old, key)) == higher and score(new, key) != score(old, key):
            best[key], best[median] = new[key], new[median]
            if "floor" in new:
                best["floor"][key], best["floor"][median] = new["floor"][key], new["floor"][median]
    if not best["floor"]:
        del best["floor"]
    return best

if __name__ == "__main__":
    main()
