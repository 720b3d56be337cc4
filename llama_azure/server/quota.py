"""Requests-per-minute and tokens-per-minute limits per deployment, over a sliding 60 s window.

Token accounting is exact: a request reserves ``prompt_tokens + max_tokens * candidates`` when it is
admitted, and the reservation is corrected to the tokens actually used when the request ends.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_S = 60.0


@dataclass
class _Event:
    at: float
    tokens: int


@dataclass(frozen=True)
class Remaining:
    requests: int
    tokens: int


class QuotaExceeded(Exception):
    def __init__(self, retry_after_s: float, message: str) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.message = message


class Reservation:
    """Tokens held for one admitted request; :meth:`settle` sets them to the tokens really used."""

    def __init__(self, limiter: _Window, event: _Event) -> None:
        self._limiter = limiter
        self._event = event
        self.settled = False

    @property
    def tokens(self) -> int:
        return self._event.tokens

    def settle(self, actual_tokens: int) -> None:
        with self._limiter.lock:
            self._event.tokens = max(0, actual_tokens)
            self.settled = True


class _Window:
    def __init__(self, rpm: int, tpm: int, clock: Callable[[], float], window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self.rpm = rpm
        self.tpm = tpm
        self.clock = clock
        self.lock = threading.Lock()
        self.events: deque[_Event] = deque()

    def _expire(self, now: float) -> None:
        while self.events and self.events[0].at <= now - self.window_s:
            self.events.popleft()

    def _used_tokens(self) -> int:
        return sum(e.tokens for e in self.events)

    def remaining(self) -> Remaining:
        with self.lock:
            self._expire(self.clock())
            return Remaining(
                requests=max(0, self.rpm - len(self.events)),
                tokens=max(0, self.tpm - self._used_tokens()),
            )

    def admit(self, tokens: int) -> Reservation:
        with self.lock:
            now = self.clock()
            self._expire(now)
            if len(self.events) + 1 > self.rpm:
                wait = self.events[0].at + self.window_s - now
                raise QuotaExceeded(wait, _message(wait))
            if tokens > self.tpm:
                raise QuotaExceeded(
                    self.window_s,
                    f"Rate limit is exceeded. The request needs {tokens} tokens (prompt tokens + max_tokens "
                    f"per candidate) but the deployment allows {self.tpm} tokens per minute. "
                    "Lower max_tokens or n.",
                )
            used = self._used_tokens()
            if used + tokens > self.tpm:
                # Time until enough old events leave the window.
                excess = used + tokens - self.tpm
                freed = 0
                wait = self.window_s
                for event in self.events:
                    freed += event.tokens
                    if freed >= excess:
                        wait = event.at + self.window_s - now
                        break
                raise QuotaExceeded(wait, _message(wait))
            event = _Event(now, tokens)
            self.events.append(event)
            return Reservation(self, event)


def _message(wait_s: float) -> str:
    seconds = max(1, int(-(-wait_s // 1)))
    return f"Rate limit is exceeded. Try again in {seconds} seconds."


class QuotaLimiter:
    """One sliding window per deployment name, all with the same limits."""

    def __init__(
        self, rpm: int, tpm: int, clock: Callable[[], float] = time.monotonic, window_s: float = WINDOW_S
    ) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self.window_s = window_s
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def _window(self, deployment: str) -> _Window:
        with self._lock:
            window = self._windows.get(deployment)
            if window is None:
                window = self._windows[deployment] = _Window(self.rpm, self.tpm, self._clock, self.window_s)
            return window

    def remaining(self, deployment: str) -> Remaining:
        return self._window(deployment).remaining()

    def admit(self, deployment: str, tokens: int) -> Reservation:
        """Admit one request that may use ``tokens`` tokens, or raise :class:`QuotaExceeded`."""
        return self._window(deployment).admit(tokens)
