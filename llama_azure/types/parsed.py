"""Answers of ``chat.completions.parse()``: each message also carries ``parsed``, an instance of your model."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

from .chat import ChatCompletion, ChatCompletionChoice, ChatMessage

ModelT = TypeVar("ModelT", bound=BaseModel)


class ParsedChatMessage(ChatMessage, Generic[ModelT]):
    """A message whose JSON content was read into ``parsed`` (None when the model called a tool instead).

    Attributes:
        parsed: The answer's JSON read into your model (``response_format=``); None when the model called a tool.
    """

    parsed: ModelT | None = None


class ParsedChoice(ChatCompletionChoice, Generic[ModelT]):
    """One reply of ``parse()``: a ``ChatCompletionChoice`` whose message is a ``ParsedChatMessage``.

    Attributes:
        message: The reply, with ``parsed``.
    """

    message: ParsedChatMessage[ModelT]


class ParsedChatCompletion(ChatCompletion, Generic[ModelT]):
    """``reply.choices[0].message.parsed`` is a ``ModelT``; the other fields are a ``ChatCompletion``'s.

    Attributes:
        id: The service's id of the completion.
        object: ``chat.completion``.
        created: When it was made, in Unix seconds.
        model: The model that answered, as the service names it.
        choices: The replies (``ParsedChoice``), each with ``message.parsed``.
        usage: Tokens read and written; None when the service does not say.
        prompt_filter_results: What the content filter found in the prompt.
    """

    choices: list[ParsedChoice[ModelT]]  # type: ignore[assignment]

    @property
    def parsed(self) -> ModelT | None:
        """Shortcut for the first choice's ``message.parsed``."""
        return self.choices[0].message.parsed if self.choices else None
