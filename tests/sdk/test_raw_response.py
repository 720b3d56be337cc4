"""``with_raw_response`` (headers, retries taken, ``.parse()``) and the ``on_retry`` client option, through the
real server (the fault-injecting one for retries)."""

from __future__ import annotations

import pytest
from support.shells import Shell, make_client

from llama_azure import ChatCompletion, Completion, ConfigurationError, InternalServerError, LlamaClient, RawResponse
from llama_azure.server.process import ReferenceServer
from llama_azure.types import ChatMessageParam

HI: list[ChatMessageParam] = [{"role": "user", "content": "Say hi."}]


async def test_raw_response_has_headers_retries_and_parses(shell: Shell) -> None:
    raw = await shell.run(lambda c: c.chat.completions.with_raw_response.create(messages=HI, max_tokens=4))
    assert isinstance(raw, RawResponse)
    assert raw.status_code == 200 and raw.retries_taken == 0
    assert int(raw.headers["x-ratelimit-remaining-tokens"]) >= 0
    assert raw.request_id == raw.headers["x-request-id"]
    reply = raw.parse()
    assert isinstance(reply, ChatCompletion) and reply.choices and reply.usage is not None


async def test_raw_response_of_a_stream_parses_to_the_stream(shell: Shell) -> None:
    raw = await shell.run(lambda c: c.completions.with_raw_response.create(prompt="Once", max_tokens=3, stream=True))
    assert raw.headers["content-type"].startswith("text/event-stream")
    result = await shell.until_done(raw.parse())
    assert isinstance(result, Completion) and result.choices


async def test_retries_taken_and_on_retry_see_each_retry(shell_kind: str, fault_server: ReferenceServer) -> None:
    seen: list[tuple[int, type[BaseException], float]] = []
    async with Shell(make_client(shell_kind, fault_server.url, fault_server.api_key, max_retries=3,
                                 on_retry=lambda attempt, error, wait: seen.append((attempt, type(error), wait)))
                     ) as shell:
        raw = await shell.run(lambda c: c.chat.completions.with_raw_response.create(
            messages=HI, max_tokens=2, extra_headers={"x-llama-azure-fault": "status:503@2"}))
    assert raw.retries_taken == 2 and raw.status_code == 200
    assert [(attempt, kind) for attempt, kind, _ in seen] == [(1, InternalServerError), (2, InternalServerError)]
    assert all(wait > 0 for _, _, wait in seen)


async def test_on_retry_is_not_called_without_a_retry(shell_kind: str, fault_server: ReferenceServer) -> None:
    seen: list[int] = []
    async with Shell(make_client(shell_kind, fault_server.url, fault_server.api_key, max_retries=0,
                                 on_retry=lambda attempt, error, wait: seen.append(attempt))) as shell:
        with pytest.raises(InternalServerError):
            await shell.run(lambda c: c.chat.completions.create(
                messages=HI, max_tokens=2, extra_headers={"x-llama-azure-fault": "status:503@1"}))
    assert seen == []


def test_on_retry_must_be_callable() -> None:
    with pytest.raises(ConfigurationError, match="on_retry must be a callable"):
        LlamaClient("https://x.eastus2.models.ai.azure.com", "k", on_retry="print")  # type: ignore[arg-type]
