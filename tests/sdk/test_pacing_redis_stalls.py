"""A slow or hung Redis behind a shared budget (``RateLimit(store="redis://...")``), against a real server and
a Redis of this module's own (paused with ``CLIENT PAUSE``, or stopped with SIGSTOP, without disturbing the
other tests' Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from llama_azure import AsyncLlamaClient, Deployment, RateLimit
from llama_azure.server.process import ReferenceServer
from llama_azure.server.redis_process import RedisServer

from .pacing_helpers import HI

STALL = 2.0  # seconds Redis answers nobody
TICK = 0.01  # the ticker's sleep: the event loop must keep waking it while Redis stalls


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    with RedisServer() as redis:
        yield redis


def stall(redis: RedisServer, seconds: float) -> None:
    """Every client's next commands wait ``seconds`` (``CLIENT PAUSE ... ALL``); this one returns at once."""
    import redis as redis_py

    with redis_py.Redis.from_url(redis.url) as admin:
        admin.execute_command("CLIENT", "PAUSE", int(seconds * 1000), "ALL")


async def longest_gap(done: asyncio.Event) -> float:
    """The longest time the event loop left this task asleep, until ``done`` (bounded: 30 s of ticks)."""
    loop = asyncio.get_running_loop()
    longest, last = 0.0, loop.time()
    for _ in range(int(30 / TICK)):
        if done.is_set():
            break
        await asyncio.sleep(TICK)
        now = loop.time()
        longest, last = max(longest, now - last), now
    return longest


@pytest.mark.parametrize("through", ["client", "deployments"])
async def test_a_stalled_redis_never_stalls_the_event_loop(through: str, server: ReferenceServer,
                                                            own_redis: RedisServer) -> None:
    """Three calls at once while Redis stalls 2 s: each waits for Redis, the loop's other tasks do not."""
    rate_limit = RateLimit(requests=1000, store=own_redis.url, key=f"stall-{through}")
    if through == "client":
        client = AsyncLlamaClient(server.url, server.api_key, rate_limit=rate_limit)
    else:  # the router asks each deployment's budget whether a call could go now
        client = AsyncLlamaClient(deployments=[Deployment(server.url, rate_limit=rate_limit)],
                                  credential=server.api_key)
    async with client:
        await client.chat.completions.create(messages=HI, max_tokens=1)  # connected, script loaded
        done = asyncio.Event()

        async def calls() -> list[Any]:
            try:
                return list(await asyncio.gather(
                    *(client.chat.completions.create(messages=HI, max_tokens=1) for _ in range(3))))
            finally:
                done.set()

        stall(own_redis, STALL)
        gap, replies = await asyncio.gather(longest_gap(done), calls())
    assert all(reply.choices for reply in replies)
    assert gap < STALL / 2, f"the event loop stalled {gap:.2f} s while Redis did"
