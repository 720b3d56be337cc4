"""Reference server throughput: tokens/s streamed through HTTP versus llama-cpp-python in-process.

    .venv/bin/python benchmarks/server_throughput.py [--tokens 256] [--rounds 3]

Both sides load the same GGUF (the bundled SmolLM2-135M-Instruct unless --model is given) with the same
settings (n_ctx 2048, the server's default thread count unless --threads is given), generate the same
greedy tokens for the same prompt, and are timed alternately, round after round. The in-process side
evaluates the prompt each time (no KV cache reuse), as the server does to keep temperature-0 answers
bit-identical. Reported: median tokens/s of each side, their ratio (server / in-process), and median
time to first token; then the latency of back-to-back requests on one kept-alive connection (``GET /info``
and a non-streamed 4-token completion), where a server without ``TCP_NODELAY`` adds a delayed ACK (~40 ms).

    .venv/bin/python benchmarks/server_throughput.py --compare-repack [--tokens 256] [--rounds 5]

compares instead, in-process and alternately round after round, the model loaded with llama.cpp's repacked
weights (``--weight-repack on``) and without them (``off``, what ``auto`` chooses where the AMX path could run).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import httpx

from llama_azure.server.cli import default_threads
from llama_azure.server.loading import load_llama
from llama_azure.server.model_path import bundled_model_path
from llama_azure.server.process import ReferenceServer

PROMPT = "Count: one, two, three,"


def in_process(llm: object, tokens: int) -> tuple[float, float, int]:
    """(tokens/s, time to first token, tokens) for llama-cpp-python streaming the same completion."""
    llm.reset()  # type: ignore[attr-defined]  # evaluate the prompt, as the server does for every request
    start = time.perf_counter()
    first = 0.0
    count = 0
    for chunk in llm.create_completion(  # type: ignore[attr-defined]
        PROMPT, max_tokens=tokens, temperature=0.0, top_k=0, min_p=0.0, top_p=1.0, stream=True
    ):
        if chunk["choices"][0]["text"]:
            if count == 0:
                first = time.perf_counter() - start
            count += 1
    elapsed = time.perf_counter() - start
    return count / elapsed, first, count


def through_server(client: httpx.Client, tokens: int) -> tuple[float, float, int]:
    """(tokens/s, time to first token, tokens) for the same completion streamed by the reference server."""
    body = {"prompt": PROMPT, "max_tokens": tokens, "temperature": 0, "stream": True}
    start = time.perf_counter()
    first = 0.0
    used = 0
    with client.stream("POST", "/v1/completions", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            if first == 0.0 and chunk["choices"][0]["text"]:
                first = time.perf_counter() - start
            if "usage" in chunk:
                used = chunk["usage"]["completion_tokens"]
    elapsed = time.perf_counter() - start
    return used / elapsed, first, used


def kept_alive_latency(client: httpx.Client, repeats: int = 30) -> tuple[float, float]:
    """Median ms of ``GET /info`` and of a 4-token completion, sent back to back on one kept-alive connection."""
    info: list[float] = []
    completion: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        client.get("/info", params={"api-version": "2025-04-01"}).raise_for_status()
        info.append(time.perf_counter() - start)
    for _ in range(repeats // 3):
        start = time.perf_counter()
        client.post("/v1/completions", json={"prompt": PROMPT, "max_tokens": 4, "temperature": 0}).raise_for_status()
        completion.append(time.perf_counter() - start)
    return statistics.median(info) * 1000, statistics.median(completion) * 1000


def compare_repack(model: Path, threads: int, tokens: int, rounds: int) -> None:
    """Tokens/s in-process with repacked weights and without, alternately, on the same prompt."""
    import llama_cpp

    loaded = {choice: load_llama(llama_cpp, model, n_ctx=2048, n_threads=threads, repack=choice)[0]
              for choice in ("on", "off")}
    runs: dict[str, list[tuple[float, float, int]]] = {"on": [], "off": []}
    for llm in loaded.values():
        in_process(llm, 8)  # warm up
    for _ in range(rounds):
        for choice, llm in loaded.items():
            runs[choice].append(in_process(llm, tokens))
    print(f"model: {model.name}, {threads} threads, {tokens} tokens x {rounds} rounds, in-process")
    for choice, results in runs.items():
        tps = statistics.median(r[0] for r in results)
        ttft = statistics.median(r[1] for r in results) * 1000
        print(f"weight repacking {choice:3}: {tps:7.1f} tokens/s, first token {ttft:6.1f} ms "
              f"(rounds: {', '.join(f'{r[0]:.1f}' for r in results)})")
    for llm in loaded.values():
        llm.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument(
        "--threads", type=int, default=default_threads(), help="llama.cpp threads on both sides (server default)"
    )
    parser.add_argument("--compare-repack", action="store_true", help="weights repacked or not, in-process")
    args = parser.parse_args()
    model = args.model or bundled_model_path()
    if args.compare_repack:
        compare_repack(model, args.threads, args.tokens, args.rounds)
        return

    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=str(model), n_ctx=2048, n_threads=args.threads, n_threads_batch=args.threads, verbose=False
    )
    server_args = ["--model", str(model), "--threads", str(args.threads)]
    local: list[tuple[float, float, int]] = []
    remote: list[tuple[float, float, int]] = []
    with (
        ReferenceServer(api_key="bench", args=server_args) as srv,
        httpx.Client(base_url=srv.url, headers={"api-key": "bench"}, timeout=300) as client,
    ):
        in_process(llm, 8)  # warm up both sides
        through_server(client, 8)
        for _ in range(args.rounds):
            local.append(in_process(llm, args.tokens))
            remote.append(through_server(client, args.tokens))
        info_ms, completion_ms = kept_alive_latency(client)

    local_tps = statistics.median(r[0] for r in local)
    remote_tps = statistics.median(r[0] for r in remote)
    print(f"model: {model.name}, {args.threads} threads, prompt {PROMPT!r}")
    print(f"{args.tokens} tokens x {args.rounds} rounds")
    print(f"tokens generated per round: in-process {[r[2] for r in local]}, server {[r[2] for r in remote]}")
    local_ttft = statistics.median(r[1] for r in local) * 1000
    remote_ttft = statistics.median(r[1] for r in remote) * 1000
    print(f"in-process llama-cpp-python : {local_tps:7.1f} tokens/s, first token {local_ttft:6.1f} ms")
    print(f"reference server over HTTP  : {remote_tps:7.1f} tokens/s, first token {remote_ttft:6.1f} ms")
    print(f"ratio server / in-process   : {remote_tps / local_tps:.3f}")
    print(f"kept-alive connection, back to back: GET /info {info_ms:.1f} ms, 4-token completion {completion_ms:.1f} ms")


if __name__ == "__main__":
    main()
