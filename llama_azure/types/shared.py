"""Types shared by chat and text completions."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from ._base import ResponseModel

FinishReason = Literal["stop", "length", "content_filter", "content_filter_error", "tool_calls"]


class Usage(ResponseModel):
    """Token counts of one request."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class Logprobs(ResponseModel):
    """Per-token log probabilities, in the Llama API's completion form.

    ``text_offsets`` is read from ``text_offsets`` (the Azure docs) or ``text_offset`` (OpenAI, vLLM).
    """

    text_offsets: list[int] | None = Field(None, validation_alias=AliasChoices("text_offsets", "text_offset"))
    token_logprobs: list[float | None] | None = None
    tokens: list[str] | None = None
    top_logprobs: list[dict[str, float] | None] | None = None
