"""The time limits of one call, without I/O: a total deadline and an idle limit between stream chunks.

httpx bounds each socket read; a stream that dribbles a byte a second never trips that. A
:class:`CallTimer` is started when a call starts and is shared by its retries and its stream:

- ``total_timeout``: from the start of the call, across retries, retry waits and the whole stream;
- ``idle_timeout`` (``stream_idle_timeout``): between two parsed chunks of a stream (comments and
  keep-alive lines do not count as chunks).

Both shells ask it how long the next read may block (:meth:`read_budget`) and which limit fired
(:meth:`expired`); the clock is injectable for tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from .._exceptions import APITimeoutError


class CallTimer:
    """Clocks for one call: ``timer = CallTimer(total_timeout=30, idle_timeout=5)``."""

    def __init__(
        self,
        total_timeout: float | None = None,
        idle_timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total_timeout = total_timeout
        self.idle_timeout = idle_timeout
        self._clock = clock
        self.started = clock()
        self._last_chunk: float | None = None  # set when a stream opens
        self.first_chunk: float | None = None  # when a stream's first parsed chunk arrived (time to first chunk)

    def remaining(self) -> float | None:
        """Seconds left of ``total_timeout`` (may be negative), or None without one."""
        if self.total_timeout is None:
            return None
        return self.total_timeout - (self._clock() - self.started)

    def stream_opened(self) -> None:
        """Start the idle clock: the first chunk is due within ``idle_timeout`` of the headers."""
        self._last_chunk = self._clock()

    def got_chunk(self) -> None:
        self._last_chunk = self._clock()
        if self.first_chunk is None:
            self.first_chunk = self._last_chunk

    def idle_remaining(self) -> float | None:
        if self.idle_timeout is None or self._last_chunk is None:
            return None
        return self.idle_timeout - (self._clock() - self._last_chunk)

    def read_budget(self) -> float | None:
        """How long the next read may block: the smaller of the two limits' time left (None: no limit)."""
        left = [t for t in (self.remaining(), self.idle_remaining()) if t is not None]
        return max(min(left), 0.0) if left else None

    def expired(self, where: str) -> APITimeoutError | None:
        """The error for the limit that has passed, or None while both hold."""
        left = self.remaining()
        if left is not None and left <= 0:
            return APITimeoutError(
                f"{where}: total_timeout={self.total_timeout:g} s passed (measured from the start of the call, "
                f"across retries and the whole stream); raise total_timeout= if the answer needs longer"
            )
        idle = self.idle_remaining()
        if idle is not None and idle <= 0:
            return APITimeoutError(
                f"{where}: no chunk for stream_idle_timeout={self.idle_timeout:g} s (the stream stalled or "
                f"dribbles too slowly); the answer is incomplete"
            )
        return None

    def check(self, where: str) -> None:
        """Raise :class:`APITimeoutError` if a limit has passed."""
        error = self.expired(where)
        if error is not None:
            raise error

    def expired_or(self, where: str, fallback: APITimeoutError) -> APITimeoutError:
        """After a read timed out: the limit that fired, or ``fallback`` (httpx's own timeout)."""
        return self.expired(where) or fallback

    def clamp(self, timeout: httpx.Timeout) -> httpx.Timeout:
        """``timeout`` with no phase longer than the time left of ``total_timeout``."""
        left = self.remaining()
        if left is None:
            return timeout
        left = max(left, 0.001)

        def cut(value: float | None) -> float:
            return left if value is None else min(value, left)

        return httpx.Timeout(connect=cut(timeout.connect), read=cut(timeout.read), write=cut(timeout.write),
                             pool=cut(timeout.pool))
