"""What ``stream.until_done()`` folds from streamed chunks: tool calls, logprobs, a final chunk without delta."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.shells import USER_HI, Shell, mock_shell, sse
from support.wire import chat_chunk, chunk, event, text_chunk

from llama_azure import Completion
from llama_azure.types.shared import Logprobs


def tool_delta(index: int, **fields: Any) -> dict[str, Any]:
    return chat_chunk({"index": 0, "delta": {"tool_calls": [{"index": index, **fields}]}, "finish_reason": None})


async def chat_stream(shell: Shell) -> tuple[list[Any], Any]:
    stream = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, stream=True))
    chunks = await shell.chunks(stream)
    return chunks, await shell.until_done(stream)


async def test_streamed_tool_calls_are_merged_by_index(shell_kind: str) -> None:
    parts = [
        event(chunk("", role="assistant")),
        event(tool_delta(0, id="call_a", type="function", function={"name": "get_weather", "arguments": ""})),
        event(tool_delta(0, function={"arguments": '{"city": '})),
        event(tool_delta(1, id="call_b", type="function", function={"name": "get_time", "arguments": "{}"})),
        event(tool_delta(0, function={"arguments": '"Paris"}'})),
        event(chat_chunk({"index": 0, "delta": {}, "finish_reason": "tool_calls"})),
        b"data: [DONE]\n\n",
    ]
    async with mock_shell(shell_kind, sse(parts)) as shell:
        chunks, reply = await chat_stream(shell)
    assert chunks[1].choices[0].delta.tool_calls[0].id == "call_a"  # chunks themselves are unchanged
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert [call.to_param() for call in choice.message.tool_calls] == [
        {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
    ]
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"city": "Paris"}


async def test_a_stream_without_tool_calls_keeps_none(shell_kind: str) -> None:
    parts = [event(chunk("", role="assistant")), event(chunk("Hi")), event(chunk(None, finish="stop")),
             b"data: [DONE]\n\n"]
    async with mock_shell(shell_kind, sse(parts)) as shell:
        _, reply = await chat_stream(shell)
    assert reply.choices[0].message.content == "Hi" and reply.choices[0].message.tool_calls is None


async def test_final_chunk_without_delta_is_accepted(shell_kind: str) -> None:
    parts = [
        event(chunk("", role="assistant")),
        event(chunk("Hello")),
        event(chat_chunk({"index": 0, "finish_reason": "stop"})),  # no "delta" at all
        b"data: [DONE]\n\n",
    ]
    async with mock_shell(shell_kind, sse(parts)) as shell:
        chunks, reply = await chat_stream(shell)
    last = chunks[-1].choices[0]
    assert last.delta.content is None and last.delta.role is None and last.finish_reason == "stop"
    assert reply.choices[0].message.content == "Hello" and reply.choices[0].finish_reason == "stop"


async def completion_result(shell: Shell) -> Completion:
    stream = await shell.run(lambda c: c.completions.create(prompt="x", stream=True, logprobs=1))
    await shell.chunks(stream)
    return await shell.until_done(stream)


async def test_streamed_completion_logprobs_are_concatenated(shell_kind: str) -> None:
    parts = [
        event(text_chunk("Hel", {"tokens": ["Hel"], "token_logprobs": [-0.5],
                                       "top_logprobs": [{"Hel": -0.5}], "text_offsets": [0]})),
        event(text_chunk("lo", {"tokens": ["lo"], "token_logprobs": [-0.25],
                                      "top_logprobs": [{"lo": -0.25}], "text_offsets": [3]})),
        event(text_chunk("", {"tokens": [], "token_logprobs": [], "top_logprobs": [], "text_offsets": []},
                               finish="length")),
        b"data: [DONE]\n\n",
    ]
    async with mock_shell(shell_kind, sse(parts)) as shell:
        result = await completion_result(shell)
    choice = result.choices[0]
    assert choice.text == "Hello" and choice.finish_reason == "length"
    assert choice.logprobs == Logprobs(tokens=["Hel", "lo"], token_logprobs=[-0.5, -0.25],
                                       top_logprobs=[{"Hel": -0.5}, {"lo": -0.25}], text_offsets=[0, 3])


async def test_streamed_completion_without_logprobs_keeps_none(shell_kind: str) -> None:
    parts = [event(text_chunk("Hi", None)), event(text_chunk("", None, finish="stop")),
             b"data: [DONE]\n\n"]
    async with mock_shell(shell_kind, sse(parts)) as shell:
        result = await completion_result(shell)
    assert result.choices[0].text == "Hi" and result.choices[0].logprobs is None


# ---------------------------------------------------------------------------- empty content (issue 22, item 2)

# An Azure AI Model Inference stream (Meta-Llama-3.1-405B-Instruct) whose answer is empty: the role delta and
# the last delta both carry ``"content": ""``, as the service writes them.
AZURE_EMPTY_ANSWER = [
    b'data: {"id":"cmpl-5c1e6f0ae1b94a40a2c6a6d0e0c3b2f1","object":"chat.completion.chunk","created":1722336220,'
    b'"model":"Meta-Llama-3.1-405B-Instruct","choices":[{"index":0,"delta":{"role":"assistant","content":""},'
    b'"logprobs":null,"finish_reason":null}]}\n\n',
    b'data: {"id":"cmpl-5c1e6f0ae1b94a40a2c6a6d0e0c3b2f1","object":"chat.completion.chunk","created":1722336220,'
    b'"model":"Meta-Llama-3.1-405B-Instruct","choices":[{"index":0,"delta":{"content":""},"logprobs":null,'
    b'"finish_reason":"stop","stop_reason":null}],"usage":{"prompt_tokens":21,"total_tokens":21,'
    b'"completion_tokens":0}}\n\n',
    b"data: [DONE]\n\n",
]


async def test_a_stream_that_carried_only_empty_content_folds_to_empty_text(shell_kind: str) -> None:
    async with mock_shell(shell_kind, sse(AZURE_EMPTY_ANSWER)) as shell:
        _, reply = await chat_stream(shell)
    assert reply.choices[0].message.content == ""  # as openai-python gives it; None would say "no text part"
    assert reply.content == "" and reply.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("role_delta", [{"role": "assistant"}, {"role": "assistant", "content": ""}])
async def test_tool_calls_without_text_keep_content_none(shell_kind: str, role_delta: dict[str, Any]) -> None:
    # As the same answer unstreamed ("content": null beside tool_calls): the role delta's "" is no answer.
    parts = [event(chat_chunk({"index": 0, "delta": role_delta})),
             event(tool_delta(0, id="call_a", type="function", function={"name": "f", "arguments": "{}"})),
             event(chat_chunk({"index": 0, "delta": {}, "finish_reason": "tool_calls"})), b"data: [DONE]\n\n"]
    async with mock_shell(shell_kind, sse(parts)) as shell:
        _, reply = await chat_stream(shell)
    assert reply.choices[0].message.content is None and reply.choices[0].message.tool_calls


async def test_an_empty_streamed_answer_from_the_server_is_empty_text(shell: Shell) -> None:
    # The reference server's first delta is {"role": "assistant", "content": ""}; stopping at the first token
    # the model writes (temperature 0) leaves an answer with no text at all.
    probe = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=1, temperature=0))
    first_token = (probe.content or "").strip()
    assert first_token
    stream = await shell.run(lambda c: c.chat.completions.create(
        messages=USER_HI, max_tokens=4, temperature=0, stop=[first_token], stream=True))
    reply = await shell.until_done(stream)
    assert reply.choices[0].finish_reason == "stop"
    assert reply.choices[0].message.content == ""
