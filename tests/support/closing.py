"""Close sync and async things (clients, credentials, httpx pools) on the way out of a block, in order."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def closing_all(*things: object) -> AsyncIterator[None]:
    """``async with closing_all(client, credential):`` closes each with ``aclose()`` or ``close()``, awaited
    when it is a coroutine."""
    try:
        yield
    finally:
        for thing in things:
            result = (getattr(thing, "aclose", None) or getattr(thing, "close"))()  # noqa: B009
            if inspect.isawaitable(result):
                await result
