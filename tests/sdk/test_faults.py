"""Faults injected by the reference server (``--faults`` / ``x-llama-azure-fault``), through both shells.

Anchors complaints 4 (raw transport errors), 7 (a dribbling stream never times out) and 9 (a 24 h
retry window hangs the client), plus transient errors before the first chunk.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.shells import Shell, ShellFactory

from llama_azure import APIConnectionError, APIStatusError, APITimeoutError, RateLimitError
from llama_azure.server.process import ReferenceServer
from llama_azure.types import ChatMessageParam

HI: list[ChatMessageParam] = [{"role": "user", "content": "Say hello."}]
SMALL: dict[str, Any] = {"max_tokens": 4, "temperature": 0.0, "seed": 1}


def fault(spec: str) -> dict[str, Any]:
    return {"extra_headers": {"x-llama-azure-fault": spec}}


async def chat(shell: Shell, spec: str, *, stream: bool = False, **kwargs: Any) -> Any:
    options = {**SMALL, **fault(spec), **kwargs}
    return await shell.run(lambda c: c.chat.completions.create(messages=HI, stream=stream, **options))


async def stream_text(shell: Shell, spec: str, **kwargs: Any) -> str:
    stream = await chat(shell, spec, stream=True, **kwargs)
    result = await shell.until_done(stream)
    return str(result.content or "")


@pytest.mark.parametrize("status", ["500", "502", "503", "504", "429", "429-noheaders"])
async def test_transient_status_before_first_chunk_is_retried(fault_shell: Shell, status: str) -> None:
    reply = await chat(fault_shell, f"status:{status}@2", max_retries=2)
    assert reply.content


async def test_transient_status_is_retried_for_streams_too(fault_shell: Shell) -> None:
    assert await stream_text(fault_shell, "status:503@1", max_retries=1)


async def test_retries_run_out_and_the_error_says_how_many_attempts(fault_shell: Shell) -> None:
    with pytest.raises(APIStatusError) as info:
        await chat(fault_shell, "status:503", max_retries=2)
    assert info.value.status_code == 503
    assert info.value.attempts == 3
    assert "after 3 attempts" in str(info.value)


async def test_a_24_hour_retry_after_raises_at_once(fault_shell: Shell) -> None:
    with pytest.raises(RateLimitError) as info:
        await chat(fault_shell, "status:429-24h", max_retries=5)
    assert info.value.waited == 0  # it does not sleep at all
    assert info.value.attempts == 1
    assert "86400" in str(info.value) and "max_retry_wait" in str(info.value)


async def test_a_reset_before_the_response_is_retried(fault_shell: Shell) -> None:
    assert (await chat(fault_shell, "reset-before@1", max_retries=1)).content


async def test_a_reset_before_the_response_every_time_raises_connection_error(fault_shell: Shell) -> None:
    with pytest.raises(APIConnectionError) as info:
        await chat(fault_shell, "reset-before", max_retries=1)
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.attempts == 2


@pytest.mark.parametrize("spec", ["reset-mid:2", "truncate:2"])
async def test_a_stream_cut_after_the_first_chunk_raises_not_a_short_answer(fault_shell: Shell, spec: str) -> None:
    stream = await chat(fault_shell, spec, stream=True, max_retries=3, max_tokens=12)
    got: list[Any] = []
    with pytest.raises(APIConnectionError) as info:
        if fault_shell.is_async:
            async for chunk in stream:
                got.append(chunk)
        else:
            for chunk in stream:
                got.append(chunk)
    assert not isinstance(info.value, APITimeoutError)
    assert len(got) == 2  # what arrived was handed out, then the break was reported
    assert "incomplete" in str(info.value)


async def test_malformed_json_in_a_chunk_raises_connection_error(fault_shell: Shell) -> None:
    with pytest.raises(APIConnectionError, match="not a valid chunk"):
        await stream_text(fault_shell, "bad-json:2")


async def test_comments_and_keepalives_between_chunks_do_not_change_the_answer(fault_shell: Shell) -> None:
    plain = await stream_text(fault_shell, "")
    assert plain
    assert await stream_text(fault_shell, "keepalive") == plain


async def test_a_huge_streamed_answer_arrives_whole(fault_shell: Shell) -> None:
    text = await stream_text(fault_shell, "huge:100000")
    assert len(text) >= 100_000
    assert "🦙" in text and "\ufffd" not in text


async def test_a_huge_json_answer_arrives_whole(fault_shell: Shell) -> None:
    reply = await chat(fault_shell, "huge:100000")
    assert len(reply.content) >= 100_000


@pytest.mark.timeout(20, func_only=True)  # hang guard; the stall lasts 30 s
async def test_a_stalled_stream_raises_after_the_idle_timeout(fault_shell: Shell) -> None:
    with pytest.raises(APITimeoutError, match=r"stream_idle_timeout=0\.5 s") as info:
        await stream_text(fault_shell, "stall:30", stream_idle_timeout=0.5, max_tokens=8)
    assert "incomplete" in str(info.value)


async def test_the_idle_timeout_is_a_client_option_too(
    fault_server: ReferenceServer, shell_factory: ShellFactory
) -> None:
    async with shell_factory(fault_server.url, fault_server.api_key, stream_idle_timeout=0.5) as shell:
        with pytest.raises(APITimeoutError, match="stream_idle_timeout"):
            await stream_text(shell, "stall:30", max_tokens=8)


async def test_a_dribbling_stream_trips_the_idle_timeout_between_parsed_chunks(fault_shell: Shell) -> None:
    # Bytes keep arriving (16 every 0.1 s), so no socket read ever times out; but no whole chunk
    # arrives within 0.4 s.
    with pytest.raises(APITimeoutError, match=r"stream_idle_timeout=0\.4"):
        await stream_text(fault_shell, "dribble:0.1", stream_idle_timeout=0.4)


@pytest.mark.timeout(15, func_only=True)  # hang guard
async def test_a_dribbling_stream_trips_the_total_timeout(fault_shell: Shell) -> None:
    with pytest.raises(APITimeoutError, match=r"total_timeout=1\.5 s"):
        await stream_text(fault_shell, "dribble:0.05", total_timeout=1.5, max_tokens=16)


@pytest.mark.timeout(10, func_only=True)  # hang guard
async def test_the_total_timeout_covers_retries_and_their_waits(fault_shell: Shell) -> None:
    with pytest.raises(APIStatusError) as info:
        await chat(fault_shell, "status:503", max_retries=10, total_timeout=1.0)
    assert "total_timeout=1 s" in str(info.value)


async def test_with_options_sets_the_total_timeout(fault_shell: Shell) -> None:
    client = fault_shell.client.with_options(total_timeout=1.0)
    shell = Shell(client)
    with pytest.raises(APITimeoutError, match="total_timeout=1 s"):
        await stream_text(shell, "stall:30", max_tokens=8)


async def test_the_header_is_ignored_without_faults_enabled(shell: Shell) -> None:
    assert (await chat(shell, "status:503")).content


@pytest.mark.timeout(15, func_only=True)  # hang guard
async def test_a_dribbling_json_answer_trips_the_total_timeout(fault_shell: Shell) -> None:
    # About 6 kB sent 16 bytes every 20 ms: some 8 s of body, each read well within httpx's timeout.
    with pytest.raises(APITimeoutError, match=r"total_timeout=3 s"):
        await chat(fault_shell, "huge:3000,dribble:0.02", total_timeout=3.0, max_retries=3)


async def test_a_call_whose_attempts_failed_differently_reports_each_cause(fault_shell: Shell) -> None:
    """Issue 18: the first attempt's real cause (a reset) is not lost behind the last attempt's 503."""
    with pytest.raises(APIStatusError) as info:
        await chat(fault_shell, "reset-before@1,status:503", max_retries=2)
    error = info.value
    assert error.status_code == 503 and error.attempts == 3
    kinds = [type(e) for e in error.attempt_errors]
    assert kinds[0] is APIConnectionError and all(issubclass(k, APIStatusError) for k in kinds[1:])
    assert len(kinds) == 3 and error.attempt_errors[-1].message == error.message.split(" (after")[0]
    message = str(error)
    assert "after 3 attempts" in message
    assert "attempt 1: APIConnectionError: POST " in message  # the reset: "Server disconnected" or "ReadError"
    assert "attempts 2-3" not in message  # the last attempt's cause is the message itself, said once


async def test_a_call_that_failed_once_has_no_attempt_errors(fault_shell: Shell) -> None:
    with pytest.raises(APIStatusError) as info:
        await chat(fault_shell, "status:503", max_retries=0)
    assert info.value.attempt_errors == () and "attempt 1" not in str(info.value)
