"""Streams left early give their connection back to the pool (anchors complaint 1).

Two ways out are checked, 200 times each, with a pool of four connections:
- ``with stream:`` / ``async with stream:`` while the caller still holds the half-read stream: only the
  stream's own ``close()`` can free the connection here (nothing is garbage collected);
- a plain ``break`` with no context manager, the stream then dropped: its clean-up closes the response.
A stream dropped without ever being read is closed when it is garbage collected (sync: at once; async:
handed to its event loop, never to a closed one).
"""

from __future__ import annotations

import gc
from typing import Any

import httpx
from support.descriptors import collect_what_earlier_tests_left

from llama_azure import AsyncLlamaClient, LlamaClient
from llama_azure.server.process import ReferenceServer
from llama_azure.types import ChatMessageParam

MESSAGES: list[ChatMessageParam] = [{"role": "user", "content": "Write a long story about a dragon."}]
EARLY_EXITS = 200
CONNECTIONS = 4
POOL = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
TIMEOUT = httpx.Timeout(30.0, pool=5.0)  # an exhausted pool fails fast instead of hanging


def test_sync_early_exits_do_not_exhaust_the_pool(server: ReferenceServer) -> None:
    held: list[Any] = []  # half-read streams the caller keeps: they must not pin connections
    with httpx.Client(limits=POOL, timeout=TIMEOUT) as http, LlamaClient(
        server.url, server.api_key, http_client=http, max_retries=0
    ) as client:
        for i in range(EARLY_EXITS):
            stream = client.chat.completions.create(messages=MESSAGES, max_tokens=32, stream=True)
            if i % 2:
                with stream:
                    next(stream)
                    held.append(stream)
            else:
                for _chunk in stream:
                    break
        reply = client.chat.completions.create(messages=MESSAGES, max_tokens=2)
        assert reply.content is not None
    assert len(held) == EARLY_EXITS // 2


async def test_async_early_exits_do_not_exhaust_the_pool(server: ReferenceServer) -> None:
    held: list[Any] = []
    async with httpx.AsyncClient(limits=POOL, timeout=TIMEOUT) as http, AsyncLlamaClient(
        server.url, server.api_key, http_client=http, max_retries=0
    ) as client:
        for i in range(EARLY_EXITS):
            stream = await client.chat.completions.create(messages=MESSAGES, max_tokens=32, stream=True)
            if i % 2:
                async with stream:
                    await anext(stream)
                    held.append(stream)
            else:
                async for _chunk in stream:
                    break
        reply = await client.chat.completions.create(messages=MESSAGES, max_tokens=2)
        assert reply.content is not None
    assert len(held) == EARLY_EXITS // 2


def test_sync_streams_dropped_unread_release_their_connection(server: ReferenceServer) -> None:
    collect_what_earlier_tests_left()
    with httpx.Client(limits=POOL, timeout=TIMEOUT) as http, LlamaClient(
        server.url, server.api_key, http_client=http, max_retries=0
    ) as client:
        for _ in range(3 * CONNECTIONS):  # more than the pool holds
            stream = client.chat.completions.create(messages=MESSAGES, max_tokens=32, stream=True)
            del stream  # never read, never closed
            gc.collect()
        assert client.chat.completions.create(messages=MESSAGES, max_tokens=2).content is not None


async def test_async_streams_dropped_unread_release_their_connection(server: ReferenceServer) -> None:
    collect_what_earlier_tests_left()
    async with httpx.AsyncClient(limits=POOL, timeout=TIMEOUT) as http, AsyncLlamaClient(
        server.url, server.api_key, http_client=http, max_retries=0
    ) as client:
        for _ in range(3 * CONNECTIONS):
            stream = await client.chat.completions.create(messages=MESSAGES, max_tokens=32, stream=True)
            del stream
            gc.collect()  # the close is handed to this loop: the next request's wait for the pool lets it run
        assert (await client.chat.completions.create(messages=MESSAGES, max_tokens=2)).content is not None
