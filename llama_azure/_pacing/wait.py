"""The I/O of a pacing :class:`~llama_azure._pacing.pacer.Pause` step: wait until the budget wakes the call or the
pause has passed. Every decision (when to poll, how long to pause, the quota-wait report) is ``Pacer.admit``'s.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pacer import Pause


def pause(step: Pause) -> None:
    """Block this thread; woken by any thread or task that frees room in the budget."""
    woken = threading.Event()
    with step.budget.waking(woken.set, step.seen):
        woken.wait(step.timeout)


async def apause(step: Pause) -> None:
    """Wait in this task; cancelling it raises here, and the flow gives the call's place back."""
    import asyncio  # loaded by the first paced async call, not at import

    loop = asyncio.get_running_loop()
    woken = asyncio.Event()

    def wake() -> None:  # may be called from another thread sharing the same RateLimit
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits on it
            if not loop.is_closed():
                loop.call_soon_threadsafe(woken.set)

    with step.budget.waking(wake, step.seen), contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(woken.wait(), step.timeout)
