"""A service-requested wait has a floor and a bounded jitter: never an instant retry, never a herd.

``error.waited`` is the sum of the waits the client chose (and slept), so no clock is read here.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any

import httpx
import pytest
from support.shells import USER_HI, Shell, mock_shell

from llama_azure import RateLimitError
from llama_azure._call.retry import RETRY_AFTER_FLOOR, RetryPolicy, retry_after_wait


def always_throttled(**headers: str) -> tuple[list[httpx.Request], Any]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, json={"error": {"code": "429", "message": "Rate limit is exceeded."}},
                              headers=headers)

    return seen, handler


@pytest.mark.parametrize("asked", ["0", "past-date"])
async def test_retry_after_zero_or_past_still_waits_a_little(shell_kind: str, asked: str) -> None:
    value = formatdate(time.time() - 3600, usegmt=True) if asked == "past-date" else asked
    seen, handler = always_throttled(**{"retry-after": value})
    async with mock_shell(shell_kind, handler, max_retries=2) as shell:
        with pytest.raises(RateLimitError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert len(seen) == 3
        assert caught.value.waited >= 2 * RETRY_AFTER_FLOOR


async def test_calls_told_to_wait_the_same_time_wake_spread_out(shell_kind: str) -> None:
    _, handler = always_throttled(**{"retry-after-ms": "300"})
    waits = []
    async with mock_shell(shell_kind, handler, max_retries=1) as shell:
        for _ in range(4):
            with pytest.raises(RateLimitError) as caught:
                await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
            waits.append(caught.value.waited)
    assert all(0.3 <= w <= 0.3 + 0.25 for w in waits)
    assert len(set(waits)) > 1


async def test_the_reference_servers_short_retry_after_gets_the_floor(fault_shell: Shell) -> None:
    # status:429 asks for retry-after-ms: 100; the wait is never below the floor
    with pytest.raises(RateLimitError) as caught:
        await fault_shell.run(lambda c: c.chat.completions.create(
            messages=USER_HI, max_tokens=2, max_retries=1, extra_headers={"x-llama-azure-fault": "status:429"}))
    assert caught.value.attempts == 2 and caught.value.waited >= RETRY_AFTER_FLOOR


def test_the_rule() -> None:
    assert retry_after_wait(0, lambda: 0.0) == RETRY_AFTER_FLOOR
    assert retry_after_wait(0, lambda: 1.0) == 0.5
    assert retry_after_wait(10, lambda: 0.0) == 10
    assert retry_after_wait(10, lambda: 1.0) == 11
    assert retry_after_wait(60, lambda: 1.0) == 62  # the spread is bounded
    policy = RetryPolicy(max_retry_wait=60, jitter=lambda: 1.0)
    error = RateLimitError("429", response=httpx.Response(429, headers={"retry-after": "60"}))
    assert policy.decide(error, 1).wait == 62  # max_retry_wait is compared with what the service asked
    over = RateLimitError("429", response=httpx.Response(429, headers={"retry-after": "61"}))
    assert not policy.decide(over, 1).retry
