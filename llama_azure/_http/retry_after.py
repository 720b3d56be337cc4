"""Reading the wait a service asks for from its response headers."""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import httpx


def retry_after_seconds(headers: httpx.Headers, now: Callable[[], float] = time.time) -> float | None:
    """The wait the service asked for, in seconds, or None when it asked for none (or nonsense)."""
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = headers.get(name)
        if value:
            try:
                ms = float(value)
            except ValueError:
                continue
            if ms >= 0 and ms == ms and ms != float("inf"):
                return ms / 1000.0
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        return max(0.0, when.timestamp() - now())
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        return None
    return seconds
