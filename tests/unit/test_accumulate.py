"""The sans-IO accumulators on their own: tool-call deltas without an index, logprobs per choice."""

from __future__ import annotations

from typing import Any

from llama_azure._streaming.accumulate import ChatAccumulator, CompletionAccumulator
from llama_azure.types.chat import ChatCompletionChunk
from llama_azure.types.completion import Completion


def chat(choice: dict[str, Any]) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate({"choices": [choice]})


def test_tool_call_deltas_without_index_follow_their_id() -> None:
    acc = ChatAccumulator()
    for calls in (
        [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{\"x\""}}],
        [{"function": {"arguments": ": 1}"}}],
        [{"id": "b", "function": {"name": "g", "arguments": "{}"}}],
    ):
        acc.add(chat({"index": 0, "delta": {"tool_calls": calls}}))
    acc.add(chat({"index": 0, "finish_reason": "tool_calls"}))
    assert [c.to_param() for c in acc.result().choices[0].message.tool_calls or []] == [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}},
        {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
    ]


def test_logprobs_are_kept_per_choice() -> None:
    acc = CompletionAccumulator()
    acc.add(Completion.model_validate({"choices": [
        {"index": 0, "text": "a", "logprobs": {"tokens": ["a"], "token_logprobs": [-1.0]}},
        {"index": 1, "text": "b"},
    ]}))
    acc.add(Completion.model_validate({"choices": [{"index": 0, "text": "c", "logprobs": {"tokens": ["c"]}}]}))
    first, second = acc.result().choices
    assert first.logprobs is not None
    assert first.logprobs.tokens == ["a", "c"] and first.logprobs.token_logprobs == [-1.0]
    assert first.logprobs.top_logprobs is None and first.logprobs.text_offsets is None
    assert second.logprobs is None
