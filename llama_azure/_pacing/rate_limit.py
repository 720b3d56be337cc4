"""``RateLimit``: the quota a client paces itself to, and the one budget every call that uses it shares."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from .._exceptions import ConfigurationError
from .budget import Budget, BudgetUsage
from .fork_reset import reset_after_fork
from .ledger import DEFAULT_LEASE, Ledger, Limits, LocalLedger
from .redis_ledger import RedisLedger, without_password


class RateLimit:
    """Stay under a deployment's quota instead of bouncing off it with 429s.

    ``LlamaClient(endpoint, key, rate_limit=RateLimit(requests=1000, tokens=200_000))``: before each request,
    the call waits until ``requests`` requests and ``tokens`` tokens per sliding ``window`` seconds allow it,
    counted as the service counts them (prompt tokens + max_tokens x n). One ``RateLimit`` is one budget:
    every thread or task of the clients it is given to shares it (``with_options`` copies keep it).

    ``store="redis://host:6379/0"`` keeps the budget in Redis, shared by every process that uses the same
    ``key`` (default: the endpoint and deployment); it needs ``pip install 'llama-azure[redis]'``.
    """

    def __init__(
        self,
        requests: int | None = None,
        tokens: int | None = None,
        window: float = 60.0,
        store: str | None = None,
        key: str | None = None,
    ) -> None:
        self.requests = _limit(requests, "requests")
        self.tokens = _limit(tokens, "tokens")
        if self.requests is None and self.tokens is None:
            raise ConfigurationError("RateLimit needs requests= or tokens= (per window), e.g. "
                                     "RateLimit(requests=1000, tokens=200_000)")
        if isinstance(window, bool) or not isinstance(window, (int, float)) or not (
                math.isfinite(window) and window > 0):
            raise ConfigurationError(f"RateLimit window must be a finite number of seconds > 0, got {window!r}")
        self.window = float(window)
        if store is not None and (not isinstance(store, str) or urlsplit(store).scheme not in _STORE_SCHEMES):
            raise ConfigurationError("RateLimit store must be a Redis URL such as 'redis://localhost:6379/0' "
                                     "(schemes: redis, rediss, unix), or None to pace in this process only")
        if key is not None and (not isinstance(key, str) or not key):
            raise ConfigurationError("RateLimit key must be a non-empty string naming the shared budget")
        self.store = store
        self.key = key
        self._lock = threading.Lock()
        self._budget: Budget | None = None
        self._clock: Callable[[], float] = time.monotonic
        reset_after_fork(self)

    def _forked(self) -> None:
        """In a forked child: a lock another thread of the parent held would never be released here."""
        self._lock = threading.Lock()

    @property
    def limits(self) -> Limits:
        return Limits(self.requests, self.tokens, self.window, DEFAULT_LEASE)

    def budget(self, default_key: str) -> Budget:
        """The shared budget, made on first use; ``default_key`` names it in the store when ``key`` is None."""
        with self._lock:
            if self._budget is None:
                ledger: Ledger
                if self.store is None:
                    ledger = LocalLedger(self.limits)
                else:
                    ledger = RedisLedger(self.store, self.key or default_key, self.limits)
                # A store remembers what earlier and other processes used; a fresh local budget learns it first.
                self._budget = Budget(ledger, self.limits, self._clock, learn_first=self.store is None)
            return self._budget

    def usage(self) -> BudgetUsage:
        """What the budget holds now: ``rate_limit.usage().requests``, ``.tokens``, ``.waiting`` (calls in line)."""
        with self._lock:
            budget = self._budget
        return budget.usage() if budget is not None else BudgetUsage(0, 0, 0)

    def __repr__(self) -> str:
        store = None if self.store is None else without_password(self.store)
        return (f"RateLimit(requests={self.requests!r}, tokens={self.tokens!r}, window={self.window:g}, "
                f"store={store!r}, key={self.key!r})")


_STORE_SCHEMES = frozenset({"redis", "rediss", "unix"})


def _limit(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"RateLimit {name} must be an int >= 1 per window, or None, got {value!r}")
    return value
