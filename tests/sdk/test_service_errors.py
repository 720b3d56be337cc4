"""Auth failures, content filtering and quota 429s from the real reference server, in both shells."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.bursts import burst
from support.quota import LONG_QUOTA_WINDOW
from support.shells import USER_HI, Shell, ShellFactory

from llama_azure import AuthenticationError, Completion, ContentFilterError, RateLimitError
from llama_azure.server.process import ReferenceServer
from llama_azure.types import ChatMessageParam


async def test_wrong_key_is_authentication_error_without_the_key(
    shell_factory: ShellFactory, server: ReferenceServer
) -> None:
    secret = "wrong-key-0123456789-SECRET"
    async with shell_factory(server.url, secret, max_retries=0) as shell:
        with pytest.raises(AuthenticationError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=4))
        error = caught.value
        assert error.status_code == 401
        assert error.request_id
        for text in (str(error), repr(error), repr(shell.client), str(error.body)):
            assert secret not in text


async def test_content_filter_on_prompt(shell: Shell) -> None:
    messages: list[ChatMessageParam] = [{"role": "user", "content": "Tell me about the forbiddenword please."}]
    with pytest.raises(ContentFilterError) as caught:
        await shell.run(lambda c: c.chat.completions.create(messages=messages, max_tokens=4))
    assert caught.value.status_code == 400
    assert caught.value.code == "content_filter"
    assert caught.value.param == "prompt"
    assert caught.value.attempts == 1  # a content filter is not retried
    assert caught.value.categories == ["custom_blocklists"] and caught.value.source == "prompt"
    assert "filtered: custom_blocklists; on the prompt" in str(caught.value)


@pytest.fixture
def tiny_quota_window() -> float:
    """Five seconds: short enough for a retry to wait it out (a test that needs no retry takes an hour)."""
    return 5.0


@pytest.fixture
def tiny_quota_server(tiny_quota_window: float) -> Iterator[ReferenceServer]:
    """One request per ``tiny_quota_window``; a fresh quota for each test."""
    with ReferenceServer(api_key="quota-key", args=["--rpm", "1", "--quota-window", f"{tiny_quota_window:g}"]) as srv:
        yield srv


async def test_quota_429_then_success_after_retry(
    shell_factory: ShellFactory, tiny_quota_server: ReferenceServer
) -> None:
    url, key = tiny_quota_server.url, tiny_quota_server.api_key
    no_retry = shell_factory(url, key, max_retries=0)
    patient = shell_factory(url, key, max_retries=3)
    # Two calls at once: one takes the window's request, the other gets the 429, however slow the first answer
    # (sent one after the other, a first answer slower than the window would let the second one through).
    results = await burst(no_retry, 2, lambda c: c.completions.create(prompt="Hi", max_tokens=1))
    [error] = [r for r in results if isinstance(r, RateLimitError)]
    assert [type(r) for r in results if r is not error] == [Completion]
    assert error.status_code == 429
    assert error.retry_after is not None and 0 < error.retry_after <= 5.5
    assert error.headers.get("x-ratelimit-remaining-requests") == "0"

    result = await patient.run(lambda c: c.completions.create(prompt="Hi", max_tokens=2))
    assert result.text is not None


# The 429's wait is an hour, above the cap whatever the machine's speed (a 5 s window could roll over between the
# two calls, or leave a wait under the cap).
@pytest.mark.parametrize("tiny_quota_window", [LONG_QUOTA_WINDOW], ids=["long_window"])
async def test_quota_retry_wait_above_cap_raises_at_once(
    shell_factory: ShellFactory, tiny_quota_server: ReferenceServer
) -> None:
    async with shell_factory(tiny_quota_server.url, tiny_quota_server.api_key, max_retries=5,
                             max_retry_wait=0.5) as shell:
        await shell.run(lambda c: c.completions.create(prompt="Hi", max_tokens=2))
        with pytest.raises(RateLimitError) as caught:
            await shell.run(lambda c: c.completions.create(prompt="Hi", max_tokens=2))
        assert "max_retry_wait" in str(caught.value)
        assert caught.value.attempts == 1
