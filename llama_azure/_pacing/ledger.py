"""The sliding-window ledger of a quota, without I/O: what the service has counted, and when it forgets it.

The service (see ``server/quota.py``) counts a request at the moment it admits it, for ``window`` seconds,
with ``prompt tokens + max_tokens x candidates`` tokens, corrected to the tokens really used when it ends.
The client cannot see that moment, only bound it: a request is admitted after it is sent, and before its
answer starts or within ``lease`` seconds of sending, whichever comes first (``lease`` covers the trip to the
service and its parsing, never a generation; 2 s, since a busy service may parse a burst slowly). So an entry
is written when the request is granted and expires ``window + lease`` seconds later, or ``window`` seconds after
its answer started if that is sooner: never before the service forgets the request. A process that died stops
holding its entries the same way.

:class:`LocalLedger` keeps the entries in this process; ``redis_ledger.RedisLedger`` keeps the same entries
in Redis for several processes, with the same rules in a Lua script.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Seconds added to every expiry: the service's clock and ours tick apart by a little.
MARGIN = 0.02
# The longest time between sending a request and the service admitting it (see the module docstring).
DEFAULT_LEASE = 2.0


@dataclass(frozen=True)
class Limits:
    requests: int | None
    tokens: int | None
    window: float
    lease: float = DEFAULT_LEASE


@dataclass(frozen=True)
class Usage:
    """What the budget holds now: ``requests`` and ``tokens`` counted in the window."""

    requests: int
    tokens: int


class Ledger(Protocol):
    """The operations a budget needs from where the entries are kept (this process, or Redis)."""

    poll_interval: float
    """How often a waiting call looks again without being woken (others' entries change unseen)."""

    does_io: bool
    """Each operation is a round trip to a store (Redis): the async shell runs it off the event loop."""

    def try_acquire(self, entry_id: str, tokens: int, now: float) -> float:
        """Write the entry and return 0.0 when it fits now; else the seconds until it may (nothing written)."""

    def wait_for(self, requests: int, tokens: int, now: float) -> float:
        """0.0 if ``requests`` and ``tokens`` would fit now; else the seconds until enough has expired."""

    def answered(self, entry_id: str, now: float) -> None:
        """The answer started: the entry expires ``window`` seconds from now (if that is sooner)."""

    def settle(self, entry_id: str, tokens: int) -> None:
        """The answer's ``usage`` says how many tokens the service really counted."""

    def observe(self, remaining_requests: int | None, remaining_tokens: int | None, now: float) -> None:
        """The service said how much is left; anything it counts that we do not is held for a window."""

    def usage(self, now: float) -> Usage:
        """What the window holds now."""


@dataclass
class _Entry:
    requests: int
    tokens: int
    expires: float


class LocalLedger:
    """The entries of one process. Not locked: :class:`~llama_azure._pacing.budget.Budget` holds the lock.

    >>> ledger = LocalLedger(Limits(requests=2, tokens=None, window=10.0))
    >>> ledger.try_acquire("a", 5, now=0.0), ledger.try_acquire("b", 5, now=0.0)
    (0.0, 0.0)
    >>> ledger.answered("a", now=0.5)
    >>> round(ledger.try_acquire("c", 5, now=2.0), 2)  # a leaves the window 10 s after its answer started
    8.52
    """

    poll_interval = float("inf")  # every change happens here, and wakes the waiting calls
    does_io = False

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._entries: dict[str, _Entry] = {}
        self._unseen = 0

    def _expire(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if e.expires <= now]:
            del self._entries[key]

    def try_acquire(self, entry_id: str, tokens: int, now: float) -> float:
        wait = self.wait_for(1, tokens, now)
        if wait == 0.0:
            self._entries[entry_id] = _Entry(1, tokens, now + self.limits.window + self.limits.lease + MARGIN)
        return wait

    def wait_for(self, requests: int, tokens: int, now: float) -> float:
        self._expire(now)
        held_requests = sum(e.requests for e in self._entries.values())
        held_tokens = sum(e.tokens for e in self._entries.values())

        def fits() -> bool:
            return (_fits(held_requests + requests, self.limits.requests)
                    and _fits(held_tokens + tokens, self.limits.tokens))

        if fits():
            return 0.0
        for entry in sorted(self._entries.values(), key=lambda e: e.expires):
            held_requests -= entry.requests
            held_tokens -= entry.tokens
            if fits():
                return max(0.0, entry.expires - now)
        return self.limits.window  # larger than the whole budget: callers refuse that before asking

    def answered(self, entry_id: str, now: float) -> None:
        entry = self._entries.get(entry_id)
        if entry is not None:
            entry.expires = min(entry.expires, now + self.limits.window + MARGIN)

    def settle(self, entry_id: str, tokens: int) -> None:
        entry = self._entries.get(entry_id)
        if entry is not None:
            entry.tokens = max(0, min(entry.tokens, tokens))

    def observe(self, remaining_requests: int | None, remaining_tokens: int | None, now: float) -> None:
        held = self.usage(now)
        unseen_requests = _unseen(self.limits.requests, held.requests, remaining_requests)
        unseen_tokens = _unseen(self.limits.tokens, held.tokens, remaining_tokens)
        if unseen_requests or unseen_tokens:
            self._unseen += 1
            self._entries[f"unseen-{self._unseen}"] = _Entry(
                unseen_requests, unseen_tokens, now + self.limits.window + MARGIN)

    def usage(self, now: float) -> Usage:
        self._expire(now)
        return Usage(sum(e.requests for e in self._entries.values()), sum(e.tokens for e in self._entries.values()))


def _fits(amount: int, limit: int | None) -> bool:
    return limit is None or amount <= limit


def _unseen(limit: int | None, held: int, remaining: int | None) -> int:
    """What the service counts beyond what we hold (other clients of the same deployment), never negative."""
    if limit is None or remaining is None:
        return 0
    return max(0, (limit - remaining) - held)
