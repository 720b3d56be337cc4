"""Types shared by chat and text completions."""

from __future__ import annotations

from typing import Literal

from ._base import ResponseModel

FinishReason = Literal["stop", "length", "content_filter", "content_filter_error", "tool_calls"]


class Usage(ResponseModel):
    """Token counts of one request.

    Attributes:
        prompt_tokens: Tokens read: the prompt, or the messages in the model's chat template.
        completion_tokens: Tokens written, over all choices.
        total_tokens: The sum of the two: what quotas in tokens per minute count.
    """

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class Logprobs(ResponseModel):
    """Per-token log probabilities, in the Llama API's completion form.

    Attributes:
        text_offsets: Where each token starts in the text (``text_offset`` on the wire is read too).
        token_logprobs: The log probability of each token written (None for a first prompt token).
        tokens: The tokens written, as text.
        top_logprobs: For each position, the ``logprobs`` most likely tokens and their log probabilities.
    """

    text_offsets: list[int] | None = None
    token_logprobs: list[float | None] | None = None
    tokens: list[str] | None = None
    top_logprobs: list[dict[str, float] | None] | None = None
