"""Close sync and async things (clients, credentials) on the way out of a block, in the order given."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator
from typing import Protocol


class _Closable(Protocol):
    def close(self) -> object: ...


@contextlib.asynccontextmanager
async def closing_all(*things: _Closable) -> AsyncIterator[None]:
    """``async with closing_all(client, credential):`` closes each, awaiting async ``close()`` methods."""
    try:
        yield
    finally:
        for thing in things:
            result = thing.close()
            if inspect.isawaitable(result):
                await result
