"""Bounded waits on a condition, for tests that must see something happen in another process or thread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(probe: Callable[[], T | None], *, timeout: float = 10.0, what: str = "condition") -> T:
    """Call ``probe`` until it returns something other than ``None`` (or ``False``); fail after ``timeout``.

    ``probe`` reads state another process owns (the server's ``/_server/stats`` counters): each read is a
    round trip, and the short pause between reads only spaces the polling out; nothing waits on a guess.
    """
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = probe()
        if last is not None and last is not False:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout} s (last: {last!r})")
        time.sleep(0.02)  # spaces the probes out; what is waited for is the condition


async def wait_for_event(event: asyncio.Event, timeout: float = 10.0, what: str = "event") -> None:
    """Wait for ``event`` to be set, failing the test (not hanging it) after ``timeout``."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"{what} not set within {timeout} s") from None


async def eventually(probe: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0,
                     what: str = "condition") -> T:
    """The async form of :func:`wait_until`: ``await probe()`` until it gives a true value, bounded."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = await probe()
        if last is not None and last is not False:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout} s (last: {last!r})")
        await asyncio.sleep(0.02)  # spaces the probes out; what is awaited is the condition
