"""Bursts for the pacing tests: many calls at once on one client, threads (sync) or tasks (async)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from llama_azure import RateLimitError
from llama_azure.types import ChatMessageParam
from support.shells import Shell

HI: list[ChatMessageParam] = [{"role": "user", "content": "Hi"}]


async def burst(shell: Shell, n: int, call: Callable[[Any], Any]) -> list[Any]:
    """Run ``call(client)`` ``n`` times at once; each result is the value or the exception raised."""
    if shell.is_async:
        return list(await asyncio.gather(*(call(shell.client) for _ in range(n)), return_exceptions=True))

    def guarded(_: int) -> Any:
        try:
            return call(shell.client)
        except Exception as error:
            return error

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(guarded, range(n)))


def count_429(results: list[Any]) -> int:
    return sum(isinstance(r, RateLimitError) for r in results)


def unexpected(results: list[Any]) -> list[Any]:
    return [r for r in results if isinstance(r, BaseException) and not isinstance(r, RateLimitError)]
