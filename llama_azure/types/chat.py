"""Chat completion types: requests' messages, replies and streamed chunks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from typing_extensions import NotRequired, TypedDict

from ._base import ResponseModel, ResultModel
from .shared import Usage


class ChatMessageParam(TypedDict):
    """A message of the conversation, as a dict: ``{"role": "user", "content": "Hi"}``."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str
    name: NotRequired[str]
    tool_call_id: NotRequired[str]


class ChatMessage(ResponseModel):
    """A message: the assistant's reply, or one you send (models are accepted wherever dicts are)."""

    role: str = "assistant"
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChatCompletionChoice(ResponseModel):
    index: int = 0
    message: ChatMessage
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletion(ResultModel):
    """A chat completion: ``reply.choices[0].message.content``."""

    id: str | None = None
    object: str | None = "chat.completion"
    created: int | None = None
    model: str | None = None
    choices: list[ChatCompletionChoice]
    usage: Usage | None = None

    @property
    def content(self) -> str | None:
        """Shortcut for the first choice's message text."""
        return self.choices[0].message.content if self.choices else None


class Delta(ResponseModel):
    """The part of a message a streamed chunk adds."""

    role: str | None = None
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChatCompletionChunkChoice(ResponseModel):
    index: int = 0
    delta: Delta = Field(default_factory=Delta)  # a last chunk may carry only ``finish_reason``
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletionChunk(ResultModel):
    """One streamed chat event: ``chunk.choices[0].delta.content``."""

    id: str | None = None
    object: str | None = "chat.completion.chunk"
    created: int | None = None
    model: str | None = None
    choices: list[ChatCompletionChunkChoice] = []
    usage: Usage | None = None
