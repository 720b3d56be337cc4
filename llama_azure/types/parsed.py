"""Answers of ``chat.completions.parse()``: each message also carries ``parsed``, an instance of your model."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

from .chat import ChatCompletion, ChatCompletionChoice, ChatMessage

ModelT = TypeVar("ModelT", bound=BaseModel)


class ParsedChatMessage(ChatMessage, Generic[ModelT]):
    """A message whose JSON content was read into ``parsed`` (None when the model called a tool instead)."""

    parsed: ModelT | None = None


class ParsedChoice(ChatCompletionChoice, Generic[ModelT]):
    message: ParsedChatMessage[ModelT]


class ParsedChatCompletion(ChatCompletion, Generic[ModelT]):
    """``reply.choices[0].message.parsed`` is a ``ModelT``."""

    choices: list[ParsedChoice[ModelT]]  # type: ignore[assignment]

    @property
    def parsed(self) -> ModelT | None:
        """Shortcut for the first choice's ``message.parsed``."""
        return self.choices[0].message.parsed if self.choices else None
