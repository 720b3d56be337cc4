"""The retry decision and the retry loop of a call, without I/O: :func:`call_flow` runs the attempts, and
tenacity's state machine, fed each attempt's outcome, decides (through :class:`RetryRun`) after a failure.

Retried: 408, 429, 500, 502, 503, 504, connection errors and timeouts, always before a stream's first
chunk. The wait is what the service asked for (``retry-after-ms``, ``x-ms-retry-after-ms``,
``Retry-After`` in seconds or as an HTTP date) plus a bounded jitter (:func:`retry_after_wait`), else
exponential backoff with jitter. A requested wait above ``max_retry_wait`` is never slept: the error is
raised at once, saying so.
"""

from __future__ import annotations

import logging
import random
import sys
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._exceptions import APIConnectionError, APIError, APIErrorT, APIStatusError, RetrySummary, after_retries
from .._http.retry_after import retry_after_seconds
from .._observe import error_type
from .options import DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_WAIT

if TYPE_CHECKING:
    from tenacity import RetryCallState, Retrying

    from .prepared import CallOutcome, PreparedCall

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
# A service-requested wait: never below the floor (Retry-After: 0 or a past date must not retry at once),
# plus a random extra of 10 % of the wait, kept between these bounds, so that calls told to wait the same
# time wake spread out instead of all at once.
RETRY_AFTER_FLOOR = 0.25
RETRY_AFTER_MIN_SPREAD = 0.25
RETRY_AFTER_MAX_SPREAD = 2.0
# Codes that say "waiting will not help": a quota that is used up until someone pays or raises it.
_PERMANENT_CODES = frozenset({"insufficient_quota", "quota_exceeded_permanently"})
logger = logging.getLogger("llama_azure")


def retry_after_wait(asked: float, jitter: Callable[[], float] = random.random) -> float:
    """How long to sleep when the service asked for ``asked`` seconds: never less, and spread out.

    ``max(asked, 0.25) + jitter() * min(max(0.1 * asked, 0.25), 2.0)`` with ``jitter()`` in [0, 1):
    ``Retry-After: 0`` waits 0.25 to 0.5 s, ``Retry-After: 10`` 10 to 11 s, ``Retry-After: 60`` 60 to 62 s.
    """
    spread = min(max(0.1 * asked, RETRY_AFTER_MIN_SPREAD), RETRY_AFTER_MAX_SPREAD)
    return max(asked, RETRY_AFTER_FLOOR) + jitter() * spread


@dataclass(frozen=True)
class Decision:
    retry: bool
    wait: float = 0.0
    note: str | None = None


@dataclass
class RetryPolicy:
    """What to do after a failed attempt. ``attempt`` counts from 1."""

    max_retries: int = DEFAULT_MAX_RETRIES
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT
    jitter: Callable[[], float] = random.random

    def backoff(self, attempt: int) -> float:
        base = min(INITIAL_BACKOFF * 2.0 ** (attempt - 1), MAX_BACKOFF)
        return base * (1 - 0.25 * self.jitter())

    def decide(self, error: BaseException, attempt: int) -> Decision:
        if not isinstance(error, APIError):
            return Decision(False)
        if isinstance(error, APIStatusError):
            should = error.headers.get("x-should-retry", "").lower()
            if should == "false":
                return Decision(False)
            if error.code in _PERMANENT_CODES:
                return Decision(False, note=f"not retried: {error.code} does not clear by waiting")
            if error.status_code not in RETRYABLE_STATUS and should != "true":
                return Decision(False)
        elif not isinstance(error, APIConnectionError):
            return Decision(False)
        if attempt > self.max_retries:
            return Decision(False)
        asked = retry_after_seconds(error.headers) if isinstance(error, APIStatusError) else None
        if asked is not None and asked > self.max_retry_wait:
            return Decision(
                False,
                note=f"not retried: the service asked to wait {asked:.0f} s, above max_retry_wait="
                f"{self.max_retry_wait:g} s",
            )
        if asked is None:
            return Decision(True, self.backoff(attempt))
        return Decision(True, retry_after_wait(asked, self.jitter))


@dataclass
class RetryRun:
    """One call's retries: the callbacks (``should_retry``, ``next_wait``, ``before_wait``) of the tenacity state
    machine :meth:`machine` makes after a failed attempt; when they stop, ``raise run.final(error)`` gives the
    caller the error with its retry summary (built once, there).

    It only decides waits: a 401 to a cached token is handled inside the attempt, by the credential
    (``attempt.attempt_flow``).
    """

    policy: RetryPolicy
    call: PreparedCall[Any]
    outcome: CallOutcome  # its ``sent`` counts the HTTP requests made, a resend after a new token included
    on_retry: Callable[[int, BaseException, float], object] | None = None
    waited: float = 0.0
    _decisions: dict[int, Decision] = field(default_factory=dict)
    _errors: list[APIError] = field(default_factory=list)  # each failed attempt's, in order

    def should_retry(self, state: RetryCallState) -> bool:
        return self._decision(state).retry

    def _decision(self, state: RetryCallState) -> Decision:
        """The decision after attempt ``state.attempt_number``, made at the first question about it (its wait
        has jitter): ``should_retry`` and ``next_wait`` read the same one, whichever tenacity asks first."""
        attempt = state.attempt_number
        if attempt not in self._decisions:
            self._decisions[attempt] = self._decide(state)
        return self._decisions[attempt]

    def _decide(self, state: RetryCallState) -> Decision:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        if error is None:
            return Decision(False)
        if isinstance(error, APIError):
            self._errors.append(error)
        return self._within_total_timeout(self.policy.decide(error, state.attempt_number))

    def _within_total_timeout(self, decision: Decision) -> Decision:
        """No retry, and no wait, past the call's total_timeout."""
        left = self.call.timer.remaining()
        if not decision.retry or left is None or decision.wait < left:
            return decision
        total = self.call.timer.total_timeout
        if left <= 0:
            return Decision(False, note=f"not retried: total_timeout={total:g} s has passed")
        return Decision(False, note=f"not retried: waiting {decision.wait:.1f} s would pass total_timeout={total:g} s")

    def next_wait(self, state: RetryCallState) -> float:
        wait = self._decision(state).wait
        self.waited += wait
        error = state.outcome.exception() if state.outcome is not None else None
        logger.info("%s: attempt %d failed (%s); %s", self.call.where, state.attempt_number, error_type(error),
                    self._next_step(wait))
        if self.call.trace is not None:  # tracing on: each retry is an event of the call's span
            self.call.trace.retried(state.attempt_number, error, wait)
        return wait

    def _next_step(self, wait: float) -> str:
        return f"retrying in {wait:.2f} s"

    def final(self, error: APIErrorT) -> APIErrorT:
        """The error the call raises: the last attempt's, saying how many requests were sent, how long was
        waited, what the earlier attempts failed with and why it was not retried (that attempt's decision)."""
        last = self._decisions.get(max(self._decisions, default=0))
        note = last.note if last is not None else None
        errors: tuple[APIError, ...] = tuple(self._errors)
        if not errors or errors[-1] is not error:
            errors += (error,)
        return after_retries(error, RetrySummary(max(self.outcome.sent, 1), self.waited, note, errors))

    def before_wait(self, state: RetryCallState) -> None:
        """tenacity's ``before_sleep``: tell ``on_retry`` which attempt failed, why, and how long the wait is."""
        if self.on_retry is None or state.outcome is None:
            return
        error = state.outcome.exception()
        if error is not None:
            wait = state.next_action.sleep if state.next_action is not None else 0.0
            self.on_retry(state.attempt_number, error, wait)

    def machine(self, failure: Any) -> tuple[Retrying, RetryCallState]:
        """tenacity's state machine with these callbacks, after attempt 1 failed with ``failure`` (an exc_info):
        made only then, so a call whose first attempt succeeds costs no tenacity."""
        from tenacity import RetryCallState, Retrying  # loaded at the first failure, not at import

        retrying = Retrying(retry=self.should_retry, wait=self.next_wait, before_sleep=self.before_wait,
                            reraise=True)
        retrying.begin()
        state = RetryCallState(retrying, fn=None, args=(), kwargs={})
        state.set_exception(failure)
        return retrying, state


@dataclass(frozen=True)
class Sleep:
    """Wait this long before the next attempt (time.sleep / asyncio.sleep); the result is None."""

    seconds: float


def call_flow(attempt: Callable[[], Generator[Any, Any, Any]], retries: Callable[[], RetryRun]
              ) -> Generator[Any, Any, Any]:
    """Every attempt of one call: ``attempt()`` is one attempt's flow (``attempt.attempt_flow``, or the router's
    for ``deployments=``). The first one runs as it is; after a failure ``retries()`` gives the call's
    :class:`RetryRun`, and tenacity's state machine (``iter``, as its own ``__iter__`` runs it) decides: a
    :class:`Sleep` step then the next attempt, or the final error (``RetryRun.final``). Only an ``APIError``
    is retried; any other error passes through at once."""
    try:
        return (yield from attempt())
    except APIError:
        failure = sys.exc_info()
    from tenacity import DoAttempt, DoSleep

    run = retries()
    retrying, state = run.machine(failure)
    while True:
        try:
            action = retrying.iter(state)
        except APIError as error:
            raise run.final(error) from error.__cause__
        if isinstance(action, DoSleep):
            if action > 0:  # a move to another deployment does not wait
                yield Sleep(float(action))
            state.prepare_for_next_attempt()
        elif isinstance(action, DoAttempt):
            try:
                result = yield from attempt()
            except APIError:
                state.set_exception(sys.exc_info())  # type: ignore[arg-type]
            else:
                state.set_result(result)
        else:
            return action
