"""One quota budget, without I/O: calls wait their turn in arrival order, and the ledger says when each fits.

Shared by every thread (sync) or task (async) of the clients that use the same ``RateLimit``. The lock is
held only for bookkeeping, never across a round trip to a store (Redis): the event loop takes it too (``enqueue``,
``changes``, ``cancel``), and a stalled store must not stall the loop. A local ledger, not locked itself, is
used under the lock (no I/O); a store's steps are atomic in the store, and run without it. The shells sleep
outside it and are woken (``waking``) whenever the budget frees something. Each wake is counted
(``changes``): a call that read the count before its poll, and registers its waker after, is woken at once
when something changed in between, so no wake is lost.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .fork_reset import reset_after_fork
from .ledger import MARGIN, Ledger, Limits, Usage


@dataclass(eq=False)
class Ticket:
    """A call waiting for its turn; ``lease`` is set when the budget lets it go."""

    tokens: int
    lease: str | None = None
    ready_at: float | None = None  # while not first in line: when it foresaw its turn (asked once, not each wake)
    earliest: float = 0.0  # the shortest wait any outcome of the answers out could bring: fail fast only past it
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class _Out:
    """A request of this process that went and has not settled: its answer may give back what it holds."""

    tokens: int
    expires: float  # when the ledger forgets it at the latest
    answered: bool = False


@dataclass(frozen=True)
class BudgetUsage(Usage):
    """What a budget holds now (``requests``, ``tokens``) and how many calls wait for their turn."""

    waiting: int = 0


class Budget:
    """``budget = Budget(LocalLedger(limits), limits)``; ``ticket = budget.enqueue(40)``; ``budget.poll(ticket)``.

    With ``learn_first`` (a budget that starts knowing nothing, kept in this process), the first request goes
    alone: until its answer comes, with the service's ``x-ratelimit-remaining-*`` count of what a restarted
    program or another client already used, nobody else goes. Then the budget knows, and calls go as it allows.
    """

    def __init__(self, ledger: Ledger, limits: Limits, clock: Callable[[], float] = time.monotonic, *,
                 learn_first: bool = True) -> None:
        self.ledger = ledger
        self.limits = limits
        self.clock = clock
        self._lock = threading.Lock()
        self._queue: deque[Ticket] = deque()
        self._wakers: set[Callable[[], None]] = set()
        self._changes = 0  # bumped by every wake
        self._learned = not learn_first
        self._probe: str | None = None  # the lease of the first request, while its answer has not come
        self._out: dict[str, _Out] = {}  # leases whose usage has not come: what they hold may come back
        reset_after_fork(self)

    def _forked(self) -> None:
        """In a forked child: the parent's calls in line, their wakers and its first request in flight are not
        this process's (they would wait for answers that never come here); nor is a lock one of them held."""
        self._lock = threading.Lock()
        self._queue = deque()
        self._wakers = set()
        self._probe = None  # not learned yet: the child's next request goes alone in its place
        self._out = {}

    def _at_ledger(self) -> contextlib.AbstractContextManager[object]:
        """Around a ledger operation: the budget's lock for a local ledger (CPU only), none for a store's round
        trip (atomic in the store; holding the lock across it would make every caller wait on the store)."""
        return contextlib.nullcontext() if self.ledger.does_io else self._lock

    def enqueue(self, tokens: int) -> Ticket:
        ticket = Ticket(tokens)
        with self._lock:
            self._queue.append(ticket)
        return ticket

    def poll(self, ticket: Ticket) -> float:
        """0.0 when ``ticket`` may go now (``ticket.lease`` is then set); else the shortest wait foreseen
        (0.0 without a lease: wait until woken). ``ticket.earliest`` is then the wait if the answers out give
        back all they hold: no outcome makes room sooner.

        Only the first ticket in line asks the ledger for room; the others foresee (once, and again when that
        time has passed) the wait for everything ahead of them and themselves, and are woken when the line moves.
        """
        with self._lock:
            ahead = 0
            tokens = 0
            for queued in self._queue:
                if queued is ticket:
                    break
                ahead += 1
                tokens += queued.tokens
            else:  # a fork dropped the parent's line: this process's own call joins the child's again
                self._queue.append(ticket)
            if ahead == 0 and not self._learned and self._probe is not None:
                ticket.earliest = 0.0
                return 0.0  # the first answer is coming: it says what the service already counts
        # Only this ticket's own call moves it to the head or out of the line: ``ahead`` stays true meanwhile.
        if ahead == 0:
            with self._at_ledger():
                now = self.clock()
                wait = self.ledger.try_acquire(ticket.id, ticket.tokens, now)
            if wait > 0:
                ticket.earliest = self._earliest(1, ticket.tokens, now, wait)
                return wait
            limits = self.limits
            with self._lock:
                self._queue.remove(ticket)
                ticket.lease = ticket.id
                self._out[ticket.id] = _Out(ticket.tokens, now + limits.window + limits.lease + MARGIN)
                if not self._learned:
                    self._probe = ticket.id
            self._wake()
            return 0.0
        now = self.clock()
        if ticket.ready_at is None or ticket.ready_at <= now:
            ticket.ready_at = now + self._earliest(ahead + 1, tokens + ticket.tokens, now)
        ticket.earliest = max(ticket.ready_at - now, 0.0)
        return ticket.earliest

    def _earliest(self, requests: int, tokens: int, now: float, wait: float | None = None) -> float:
        """The shortest wait until ``requests`` and ``tokens`` fit, whatever the answers out turn out to be
        (``wait``: the ledger's, already asked). An answer's usage may give back all its request holds (an
        estimate of ``max_tokens`` that used 10); an answer starting now cuts a request's hold by up to ``lease``.
        Requests out of other processes are not known here: they count as they stand."""
        with self._lock:
            self._out = {lease: out for lease, out in self._out.items() if out.expires > now}
            back = sum(out.tokens for out in self._out.values())
            unanswered = any(not out.answered for out in self._out.values())
        if wait is None or back > 0:
            with self._at_ledger():
                wait = self.ledger.wait_for(requests, max(0, tokens - back), now)
        return max(0.0, wait - self.limits.lease) if unanswered else wait

    def is_first(self, ticket: Ticket) -> bool:
        with self._lock:
            return bool(self._queue) and self._queue[0] is ticket

    def cancel(self, ticket: Ticket) -> None:
        """A call that stopped waiting (cancelled, timed out) leaves the line; those behind it move up."""
        with self._lock:
            if ticket in self._queue:
                self._queue.remove(ticket)
        self._wake()

    def answered(self, lease: str, remaining_requests: int | None, remaining_tokens: int | None) -> None:
        try:
            with self._lock:
                if lease == self._probe:  # the first answer came (even if the store fails to record it)
                    self._learned, self._probe = True, None
                now = self.clock()
                out = self._out.get(lease)
                if out is not None:
                    out.answered = True
                    out.expires = min(out.expires, now + self.limits.window + MARGIN)
            with self._at_ledger():
                self.ledger.answered(lease, now)
                self.ledger.observe(remaining_requests, remaining_tokens, now)
        finally:
            self._wake()

    def unanswered(self, lease: str) -> None:
        """The request got no answer (a connection error, a cancelled send): it stays held, as sent."""
        with self._lock:
            if lease == self._probe:
                self._probe = None  # the next request goes alone in its place
            self._out.pop(lease, None)  # held as sent: no usage will give anything back
        self._wake()

    def settle(self, lease: str, tokens: int) -> None:
        try:
            with self._at_ledger():
                self.ledger.settle(lease, tokens)
        finally:
            with self._lock:
                self._out.pop(lease, None)  # settled, or kept at its estimate if the store failed: nothing to come
            self._wake()

    def usage(self) -> BudgetUsage:
        with self._at_ledger():
            held = self.ledger.usage(self.clock())
        with self._lock:
            return BudgetUsage(held.requests, held.tokens, waiting=len(self._queue))

    @property
    def changes(self) -> int:
        """How many times the budget woke its waiting calls: read it before a poll, pass it to ``waking``."""
        with self._lock:
            return self._changes

    @contextlib.contextmanager
    def waking(self, wake: Callable[[], None], seen: int) -> Iterator[None]:
        """While in this block ``wake`` is called whenever the budget frees something; and at once when it
        did since the count ``seen`` (read before the poll that decided to wait): that wake is not lost."""
        with self._lock:
            self._wakers.add(wake)
            missed = self._changes != seen
        try:
            if missed:
                wake()
            yield
        finally:
            with self._lock:
                self._wakers.discard(wake)

    def _wake(self) -> None:
        with self._lock:
            self._changes += 1
            wakers = list(self._wakers)
        for wake in wakers:
            wake()
