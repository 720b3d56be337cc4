"""The shells' side of pacing: sleep the pauses ``Pacer.admit`` asks for, waking early when the budget frees
room. The decisions are all in ``_pacer.py``; these two drivers only wait."""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from typing import Any

from ._core import PreparedCall
from ._pacer import Pacer


def wait_turn(pacer: Pacer, call: PreparedCall[Any]) -> str:
    """Block this thread until the budget lets ``call`` go; returns its lease."""
    flow = pacer.admit(call)
    woken = threading.Event()
    pacer.budget.add_waker(woken.set)
    try:
        pause = next(flow)
        while True:
            woken.wait(None if math.isinf(pause) else pause)
            woken.clear()
            pause = flow.send(None)
    except StopIteration as done:
        return str(done.value)
    finally:
        pacer.budget.remove_waker(woken.set)
        flow.close()


async def await_turn(pacer: Pacer, call: PreparedCall[Any]) -> str:
    """Wait in this task until the budget lets ``call`` go; cancelling the task gives its place back."""
    flow = pacer.admit(call)
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()

    def wake() -> None:  # may be called from another thread sharing the same RateLimit
        if not loop.is_closed():
            loop.call_soon_threadsafe(woken.set)

    pacer.budget.add_waker(wake)
    try:
        pause = next(flow)
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(woken.wait(), None if math.isinf(pause) else pause)
            woken.clear()
            pause = flow.send(None)
    except StopIteration as done:
        return str(done.value)
    finally:
        pacer.budget.remove_waker(wake)
        flow.close()
