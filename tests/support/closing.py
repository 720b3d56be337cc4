"""Close sync and async things (clients, credentials, httpx pools, asyncio stream writers) on the way out of a
block, in order."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def closing_all(*things: object) -> AsyncIterator[None]:
    """``async with closing_all(client, credential):`` closes each with ``aclose()`` or ``close()``, awaited
    when it is a coroutine, then waits for its ``wait_closed()`` if it has one (an ``asyncio.StreamWriter``)."""
    try:
        yield
    finally:
        for thing in things:
            result = (getattr(thing, "aclose", None) or getattr(thing, "close"))()  # noqa: B009
            if inspect.isawaitable(result):
                await result
            if (wait_closed := getattr(thing, "wait_closed", None)) is not None:
                await wait_closed()
