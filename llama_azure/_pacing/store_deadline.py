"""How long a round trip to the budget's store (Redis) may take: no longer than the call it is for allows.

A :class:`~llama_azure._pacing.pacer.Store` step runs its operation ``by(deadline, ...)``, in the calling thread (sync)
or a worker thread (async, which copies this context); the Redis ledger reads ``time_left()`` and bounds its
socket by it. Outside a call (``rate_limit.usage()``) there is no deadline: the store's own timeout applies.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_deadline: ContextVar[float | None] = ContextVar("llama_azure_store_deadline", default=None)


def by(deadline: float | None, operation: Callable[[], T]) -> T:
    """``operation()``, its store round trips bounded by ``deadline`` (``time.monotonic()`` seconds; None: none)."""
    token = _deadline.set(deadline)
    try:
        return operation()
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds left for the store round trip running now (may be <= 0), or None without a deadline."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()
