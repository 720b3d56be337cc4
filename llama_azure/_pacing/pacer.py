"""What a paced call does, without I/O: wait its turn (a generator of :class:`Pause` steps the shells
perform), then tell the budget when the answer started, what the service said is left, and how many tokens
were really used.

``Pacer.admit`` is the one place a call's quota wait is decided (and reported to tracing): hook it to see
quota waits. ``_call.attempt.attempt_flow`` runs it with ``yield from``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

import httpx

from .._call.config import ClientConfig
from .._call.prepared import PreparedCall
from .._exceptions import LlamaAzureError, ParameterError, QuotaTimeoutError
from .._observe import report_quota_wait
from .store_deadline import by
from .token_estimate import estimate_tokens

logger = logging.getLogger("llama_azure")
T = TypeVar("T")

if TYPE_CHECKING:  # the budget's modules load with the first RateLimit, not at import
    from .budget import Budget
    from .rate_limit import RateLimit

# The reason on a traced call's quota-wait event: short, low-cardinality, never a secret.
WAIT_REASON = "client-side rate limit"


@dataclass(frozen=True)
class Pause:
    """Wait until ``budget`` wakes its waiting calls (``budget.waking(wake, seen)``) or ``seconds`` have
    passed (``inf``: until woken); the result is None. ``seen`` is the budget's count of wakes read before
    the poll that decided to wait, so a wake that came since is not lost."""

    budget: Budget
    seconds: float
    seen: int

    @property
    def timeout(self) -> float | None:
        """``seconds`` as a timeout argument: None for ``inf``."""
        return None if math.isinf(self.seconds) else self.seconds


@dataclass(frozen=True)
class Store:
    """Run ``call()``, a budget operation that is a round trip to its store (Redis); the result is its value.
    The sync shell calls it; the async shell runs it in a worker thread, so the event loop never waits on it."""

    call: Callable[[], Any]

    @classmethod
    def within(cls, call: PreparedCall[Any], operation: Callable[[], Any]) -> Store:
        """``operation`` for ``call``: its round trips to the store end within the time the call allows."""
        return cls(partial(by, _deadline(call), operation))


def is_rate_limit(value: object) -> bool:
    """``isinstance(value, RateLimit)`` without loading the budget's modules: a RateLimit exists only once
    its module is loaded."""
    module = sys.modules.get("llama_azure._pacing.rate_limit")
    return module is not None and isinstance(value, module.RateLimit)


class Pacer:
    """The link between one client and its ``RateLimit``'s budget."""

    def __init__(self, rate_limit: RateLimit, config: ClientConfig) -> None:
        self.rate_limit = rate_limit
        # One quota per deployment: named by the header (managed endpoints) or the body's model (Foundry, v1).
        self.budget: Budget = rate_limit.budget(f"{config.base_url}|{config.deployment or config.model or ''}")

    def admit(self, call: PreparedCall[Any]) -> Generator[Pause | Store, Any, str]:
        """Yields a :class:`Pause` until the call may go; returns its lease (and reports the wait to tracing).

        Fails fast with :class:`QuotaTimeoutError` when the foreseen wait is longer than the call allows.
        Closing the generator early (the call was cancelled) gives the call's place back.
        """
        tokens = estimate_tokens(call.content)
        limit = self.rate_limit.tokens
        if limit is not None and tokens > limit:
            raise ParameterError(
                f"this request may use {tokens} tokens (prompt, estimated, + max_tokens x n), more than "
                f"rate_limit allows in a whole window ({limit} tokens per {self.rate_limit.window:g} s): "
                f"lower max_tokens or n, or shorten the prompt", param="max_tokens")
        budget = self.budget
        allowed = _allowed_wait(call)
        start, started = budget.clock(), time.monotonic()
        ticket = budget.enqueue(tokens)
        paused = False
        try:
            while True:
                seen = budget.changes  # before the poll: a wake after it is seen by the Pause
                wait = yield from self.through_store(call, partial(budget.poll, ticket))
                if ticket.lease is not None:
                    if paused:  # a call that went at once did not wait, however slow the machine
                        _report(call, time.monotonic() - started)
                    return ticket.lease
                left = allowed - (budget.clock() - start)
                earliest = ticket.earliest  # counting what the answers out may give back: no outcome is sooner
                if left <= 0 and paused:  # room could have come in time (answers out giving back), and did not
                    raise QuotaTimeoutError(
                        f"{call.method} {call.where}: the rate limit's budget had no room for this call "
                        f"within the {allowed:.1f} s it allows (timeout or total_timeout): the calls ahead or out "
                        f"did not free enough in time; nothing was sent. Raise the timeout, or send less at once",
                        wait=wait, limit=allowed)
                if earliest > left:
                    raise QuotaTimeoutError(
                        f"{call.method} {call.where}: the rate limit's budget frees room for this call in "
                        f"{earliest:.1f} s at the earliest, but the call allows {max(left, 0):.1f} s more (timeout "
                        f"or total_timeout); nothing was sent. Raise the timeout, or send less at once",
                        wait=earliest, limit=allowed)
                pause = wait if wait > 0 and budget.is_first(ticket) else math.inf  # else: until woken
                paused = True
                yield Pause(budget, min(pause, left, budget.ledger.poll_interval), seen)
        finally:
            if ticket.lease is None:
                budget.cancel(ticket)

    @property
    def does_io(self) -> bool:
        """The budget's operations are round trips to a store (``RateLimit(store="redis://...")``)."""
        return self.budget.ledger.does_io

    def through_store(self, call: PreparedCall[Any], operation: Callable[[], T]) -> Generator[Store, Any, T]:
        """``operation()``'s value (a budget operation for ``call``: a poll, ``partial(pacer.answered, ...)``),
        as a :class:`Store` step within the call's time when it is a round trip to the store, else called here."""
        if self.does_io:
            return cast(T, (yield Store.within(call, operation)))
        return operation()

    def answered(self, lease: str, response: httpx.Response) -> None:
        """The answer started: the service counted the request by now, and may say what is left."""
        headers = response.headers
        with _best_effort("the answer's start"):
            self.budget.answered(lease, _int_header(headers, "x-ratelimit-remaining-requests"),
                                 _int_header(headers, "x-ratelimit-remaining-tokens"))

    def settling(self, call: PreparedCall[Any], lease: str) -> Callable[[object], None]:
        """``settled(lease, result)`` for a stream, told its usage when it ends: within the call's time then."""
        def settle(result: object) -> None:
            by(_deadline(call), partial(self.settled, lease, result))
        return settle

    def settled(self, lease: str, result: object) -> None:
        """Give back what the estimate held beyond the answer's ``usage.total_tokens``."""
        usage = getattr(result, "usage", None)
        total = getattr(usage, "total_tokens", None)
        if isinstance(total, int):
            with _best_effort("the answer's usage"):
                self.budget.settle(lease, total)


@contextlib.contextmanager
def _best_effort(what: str) -> Iterator[None]:
    """Bookkeeping after an answer came: a store that fails (Redis down) must not cost the caller the answer.
    The budget then holds the request as sent (its estimate, for window + lease): never less than the service."""
    try:
        yield
    except LlamaAzureError as error:
        logger.warning("rate limit: could not record %s (%s); the budget keeps its estimate", what, error)


def sending(pacer: Pacer | None, lease: str | None) -> contextlib.AbstractContextManager[None]:
    """Around building and sending a paced request: one that got no answer (an error, a cancellation) is
    reported, so the budget does not wait for an answer that will not come. An unpaced call has nothing to
    report (a null context: no generator made per call)."""
    if pacer is None or lease is None:
        return _UNPACED
    return _paced_sending(pacer, lease)


_UNPACED = contextlib.nullcontext()


@contextlib.contextmanager
def _paced_sending(pacer: Pacer, lease: str) -> Iterator[None]:
    try:
        yield
    except BaseException:
        pacer.budget.unanswered(lease)
        raise


def _allowed_wait(call: PreparedCall[Any]) -> float:
    """How long the call may wait for its turn: what is left of total_timeout, else its read timeout."""
    left = call.timer.remaining()
    if left is not None:
        return left
    read = call.timeout.read
    return math.inf if read is None else read


def _deadline(call: PreparedCall[Any]) -> float:
    """When the call's round trips to the budget's store must end (``time.monotonic()``'s clock)."""
    return time.monotonic() + _allowed_wait(call)


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _report(call: PreparedCall[Any], waited: float) -> None:
    """Tell tracing the call waited; a failing hook must not lose the lease just granted (it would never be
    answered, and a first request's would hold up every later call)."""
    try:
        report_quota_wait(call, waited, WAIT_REASON)
    except Exception:  # a tracing hook's failure is logged, never raised into the call
        logger.exception("rate limit: reporting a quota wait failed")
