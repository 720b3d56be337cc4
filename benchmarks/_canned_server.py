"""A canned chat-completions server for client benchmarks (127.0.0.1 only, HTTP/1.1 keep-alive).

Answers ``POST /v1/chat/completions`` and ``POST /chat/completions`` (any query string) with a fixed
chat completion, or, when the JSON body has ``"stream": true``, a pre-built SSE body of ``--chunks``
``chat.completion.chunk`` events (the last with ``finish_reason: "stop"`` and usage), then
``data: [DONE]``. The body is sent with ``Content-Length`` in one write, or with ``--chunked`` as
``Transfer-Encoding: chunked``, one HTTP chunk per ``--http-chunk-bytes`` of events (64 KiB by default;
0: one HTTP chunk per event, closer to a live model's token-by-token flushes).

Run as a child process: it prints ``PORT <n>`` on stdout once listening, and exits when its stdin
closes (the parent ended) or after ``--lifetime`` seconds, whichever comes first.

    python benchmarks/_canned_server.py --chunks 4000 [--chunked [--http-chunk-bytes N]] [--lifetime 900]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMPLETION = json.dumps({
    "id": "chatcmpl-x",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there!"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
}, separators=(",", ":")).encode()

CHUNK_EVENT = (b'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m",'
               b'"choices":[{"index":0,"delta":{"content":"tok"},"finish_reason":null}]}\n\n')


def last_event(n_chunks: int) -> bytes:
    usage = {"prompt_tokens": 5, "completion_tokens": n_chunks, "total_tokens": n_chunks + 5}
    payload = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": {"content": "tok"}, "finish_reason": "stop"}], "usage": usage}
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def build_events(n_chunks: int) -> list[bytes]:
    """``n_chunks`` chunk events (the last one finishing, with usage), then ``[DONE]``."""
    return [CHUNK_EVENT] * (n_chunks - 1) + [last_event(n_chunks), b"data: [DONE]\n\n"]


def http_chunks(events: list[bytes], size: int) -> list[bytes]:
    """The pieces the chunked body is cut into: whole events, about ``size`` bytes each (0: one per event)."""
    if size <= 0:
        return events
    pieces: list[bytes] = []
    current: list[bytes] = []
    length = 0
    for event in events:
        current.append(event)
        length += len(event)
        if length >= size:
            pieces.append(b"".join(current))
            current, length = [], 0
    if current:
        pieces.append(b"".join(current))
    return pieces


def make_handler(n_chunks: int, chunked: bool, chunk_bytes: int = 65536) -> type[BaseHTTPRequestHandler]:
    events = build_events(n_chunks)
    sse_body = b"".join(events)
    sse_chunked = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in http_chunks(events, chunk_bytes)) + b"0\r\n\r\n"

    def head(content_type: bytes, length: int | None) -> bytes:
        framing = b"transfer-encoding: chunked" if length is None else b"content-length: %d" % length
        return (b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\n" + framing +
                b"\r\nx-request-id: req-1\r\nconnection: keep-alive\r\n\r\n")

    json_response = head(b"application/json", len(COMPLETION)) + COMPLETION
    sse_response = (head(b"text/event-stream", None) + sse_chunked if chunked
                    else head(b"text/event-stream", len(sse_body)) + sse_body)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            if not path.endswith("/chat/completions"):
                self.send_error(404)
                return
            try:
                stream = bool(json.loads(raw or b"{}").get("stream"))
            except ValueError:
                self.send_error(400)
                return
            self.wfile.write(sse_response if stream else json_response)

        def log_message(self, format: str, *args: object) -> None:  # silence per-request logging
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=4000)
    parser.add_argument("--chunked", action="store_true", help="Transfer-Encoding: chunked instead of Content-Length")
    parser.add_argument("--http-chunk-bytes", type=int, default=65536,
                        help="with --chunked: bytes of events per HTTP chunk (0: one HTTP chunk per event)")
    parser.add_argument("--lifetime", type=float, default=900.0, help="exit after this many seconds")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args.chunks, args.chunked, args.http_chunk_bytes))
    server.daemon_threads = True
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PORT {server.server_address[1]}", flush=True)

    def wait_for_parent() -> None:
        sys.stdin.read()  # returns at EOF: the parent closed the pipe or died
        os._exit(0)

    threading.Thread(target=wait_for_parent, daemon=True).start()
    threading.Event().wait(args.lifetime)
    os._exit(0)


if __name__ == "__main__":
    main()
