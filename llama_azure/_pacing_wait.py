"""The shells' side of pacing: sleep the pauses ``Pacer.admit`` asks for, waking early when the budget frees
room. The decisions are all in ``_pacer.py``; these two drivers only wait."""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from typing import Any

from ._core import PreparedCall
from ._observe import report_quota_wait
from ._pacer import Pacer

# The reason on a traced call's quota-wait event: short, low-cardinality, never a secret.
WAIT_REASON = "client-side rate limit"


def wait_turn(pacer: Pacer, call: PreparedCall[Any]) -> str:
    """Block this thread until the budget lets ``call`` go; returns its lease."""
    flow = pacer.admit(call)
    woken = threading.Event()
    pacer.budget.add_waker(woken.set)
    started = time.monotonic()
    try:
        pause = next(flow)
        while True:
            woken.wait(None if math.isinf(pause) else pause)
            woken.clear()
            pause = flow.send(None)
    except StopIteration as done:
        _report(call, started)
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
    started = time.monotonic()
    try:
        pause = next(flow)
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(woken.wait(), None if math.isinf(pause) else pause)
            woken.clear()
            pause = flow.send(None)
    except StopIteration as done:
        _report(call, started)
        return str(done.value)
    finally:
        pacer.budget.remove_waker(wake)
        flow.close()


def _report(call: PreparedCall[Any], started: float) -> None:
    """Tell tracing that ``call`` waited for its turn (nothing when it went at once or is not traced)."""
    waited = time.monotonic() - started
    if waited > 0.001:
        report_quota_wait(call, waited, WAIT_REASON)
