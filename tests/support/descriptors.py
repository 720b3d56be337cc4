"""This process's open file descriptors (sockets included), for tests that a client leaks none."""

from __future__ import annotations

import asyncio
import os


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
