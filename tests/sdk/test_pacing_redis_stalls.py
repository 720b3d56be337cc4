"""A slow or hung Redis behind a shared budget (``RateLimit(store="redis://...")``), against a real server and
a Redis of this module's own (paused with ``CLIENT PAUSE``, or stopped with SIGSTOP, without disturbing the
other tests' Redis)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.bursts import HI, burst
from support.processes import sigstopped
from support.shells import Shell, make_client

from llama_azure import AsyncLlamaClient, Deployment, QuotaTimeoutError, RateLimit
from llama_azure._pacing.redis_ledger import SOCKET_TIMEOUT
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


def longest_thread_gap(done: threading.Event) -> float:
    """The longest time this thread (not the event loop's) slept past its tick, until ``done`` (bounded: 30 s):
    how long the machine itself held the test's threads, a loaded CI machine's stalls included."""
    longest, last = 0.0, time.monotonic()
    for _ in range(int(30 / TICK)):
        if done.wait(TICK):
            break
        now = time.monotonic()
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
        done, thread_done = asyncio.Event(), threading.Event()
        with ThreadPoolExecutor(1) as ticker:
            thread_gap = asyncio.get_running_loop().run_in_executor(ticker, longest_thread_gap, thread_done)
            loop_gap = asyncio.ensure_future(longest_gap(done))  # its first tick runs before the calls do
            calls = asyncio.gather(*(client.chat.completions.create(messages=HI, max_tokens=1) for _ in range(3)))
            calls.add_done_callback(lambda _: done.set())
            calls.add_done_callback(lambda _: thread_done.set())
            stall(own_redis, STALL)
            gap, replies, machine_gap = await asyncio.gather(loop_gap, calls, thread_gap)
    assert all(reply.choices for reply in replies)
    # A loop held by Redis sleeps through the whole stall while a thread of its own keeps ticking; a loaded
    # machine that holds the process holds both alike: the loop's gap is compared with the thread's, not a constant.
    assert gap < machine_gap + STALL / 2, (f"the event loop stalled {gap:.2f} s while Redis did (the machine held "
                                           f"a thread {machine_gap:.2f} s at most)")


async def test_a_hung_redis_fails_the_calls_within_their_total_timeout(
        shell_kind: str, server: ReferenceServer, own_redis: RedisServer) -> None:
    """Redis's own socket timeout is 5 s: calls allowing 2 s end before it, with a QuotaTimeoutError."""
    rate_limit = RateLimit(requests=1000, store=own_redis.url, key=f"hung-{shell_kind}")
    async with Shell(make_client(shell_kind, server.url, server.api_key, rate_limit=rate_limit)) as shell:
        await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=1))  # connected
        with sigstopped(own_redis.pid):  # Redis hung: connections open, nothing answers
            started = time.monotonic()
            # 2 s: room for a loaded machine to reach Redis with time left (the socket then waits 1.25 s)
            results = await burst(shell, 3, lambda c: c.chat.completions.create(messages=HI, max_tokens=1,
                                                                                 total_timeout=2))
            took = time.monotonic() - started
    assert all(isinstance(r, QuotaTimeoutError) for r in results), results
    assert "did not answer within" in str(results[0])
    # Waiting out Redis's own socket timeout cannot take less than it, however fast the machine: the bound
    # is that, not a guess of how slow a loaded machine may be.
    assert took < SOCKET_TIMEOUT, f"calls allowing 2 s took {took:.1f} s, Redis's own socket timeout"
