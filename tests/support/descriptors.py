"""This process's open file descriptors (sockets included), for tests that a client leaks none."""

from __future__ import annotations

import asyncio
import gc
import os
import warnings


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def settled_fds(rounds: int = 50) -> int:
    """The open descriptors once the loop has run the transports' pending close callbacks.

    Closing a transport takes a loop turn or two (``connection_lost`` is scheduled); the count is read
    after it stops changing for ``rounds`` consecutive turns of the loop (bounded).
    """
    count, unchanged = open_fds(), 0
    for _ in range(100 * rounds):
        await asyncio.sleep(0)  # one loop turn: no wall-clock wait
        now = open_fds()
        unchanged = unchanged + 1 if now == count else 0
        count = now
        if unchanged >= rounds:
            break
    return count


def collect_what_earlier_tests_left() -> None:
    """Collect the garbage earlier tests of this worker left, their unclosed sockets' ResourceWarnings ignored.

    A leak test collects garbage itself, so a socket another test dropped in a reference cycle (some Redis pacing
    tests leave them) would be finalized during it, and pytest would
    count that test's ResourceWarning against this one. Collected first, they stay out of this test's count.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
