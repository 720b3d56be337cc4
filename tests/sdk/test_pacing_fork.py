"""A process forked while other threads pace calls: the child paces afresh (its own line, its own lock).

``os.fork()`` copies only the forking thread. The others' first request in flight, their calls in line and a
lock one of them holds at that moment are the parent's; the child must neither wait for them nor hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from functools import partial
from typing import Any

import pytest
from support.bursts import HI
from support.fork import in_child, lock_held_by_another_thread
from support.shells import make_client

from llama_azure import AsyncLlamaClient, RateLimit
from llama_azure.server.process import ReferenceServer

GUARD = 20.0  # seconds: only a broken build waits this long (a child waiting or hung for good)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def child_call(kind: str, client: Any) -> None:
    """One paced call in the child, in the child's shell (a new event loop for the async client). A child that
    waited for the parent's line would fail at ``total_timeout``: 10 s, room for a loaded machine's fork and call,
    and still well within ``GUARD``."""
    def call() -> Any:
        return client.chat.completions.create(messages=HI, max_tokens=1, total_timeout=10)

    if kind == "async":
        async def run() -> None:
            await call()
        asyncio.run(run())
    else:
        call()


@pytest.mark.parametrize("lock_held", [False, True], ids=["between-steps", "mid-step"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_child_forked_amid_other_threads_calls_paces_afresh(kind: str, lock_held: bool,
                                                              server: ReferenceServer) -> None:
    client = make_client(kind, server.url, server.api_key, rate_limit=RateLimit(requests=100))
    assert client._pacer is not None
    budget = client._pacer.budget
    first = budget.enqueue(1)  # another thread's first request: in flight, its answer not come yet
    assert budget.poll(first) == 0.0 and first.lease is not None
    budget.enqueue(1)  # another thread's call, waiting in line for that answer
    with lock_held_by_another_thread(budget._lock, GUARD) if lock_held else contextlib.nullcontext():
        child = in_child(partial(child_call, kind, client), int(GUARD))
    budget.unanswered(first.lease)
    if isinstance(client, AsyncLlamaClient):
        asyncio.run(client.close())
    else:
        client.close()
    assert child == {"answer": None}, "the child's call failed"

