"""Forked children for the tests of what a client does after ``os.fork()``: run code in a child and get back
what it reported, with the parent's own event loop and a lock held by another thread around the fork."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, NoReturn, Protocol, TypeVar

T = TypeVar("T")


def in_child(work: Callable[[], object], deadline: int = 60) -> dict[str, Any]:
    """Run ``work`` in a forked child: ``{"answer": work()}`` (JSON-able) or ``{"error": "Type: message"}``.

    The child never goes back into pytest; SIGALRM ends it after ``deadline`` s (a hang), and a child that
    reported nothing fails the test with its exit status.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        _report_and_exit(work, deadline, read_end, write_end)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        ready, _, _ = select.select([pipe], [], [], deadline + 5)
        data = pipe.read() if ready else b""
    if not ready:  # SIGALRM did not end it
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert data, f"the child reported nothing (exit status {os.waitstatus_to_exitcode(status)}): hung or crashed"
    return dict(json.loads(data))


def _report_and_exit(work: Callable[[], object], deadline: int, read_end: int, write_end: int) -> NoReturn:
    """The child's side: whatever happens, the report goes to the parent and the child leaves at once."""
    status, report = 1, {}
    try:
        os.close(read_end)
        signal.alarm(deadline)
        report = {"answer": work()}
        status = 0
    except BaseException as error:  # every failure goes back to the parent
        report = {"error": f"{type(error).__name__}: {error}"}
    finally:
        os.write(write_end, json.dumps(report).encode())
        sys.stdout.flush()
        os._exit(status)


class _AsyncClosable(Protocol):
    async def close(self) -> None: ...


@contextlib.contextmanager
def parent_loop(client: _AsyncClosable) -> Iterator[Callable[[Awaitable[T]], T]]:
    """The parent's own event loop for an async ``client`` (a child runs its own with ``asyncio.run``);
    closes the client, then the loop."""
    loop = asyncio.new_event_loop()
    try:
        yield loop.run_until_complete
    finally:
        loop.run_until_complete(client.close())
        loop.close()


@contextlib.contextmanager
def lock_held_by_another_thread(lock: Any, guard: float) -> Iterator[None]:
    """While in this block another thread holds ``lock`` (as a thread in the middle of a budget step); it lets
    go after ``guard`` s at the latest."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            taken.set()
            release.wait(guard)

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(guard)
    try:
        yield
    finally:
        release.set()
        holder.join()
