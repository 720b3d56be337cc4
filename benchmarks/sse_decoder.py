"""Micro-benchmark for llama_azure._streaming.sse.SSEDecoder.

Feeds 100,000 typical chat-completion-chunk events (about 300 bytes each) in 4 KiB chunks and
prints the number of events decoded per second (best of several runs, wall-clock).

    .venv/bin/python benchmarks/sse_decoder.py [--events N] [--chunk-size BYTES] [--repeat R] [--crlf]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, installed or not

from llama_azure._streaming.sse import SSEDecoder


def make_stream(n_events: int, crlf: bool) -> bytes:
    eol = b"\r\n" if crlf else b"\n"
    parts: list[bytes] = []
    for i in range(n_events):
        chunk = {
            "id": "chatcmpl-8f1c2a9e4b7d4c0e9a3b5d6f7e8a9b0c",
            "object": "chat.completion.chunk",
            "created": 1718000000 + i // 50,
            "model": "Llama-3.3-70B-Instruct",
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": f" token{i % 1000} ünï"},
                    "logprobs": None,
                    "finish_reason": None,
                }
            ],
            "system_fingerprint": "fp_a1b2c3d4e5",
            "usage": None,
        }
        parts.append(b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + eol + eol)
    parts.append(b"data: [DONE]" + eol + eol)
    return b"".join(parts)


def run(stream: bytes, chunk_size: int) -> tuple[int, float]:
    chunks = [stream[i : i + chunk_size] for i in range(0, len(stream), chunk_size)]
    decoder = SSEDecoder()
    count = 0
    start = time.perf_counter()
    for chunk in chunks:
        count += len(decoder.feed(chunk))
    count += len(decoder.flush())
    return count, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--crlf", action="store_true", help="use CRLF line ends (slow path)")
    args = parser.parse_args()

    stream = make_stream(args.events, args.crlf)
    avg = len(stream) / (args.events + 1)
    best = float("inf")
    count = 0
    for _ in range(args.repeat):
        count, elapsed = run(stream, args.chunk_size)
        best = min(best, elapsed)
    assert count == args.events + 1, count
    print(
        f"{count:,} events, {len(stream) / 1e6:.1f} MB (~{avg:.0f} B/event), {args.chunk_size} B chunks, "
        f"{'CRLF' if args.crlf else 'LF'}: best {best * 1e3:.0f} ms -> {count / best:,.0f} events/s"
    )


if __name__ == "__main__":
    main()
