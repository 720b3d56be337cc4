"""Retry behaviour in both shells, with transient failures the server cannot be told to produce."""

from __future__ import annotations

import json
import time
from email.utils import formatdate

import httpx
import pytest
from azure.core.credentials import AzureKeyCredential
from support.shells import USER_HI, Handler, mock_shell
from support.wire import CHAT_OK

from llama_azure import (
    APIConnectionError,
    BadRequestError,
    InternalServerError,
    RateLimitError,
)
from llama_azure._call.retry import RetryPolicy
from llama_azure._http.retry_after import retry_after_seconds


def scripted(*responses: httpx.Response | Exception) -> tuple[list[httpx.Request], Handler]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return seen, handler


def throttled(**headers: str) -> httpx.Response:
    return httpx.Response(429, json={"error": {"code": "429", "message": "Rate limit is exceeded."}}, headers=headers)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_transient_statuses_are_retried(shell_kind: str, status: int) -> None:
    seen, handler = scripted(httpx.Response(status, json={"error": {"code": "x", "message": "try later"}},
                                            headers={"retry-after-ms": "1"}), httpx.Response(200, json=CHAT_OK))
    async with mock_shell(shell_kind, handler) as shell:
        reply = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert reply.content == "fine"
        assert len(seen) == 2
        # a new request per attempt, with one client request id across attempts, for tracing
        assert seen[0] is not seen[1]
        assert seen[0].headers["x-ms-client-request-id"] == seen[1].headers["x-ms-client-request-id"]


async def test_other_4xx_are_not_retried(shell_kind: str) -> None:
    seen, handler = scripted(httpx.Response(400, json={"error": {"code": "BadRequest", "message": "no"}}))
    async with mock_shell(shell_kind, handler, max_retries=5) as shell:
        with pytest.raises(BadRequestError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert len(seen) == 1 and caught.value.attempts == 1


async def test_exhausted_retries_say_how_many_attempts(shell_kind: str) -> None:
    seen, handler = scripted(throttled(**{"retry-after-ms": "5"}))
    async with mock_shell(shell_kind, handler, max_retries=2) as shell:
        with pytest.raises(RateLimitError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert len(seen) == 3
        assert caught.value.attempts == 3
        assert "after 3 attempts" in str(caught.value)
        assert caught.value.retry_after == pytest.approx(0.005)


async def test_per_call_max_retries(shell_kind: str) -> None:
    seen, handler = scripted(throttled(**{"retry-after-ms": "1"}))
    async with mock_shell(shell_kind, handler, max_retries=5) as shell:
        with pytest.raises(RateLimitError):
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_retries=0))
        assert len(seen) == 1


async def test_a_day_long_retry_after_raises_at_once(shell_kind: str) -> None:
    seen, handler = scripted(throttled(**{"retry-after": "86400"}))
    async with mock_shell(shell_kind, handler, max_retries=3) as shell:
        with pytest.raises(RateLimitError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert caught.value.waited == 0  # raised at once: no wait at all
        assert len(seen) == 1
        assert "86400 s" in str(caught.value) and "max_retry_wait" in str(caught.value)


async def test_insufficient_quota_is_not_retried(shell_kind: str) -> None:
    body = {"error": {"code": "insufficient_quota", "message": "You exceeded your current quota."}}
    seen, handler = scripted(httpx.Response(429, json=body, headers={"retry-after-ms": "1"}))
    async with mock_shell(shell_kind, handler, max_retries=3) as shell:
        with pytest.raises(RateLimitError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert len(seen) == 1
        assert "insufficient_quota" in str(caught.value)


async def test_x_should_retry_false_is_obeyed(shell_kind: str) -> None:
    seen, handler = scripted(httpx.Response(503, json={"error": {"code": "x", "message": "m"}},
                                            headers={"x-should-retry": "false"}))
    async with mock_shell(shell_kind, handler, max_retries=3) as shell:
        with pytest.raises(InternalServerError):
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert len(seen) == 1


async def test_connection_errors_are_retried_then_typed(shell_kind: str) -> None:
    seen, handler = scripted(httpx.ConnectError("connection refused"))
    async with mock_shell(shell_kind, handler, max_retries=1) as shell:
        with pytest.raises(APIConnectionError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert len(seen) == 2 and caught.value.attempts == 2
        assert "ConnectError" in str(caught.value)


async def test_each_attempt_reads_the_credential_again(shell_kind: str) -> None:
    credential = AzureKeyCredential("old-key")
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        if len(seen) == 1:
            credential.update("new-key")  # rotated while the first attempt was throttled
            return throttled(**{"retry-after-ms": "1"})
        return httpx.Response(200, json=CHAT_OK)

    async with mock_shell(shell_kind, handler, credential=credential) as shell:
        await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert seen == ["Bearer old-key", "Bearer new-key"]


def test_retry_after_header_forms() -> None:
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "1500"})) == 1.5
    assert retry_after_seconds(httpx.Headers({"x-ms-retry-after-ms": "250"})) == 0.25
    assert retry_after_seconds(httpx.Headers({"retry-after": "7"})) == 7
    now = time.time()
    date = formatdate(now + 30, usegmt=True)
    assert retry_after_seconds(httpx.Headers({"retry-after": date}), now=lambda: now) == pytest.approx(30, abs=1)
    assert retry_after_seconds(httpx.Headers({"retry-after": "soon"})) is None
    assert retry_after_seconds(httpx.Headers({"retry-after": "-3"})) is None
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "nan", "retry-after": "2"})) == 2
    assert retry_after_seconds(httpx.Headers({})) is None


def test_backoff_grows_with_jitter_and_a_ceiling() -> None:
    no_jitter = RetryPolicy(jitter=lambda: 0.0)
    assert [no_jitter.backoff(n) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    full_jitter = RetryPolicy(jitter=lambda: 1.0)
    assert full_jitter.backoff(1) == 0.375


async def test_error_body_is_kept_on_the_error(shell_kind: str) -> None:
    _, handler = scripted(httpx.Response(400, content=json.dumps({"error": {"code": "c", "message": "m"}})))
    async with mock_shell(shell_kind, handler) as shell:
        with pytest.raises(BadRequestError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
    assert caught.value.body == {"error": {"code": "c", "message": "m"}}
    assert caught.value.message.startswith("400 from unit.eastus2.models.ai.azure.com/v1/chat/completions")
