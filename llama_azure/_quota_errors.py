"""Errors of client-side quota pacing (``rate_limit=``). Neither is an ``APIError``: nothing was sent, and
retrying would not help, so the retry policy never retries them."""

from __future__ import annotations

from ._exceptions import LlamaAzureError


class QuotaTimeoutError(LlamaAzureError, TimeoutError):
    """The call's budget could not come within its timeout; nothing was sent and no quota was held.

    ``error.wait`` is the shortest wait the budget foresaw (seconds), ``error.limit`` the time the call allowed.
    """

    def __init__(self, message: str, *, wait: float, limit: float) -> None:
        super().__init__(message)
        self.wait = wait
        self.limit = limit


class QuotaStoreError(LlamaAzureError):
    """The shared budget's store (``RateLimit(store="redis://...")``) could not be used; nothing was sent.

    There is no silent fallback to pacing in this process only: N processes each pacing alone would send N
    times the quota. Start the store, or drop ``store=`` on purpose.
    """
