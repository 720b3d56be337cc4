"""Streams read to their end give their connection back to the pool; streams left early close at once.

Connections are counted with httpcore's own trace log (``connect_tcp.started`` on logger
``httpcore.connection``): one per TCP connection the client opens.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from support.shells import USER_HI, Handler, Shell, make_client, mock_shell
from support.wire import DONE, chunk, event

from llama_azure import AsyncStream

STREAMS = 6


def tcp_connects(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for r in caplog.records
               if r.name == "httpcore.connection" and r.getMessage().startswith("connect_tcp.started"))


async def test_streams_read_to_the_end_reuse_one_connection(shell: Shell, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="httpcore.connection")
    for _ in range(STREAMS):
        stream = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=3, stream=True))
        await shell.until_done(stream)
    for _ in range(2):  # and a plain loop over the chunks, as most callers write it
        text_stream = await shell.run(lambda c: c.completions.create(prompt="Once", max_tokens=3, stream=True))
        assert await shell.chunks(text_stream)
    assert tcp_connects(caplog) == 1


class _Counted(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body of ``parts`` that counts how many of them were read."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts
        self.read = 0

    def __iter__(self) -> Iterator[bytes]:
        for part in self.parts:
            self.read += 1
            yield part

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            self.read += 1
            yield part


def counted_sse(body: _Counted) -> Handler:
    return lambda request: httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)


async def test_a_stream_left_early_is_closed_without_reading_on(shell_kind: str) -> None:
    events = [event(chunk(f"w{i} ")) for i in range(500)]
    body = _Counted([*events, b"data: [DONE]\n\n"])
    async with mock_shell(shell_kind, counted_sse(body)) as shell:
        stream = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, stream=True))
        if isinstance(stream, AsyncStream):
            async for _ in stream:
                break
        else:
            for _ in stream:
                break
        await shell.close(stream)
        assert body.read == 1


async def test_what_follows_done_is_read_only_within_a_byte_budget(shell_kind: str) -> None:
    from llama_azure._streaming.streams import DRAIN_MAX_BYTES

    junk = b": " + b"x" * 4094 + b"\n"  # 4 KiB comment lines after [DONE]
    body = _Counted([event(chunk("hi")) + DONE, *[junk] * 1000])
    async with mock_shell(shell_kind, counted_sse(body)) as shell:
        stream = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, stream=True))
        assert [ch.choices[0].delta.content for ch in await shell.chunks(stream)] == ["hi"]
        assert 1 < body.read <= 2 + DRAIN_MAX_BYTES // len(junk)


class _StallAfterDone:
    """A loopback HTTP server that sends one stream up to [DONE], then holds back the end of the body
    until released (or until it gives up after ``patience`` seconds)."""

    def __init__(self, patience: float = 30.0) -> None:
        self.patience = patience
        self.release = threading.Event()
        self.gave_up = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            events = event(chunk("hi")) + DONE
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                         + f"{len(events):x}\r\n".encode() + events + b"\r\n")
            self.gave_up = not self.release.wait(self.patience)
            conn.sendall(b"0\r\n\r\n")

    def close(self) -> None:
        self.release.set()
        self.thread.join(timeout=self.patience + 5)
        self.listener.close()


async def test_a_server_that_holds_back_the_end_after_done_does_not_hold_the_caller(shell_kind: str) -> None:
    server = _StallAfterDone()
    with contextlib.closing(server):
        async with Shell(make_client(shell_kind, server.url, "loopback-key", timeout=60.0, max_retries=0)) as shell:
            stream = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, stream=True))
            assert [ch.choices[0].delta.content for ch in await shell.chunks(stream)] == ["hi"]
            assert not server.gave_up  # the stream ended while the server still held the end of the body
