"""Builders for what goes over the wire in tests: SSE events, chat/text chunks and canned answers.

Tests that feed the client a stream the reference server never sends (through ``httpx.MockTransport``
or a raw socket) and tests that read the server's own streams build and parse events here.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

DONE = b"data: [DONE]\n\n"

CHAT_OK: dict[str, Any] = {
    "id": "c1", "object": "chat.completion", "created": 1, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"}, "finish_reason": "stop"}]}
TEXT_OK: dict[str, Any] = {
    "id": "t1", "object": "text_completion", "created": 1, "model": "m",
    "choices": [{"index": 0, "text": " there", "finish_reason": "stop"}]}


def chat_answer(content: str) -> dict[str, Any]:
    """A whole (non-streamed) chat completion saying ``content``."""
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    return {**CHAT_OK, "choices": [choice]}


def chat_chunk(choice: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A ``chat.completion.chunk`` with one choice; ``top`` adds or overrides top-level fields."""
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [choice], **top}


def delta_chunk(content: str | None = None, finish: str | None = None, role: str | None = None,
                **top: Any) -> dict[str, Any]:
    """A chat chunk whose one delta carries ``role`` and/or ``content``."""
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    return chat_chunk({"index": 0, "delta": delta, "finish_reason": finish}, **top)


def chunk(content: str | None = None, finish: str | None = None, role: str | None = None) -> bytes:
    """:func:`delta_chunk` as JSON bytes (the ``data:`` payload of one event)."""
    return json.dumps(delta_chunk(content, finish, role), ensure_ascii=False).encode()


def text_chunk(text: str, logprobs: dict[str, Any] | None = None, finish: str | None = None,
               index: int = 0) -> dict[str, Any]:
    """A streamed ``text_completion`` chunk with one choice."""
    choice: dict[str, Any] = {"index": index, "text": text, "finish_reason": finish}
    if logprobs is not None:
        choice["logprobs"] = logprobs
    return {"id": "t1", "object": "text_completion", "created": 1, "model": "m", "choices": [choice]}


def event(body: dict[str, Any] | bytes, eol: str = "\n") -> bytes:
    """One SSE ``data:`` event, ended by a blank line written with ``eol``."""
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    end = eol.encode()
    return b"data: " + data + end + end


def sse_payloads(response: httpx.Response) -> list[Any]:
    """The ``data:`` payloads of a data-only SSE response, JSON-decoded, with ``[DONE]`` kept as a string."""
    payloads: list[Any] = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        assert block.startswith("data: "), block
        data = block[len("data: ") :]
        payloads.append(data if data == "[DONE]" else json.loads(data))
    return payloads
