"""The sans-IO accumulators on their own: tool-call deltas without an index, logprobs per choice."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from llama_azure._streaming import accumulate
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


_PIECES: list[dict[str, Any]] = [
    {"delta": {"content": "tok"}},
    {"delta": {"content": "tok"}, "finish_reason": None},
    {"delta": {"content": ""}},
    {"delta": {"content": None}},
    {"delta": {"content": "ünï", "x_extra": 1}},
    {"delta": {"role": "assistant", "content": ""}},
    {"delta": {"content": "a", "refusal": "no"}},
    {"delta": {"content": "b", "reasoning_content": "hm"}},
    {"delta": {"content": "c"}, "logprobs": {"content": [{"token": "c", "logprob": -0.5}]}},
    {"delta": {"content": "d"}, "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}}},
    {"delta": {"tool_calls": [{"index": 0, "id": "t", "function": {"name": "f", "arguments": "{}"}}]}},
    {"delta": {"content": "e"}, "finish_reason": "stop"},
    {"delta": {}},
    {},
]


@pytest.mark.parametrize("limit", [10**9, 40])
def test_the_usual_chunk_folds_as_the_full_way(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    """``ChatAccumulator.add`` folds a content-only delta itself; the same chunks through ``add_chat`` alone
    (the fast path switched off) give the same result, the same count kept and the same drop."""
    rng = random.Random(21)
    for _ in range(200):
        chunks = []
        for _ in range(rng.randrange(1, 12)):
            picked = [dict(rng.choice(_PIECES), index=rng.choice((0, 0, 0, 1))) for _ in range(rng.choice((1, 1, 2)))]
            chunks.append(json.dumps({"id": "c", "model": "m", "created": 1, "choices": picked}))

        def fold(chunk_texts: list[str]) -> tuple[dict[str, Any], int, bool]:
            acc = ChatAccumulator(limit)
            for text in chunk_texts:
                acc.add(ChatCompletionChunk.model_validate_json(text), len(text))
            return acc.result().model_dump(), acc.kept, acc.dropped

        fast = fold(chunks)
        with monkeypatch.context() as patch:
            patch.setattr(accumulate, "_CONTENT_ONLY", frozenset(("never a field",)))
            assert fold(chunks) == fast
