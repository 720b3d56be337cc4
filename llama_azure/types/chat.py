"""Chat completion types: requests' messages, replies and streamed chunks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import AliasChoices, Field

from ._base import ResponseModel, ResultModel
from .chat_params import ChatMessageParam  # also imported from here, where it lived before
from .content_filter import ContentFilterResults, PromptFilterResult
from .shared import FinishReason, Logprobs, Usage
from .tool_calls import ToolCall, ToolCallDelta


class ChatMessage(ResponseModel):
    """A message: the assistant's reply, or one you send (models are accepted wherever dicts are)."""

    role: str = "assistant"
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None
    reasoning_content: str | None = None

    def to_param(self) -> dict[str, Any]:
        """The message as sent back in a conversation (role, content, tool calls; nothing the service added)."""
        param: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            param["tool_calls"] = [call.to_param() for call in self.tool_calls]
        elif self.content is None:
            param["content"] = ""
        return param


class TopLogprob(ResponseModel):
    token: str = ""
    logprob: float = 0.0
    bytes: list[int] | None = None


class TokenLogprob(TopLogprob):
    """One generated token of a chat answer, with the most likely alternatives."""

    top_logprobs: list[TopLogprob] = []


class ChoiceLogprobs(Logprobs):
    """Chat logprobs: OpenAI's form (``content``, a list of :class:`TokenLogprob`), or the Llama API's
    completion form (``tokens``, ``token_logprobs``, ...), whichever the route sends."""

    content: list[TokenLogprob] | None = None
    refusal: list[TokenLogprob] | None = None


class ChatCompletionChoice(ResponseModel):
    index: int = 0
    message: ChatMessage
    finish_reason: FinishReason | str | None = None
    logprobs: ChoiceLogprobs | None = None
    content_filter_results: ContentFilterResults | None = None


class ChatCompletion(ResultModel):
    """A chat completion: ``reply.choices[0].message.content``."""

    id: str | None = None
    object: str | None = "chat.completion"
    created: int | None = None
    model: str | None = None
    choices: list[ChatCompletionChoice]
    usage: Usage | None = None
    prompt_filter_results: list[PromptFilterResult] | None = Field(
        None, validation_alias=AliasChoices("prompt_filter_results", "prompt_annotations"))

    @property
    def content(self) -> str | None:
        """Shortcut for the first choice's message text."""
        return self.choices[0].message.content if self.choices else None


class Delta(ResponseModel):
    """The part of a message a streamed chunk adds."""

    role: str | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    refusal: str | None = None
    reasoning_content: str | None = None


class ChatCompletionChunkChoice(ResponseModel):
    index: int = 0
    delta: Delta = Field(default_factory=Delta)  # a last chunk may carry only ``finish_reason``
    finish_reason: FinishReason | str | None = None
    logprobs: ChoiceLogprobs | None = None
    content_filter_results: ContentFilterResults | None = None


class ChatCompletionChunk(ResultModel):
    """One streamed chat event: ``chunk.choices[0].delta.content``."""

    id: str | None = None
    object: str | None = "chat.completion.chunk"
    created: int | None = None
    model: str | None = None
    choices: list[ChatCompletionChunkChoice] = []
    usage: Usage | None = None
    prompt_filter_results: list[PromptFilterResult] | None = Field(
        None, validation_alias=AliasChoices("prompt_filter_results", "prompt_annotations"))


MessagesParam = Sequence[ChatMessageParam | ChatMessage]
"""What ``messages=`` takes: per-role dicts (mypy checks each role's keys) or messages of earlier replies."""
