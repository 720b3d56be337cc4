"""Types shared by chat and text completions."""

from __future__ import annotations

from typing import Literal

from ._base import ResponseModel

FinishReason = Literal["stop", "length", "content_filter", "content_filter_error", "tool_calls"]


class Usage(ResponseModel):
    """Token counts of one request."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class Logprobs(ResponseModel):
    """Per-token log probabilities, in the Llama API's completion form."""

    text_offsets: list[int] | None = None
    token_logprobs: list[float | None] | None = None
    tokens: list[str] | None = None
    top_logprobs: list[dict[str, float] | None] | None = None
