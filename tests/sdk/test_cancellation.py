"""Cancelled and abandoned streams give their connection back (anchors complaints 1, 2, 3 and 11).

One test cancels real reference-server streams; the 1,000-stream loops use a canned SSE server on
127.0.0.1 (endless token stream, one event per millisecond) so they run in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.descriptors import collect_what_earlier_tests_left, open_fds, settled_fds
from support.waiting import eventually, wait_for_event
from support.wire import delta_chunk, event

from llama_azure import AsyncLlamaClient, LlamaClient
from llama_azure.server.process import ReferenceServer
from llama_azure.types import ChatMessageParam

HI: list[ChatMessageParam] = [{"role": "user", "content": "Write a long story about a dragon."}]
CONNECTIONS = 8
POOL = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
TIMEOUT = httpx.Timeout(10.0, pool=3.0)  # an exhausted pool fails fast instead of hanging
ROUNDS = 1000
FD_SLACK = 4


_ROLE = event(delta_chunk("", role="assistant"))
_TOKEN = event(delta_chunk("tok "))
_MAX_EVENTS = 5000  # bounded: the canned stream ends by itself after ~5 s


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.closing(writer), contextlib.suppress(
            asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):  # the client went away
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            for i in range(_MAX_EVENTS):
                part = _ROLE if i == 0 else _TOKEN
                writer.write(b"%x\r\n%s\r\n" % (len(part), part))
                await writer.drain()
                await asyncio.sleep(0.001)
            writer.write(b"0\r\n\r\n")
            await writer.drain()


@pytest.fixture(scope="module")
def canned_url() -> Iterator[str]:
    """An endless-stream SSE server in a thread of its own (own event loop), for both shells."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        server = await asyncio.start_server(_serve_connection, "127.0.0.1", 0)
        holder["port"] = server.sockets[0].getsockname()[1]
        holder["stop"] = asyncio.Event()
        started.set()
        async with server:
            await holder["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10)
    yield f"http://127.0.0.1:{holder['port']}"
    loop.call_soon_threadsafe(holder["stop"].set)
    thread.join(10)
    for task in asyncio.all_tasks(loop):
        task.cancel()
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()


async def read_to_the_end(stream: AsyncIterable[Any]) -> None:
    async for _ in stream:
        pass


async def _one_cancelled_stream(client: AsyncLlamaClient, how: int) -> None:
    stream = await client.chat.completions.create(messages=HI, max_tokens=8, stream=True)
    if how == 0:  # task.cancel() while the task waits for the next chunk
        reading = asyncio.Event()

        async def read_all() -> None:
            async for _ in stream:
                reading.set()

        task = asyncio.ensure_future(read_all())
        await wait_for_event(reading, what="the first chunk")  # the task now waits for the next one
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    elif how == 1:  # a timeout around the reading (asyncio.wait_for: asyncio.timeout needs Python 3.11)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(read_to_the_end(stream), 0.003)
    elif how == 2:  # abandoned: break, no close, no context manager
        async for _ in stream:
            break
        del stream
    else:  # context manager, leave early
        async with stream:
            async for _ in stream:
                break


async def test_1000_cancelled_or_abandoned_async_streams_leak_nothing(canned_url: str) -> None:
    collect_what_earlier_tests_left()
    async with httpx.AsyncClient(limits=POOL, timeout=TIMEOUT) as http, AsyncLlamaClient(
        canned_url, "k", http_client=http, max_retries=0
    ) as client:
        for how in range(4):  # warm up the pool and the imports
            await _one_cancelled_stream(client, how)
        gc.collect()
        baseline = await settled_fds()
        for i in range(ROUNDS):
            await _one_cancelled_stream(client, i % 4)
        gc.collect()
        assert await settled_fds() <= baseline + CONNECTIONS + FD_SLACK
        # The pool still serves: a stream read to its first chunks works.
        stream = await client.chat.completions.create(messages=HI, max_tokens=8, stream=True)
        async with stream:
            async for chunk in stream:
                assert chunk.choices
                break


def test_1000_abandoned_sync_streams_leak_nothing(canned_url: str) -> None:
    collect_what_earlier_tests_left()
    with httpx.Client(limits=POOL, timeout=TIMEOUT) as http, LlamaClient(
        canned_url, "k", http_client=http, max_retries=0
    ) as client:
        def one(i: int) -> None:
            stream = client.chat.completions.create(messages=HI, max_tokens=8, stream=True)
            if i % 3 == 0:
                for _ in stream:
                    break
            elif i % 3 == 1:
                with stream:
                    next(iter(stream))
            else:
                try:
                    for _ in stream:
                        raise KeyError("user code failed mid-stream")
                except KeyError:
                    pass

        for i in range(3):
            one(i)
        gc.collect()
        baseline = open_fds()
        for i in range(ROUNDS):
            one(i)
        gc.collect()
        assert open_fds() <= baseline + CONNECTIONS + FD_SLACK
        with client.chat.completions.create(messages=HI, max_tokens=8, stream=True) as stream:
            assert next(iter(stream)).choices


async def test_cancelling_real_server_streams_releases_connections(server: ReferenceServer) -> None:
    pool = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    async with httpx.AsyncClient(limits=pool, timeout=httpx.Timeout(60.0, pool=5.0)) as http, AsyncLlamaClient(
        server.url, server.api_key, http_client=http, max_retries=0
    ) as client:
        for i in range(6):
            stream = await client.chat.completions.create(messages=HI, max_tokens=64, stream=True)
            if i % 2:
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(read_to_the_end(stream), 0.2)
            else:
                reading = asyncio.Event()

                async def read_all(s: Any = stream, reading: asyncio.Event = reading) -> None:
                    async for _ in s:
                        reading.set()

                task = asyncio.ensure_future(read_all())
                await wait_for_event(reading, timeout=60, what="the first chunk")  # now waiting for the next
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
        reply = await client.chat.completions.create(messages=HI, max_tokens=2)
        assert reply.content is not None
        # The server saw the disconnects and stopped generating for them.
        async def idle() -> dict[str, Any] | None:
            stats: dict[str, Any] = (await http.get(f"{server.url}/_server/stats",
                                                    headers={"api-key": server.api_key})).json()
            return stats if stats["active_generations"] == 0 and stats["queued"] == 0 else None

        stats = await eventually(idle, timeout=30, what="no generation running or queued")
        assert stats["generations_cancelled"] >= 1, stats


def test_an_unclosed_client_would_fail_the_suite(server: ReferenceServer, tmp_path: Path) -> None:
    """The guard itself: with this project's settings (warnings are errors), a leaked connection
    (a ResourceWarning in a finalizer, reported by pytest as unraisable) fails the run; closed, it passes."""
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nfilterwarnings = error\nasyncio_default_fixture_loop_scope = function\n"
    )
    test_file = tmp_path / "test_leak.py"
    test_file.write_text(textwrap.dedent("""
        import gc, os
        from llama_azure import LlamaClient

        def test_client() -> None:
            client = LlamaClient(os.environ["LEAK_URL"], os.environ["LEAK_KEY"], max_retries=0)
            client.get_model_info()
            if os.environ["LEAK"] == "1":
                del client  # never closed: its pooled socket is left to the garbage collector
            else:
                client.close()
            gc.collect()
    """))

    def run(leak: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LEAK_URL": server.url, "LEAK_KEY": server.api_key, "LEAK": leak}
        args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)]
        return subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=100)

    closed = run("0")
    assert closed.returncode == 0, closed.stdout + closed.stderr
    leaked = run("1")
    assert leaked.returncode != 0, leaked.stdout
    assert "ResourceWarning" in leaked.stdout and "unclosed" in leaked.stdout, leaked.stdout
