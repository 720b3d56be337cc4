"""A paced call's ``Pause`` step, as each shell performs it: no wake of the budget is lost.

The flow (``Pacer.admit``) polls the budget, then yields a ``Pause``; the shell registers its waker after
that. A wake in between (another call's answer came) must end the pause at once: with an ``inf`` pause a lost
wake would hang the call. No server and no sleeps: the wake is made to land exactly in that gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from llama_azure import AsyncLlamaClient, LlamaClient, RateLimit
from llama_azure._call.prepare import prepare_chat
from llama_azure._call.prepared import PreparedCall
from llama_azure._pacing.budget import Budget, Ticket
from llama_azure._pacing.pacer import Pacer, Pause

GUARD = 30.0  # seconds: only a broken build waits this long (a lost wake); the test then fails, not hangs
HI = [{"role": "user", "content": "Hi"}]


def probe_out(client: LlamaClient | AsyncLlamaClient) -> tuple[Pacer, Budget, Ticket, PreparedCall[Any]]:
    """A fresh budget's first request (``probe``) is out: the other calls wait for its answer, however long.
    Returns the pacer, the budget, the probe and a call to pace."""
    pacer = client._pacer
    assert pacer is not None
    budget = pacer.budget
    probe = budget.enqueue(1)
    assert budget.poll(probe) == 0.0 and probe.lease is not None
    return pacer, budget, probe, prepare_chat(client._config, HI, False, {"max_tokens": 1})


def paused(client: LlamaClient | AsyncLlamaClient) -> tuple[Any, Pause, PreparedCall[Any], Budget, Ticket]:
    """A call paused until woken: its admission flow, its Pause, the call, the budget and the probe."""
    pacer, budget, probe, call = probe_out(client)
    flow = pacer.admit(call)
    step = next(flow)
    assert isinstance(step, Pause) and step.seconds == math.inf  # until woken: no timeout to fall back on
    return flow, step, call, budget, probe


def admitted(flow: Any) -> str:
    with pytest.raises(StopIteration) as done:
        flow.send(None)
    lease = done.value.value
    assert isinstance(lease, str)
    return lease


def make(client_class: type[LlamaClient] | type[AsyncLlamaClient]) -> Any:
    return client_class("http://127.0.0.1:9", "key", rate_limit=RateLimit(requests=4), timeout=httpx.Timeout(None))


def test_a_wake_between_the_poll_and_the_wait_ends_a_sync_pause_at_once() -> None:
    with make(LlamaClient) as client:
        flow, step, call, budget, probe = paused(client)
        budget.answered(probe.id, None, None)  # the probe's answer wakes the budget before the shell waits
        waiter = threading.Thread(target=client._do, args=(step, call), daemon=True)
        waiter.start()
        waiter.join(GUARD)
        stuck = waiter.is_alive()
        budget.cancel(budget.enqueue(1))  # a wake that would free a stuck waiter
        assert not stuck, "the wake before the waiter registered was lost"
        assert admitted(flow) is not None


async def test_a_wake_between_the_poll_and_the_wait_ends_an_async_pause_at_once() -> None:
    async with make(AsyncLlamaClient) as client:
        flow, step, call, budget, probe = paused(client)
        budget.answered(probe.id, None, None)
        await asyncio.wait_for(client._do(step, call), GUARD)
        assert admitted(flow) is not None


def registering(budget: Budget, monkeypatch: pytest.MonkeyPatch, registered: Callable[[], None]) -> None:
    """Call ``registered`` once the shell's waker is in the budget."""
    original = budget.waking

    @contextlib.contextmanager
    def waking(wake: Callable[[], None], seen: int) -> Iterator[None]:
        with original(wake, seen):
            registered()
            yield

    monkeypatch.setattr(budget, "waking", waking)


async def test_an_async_pause_is_woken_from_another_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    async with make(AsyncLlamaClient) as client:  # e.g. a sync client in a thread shares the RateLimit
        flow, step, call, budget, probe = paused(client)
        registered = asyncio.Event()
        registering(budget, monkeypatch, registered.set)
        waiting = asyncio.create_task(client._do(step, call))
        await registered.wait()
        await asyncio.to_thread(budget.answered, probe.id, None, None)
        await asyncio.wait_for(waiting, GUARD)
        assert admitted(flow) is not None


async def test_a_cancelled_async_pause_gives_the_place_back(monkeypatch: pytest.MonkeyPatch) -> None:
    async with make(AsyncLlamaClient) as client:
        pacer, budget, probe, call = probe_out(client)
        registered = asyncio.Event()
        registering(budget, monkeypatch, registered.set)
        waiting = asyncio.create_task(client._drive(pacer.admit(call), call))
        await registered.wait()
        assert budget.usage().waiting == 1
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert budget.usage().waiting == 0
        budget.answered(probe.id, None, None)
