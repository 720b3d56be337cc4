"""A slow or hung Redis behind a shared budget (``RateLimit(store="redis://...")``), against a real server and
a Redis of this module's own (paused with ``CLIENT PAUSE``, or stopped with SIGSTOP, without disturbing the
other tests' Redis)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from support.bursts import HI, burst
from support.processes import sigstopped
from support.shells import Shell, make_client

from llama_azure import AsyncLlamaClient, Deployment, QuotaTimeoutError, RateLimit
from llama_azure.server.process import ReferenceServer
from llama_azure.server.redis_process import RedisServer

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
        calls = asyncio.gather(*(client.chat.completions.create(messages=HI, max_tokens=1) for _ in range(3)))
        calls.add_done_callback(lambda _: done.set())
        stall(own_redis, STALL)
        gap, replies = await asyncio.gather(longest_gap(done), calls)
    assert all(reply.choices for reply in replies)
    assert gap < STALL / 2, f"the event loop stalled {gap:.2f} s while Redis did"


async def test_a_hung_redis_fails_the_calls_within_their_total_timeout(
        shell_kind: str, server: ReferenceServer, own_redis: RedisServer) -> None:
    """Redis's own socket timeout is 5 s: calls allowing 1 s end by then, with a QuotaTimeoutError."""
    rate_limit = RateLimit(requests=1000, store=own_redis.url, key=f"hung-{shell_kind}")
    async with Shell(make_client(shell_kind, server.url, server.api_key, rate_limit=rate_limit)) as shell:
        await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=1))  # connected
        with sigstopped(own_redis.pid):  # Redis hung: connections open, nothing answers
            started = time.monotonic()
            results = await burst(shell, 3, lambda c: c.chat.completions.create(messages=HI, max_tokens=1,
                                                                                 total_timeout=1))
            took = time.monotonic() - started
    assert all(isinstance(r, QuotaTimeoutError) for r in results), results
    assert "did not answer within" in str(results[0])
    assert took < 4.0, f"calls allowing 1 s took {took:.1f} s"  # before: 5 s or more (the socket timeout)
