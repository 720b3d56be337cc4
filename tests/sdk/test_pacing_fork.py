"""A process forked while other threads pace calls: the child paces afresh (its own line, its own lock).

``os.fork()`` copies only the forking thread. The others' first request in flight, their calls in line and a
lock one of them holds at that moment are the parent's; the child must neither wait for them nor hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from support.bursts import HI
from support.shells import make_client

from llama_azure import AsyncLlamaClient, RateLimit
from llama_azure.server.process import ReferenceServer

GUARD = 20.0  # seconds: only a broken build waits this long (a child waiting or hung for good)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def child_call(kind: str, client: Any) -> None:
    """One paced call in the child, in the child's shell (a new event loop for the async client)."""
    def call() -> Any:
        return client.chat.completions.create(messages=HI, max_tokens=1, total_timeout=5)

    if kind == "async":
        async def run() -> None:
            await call()
        asyncio.run(run())
    else:
        call()


@contextlib.contextmanager
def lock_held_by_another_thread(lock: Any) -> Iterator[None]:
    """While in this block another thread holds ``lock`` (as a thread in the middle of a budget step)."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            taken.set()
            release.wait(GUARD)

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(GUARD)
    try:
        yield
    finally:
        release.set()
        holder.join()


def exit_status(pid: int) -> int | None:
    """The child's exit code, or None if it has not ended within GUARD seconds (it is then killed)."""
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)  # spaces the checks out; what is waited for is the child's end
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return None


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
    read, write = os.pipe()
    with lock_held_by_another_thread(budget._lock) if lock_held else contextlib.nullcontext():
        pid = os.fork()
        if pid == 0:  # the child: never back into pytest
            code = 1
            try:
                os.close(read)
                child_call(kind, client)
                code = 0
            except BaseException as error:
                os.write(write, repr(error).encode()[:2000])
            finally:
                os._exit(code)
    os.close(write)
    status = exit_status(pid)
    with os.fdopen(read, "rb") as pipe:
        told = pipe.read().decode()
    budget.unanswered(first.lease)
    if isinstance(client, AsyncLlamaClient):
        asyncio.run(client.close())
    else:
        client.close()
    assert status == 0, f"the child's call: {told or 'hung for good'}"

