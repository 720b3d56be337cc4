"""One worker thread that turns request bodies into prompt tokens, so that the event loop never waits on them.

Decoding a 4 MiB JSON body, validating tens of thousands of messages, rendering the chat template and
tokenizing take from milliseconds to seconds; on the event loop they would stall every other client
(``GET /info`` included). One thread, not a pool: prompts are prepared one at a time, next to the
engine's generation thread, and the loop stays free.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

_T = TypeVar("_T")


class PromptThread:
    """``await prompts.run(fn, *args)`` runs ``fn(*args)`` on the thread; its exceptions are raised here."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama-azure-prompts")

    async def run(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(fn, *args))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def __repr__(self) -> str:
        return "PromptThread()"
