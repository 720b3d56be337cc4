"""Answers of ``chat.completions.parse()``: each message also carries ``parsed``, an instance of your model,
and each call of a ``pydantic_function_tool`` tool its ``parsed_arguments``."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, SerializeAsAny

from .chat import ChatCompletion, ChatCompletionChoice, ChatMessage
from .tool_calls import FunctionCall, ToolCall

ModelT = TypeVar("ModelT", bound=BaseModel)


class ParsedFunctionCall(FunctionCall):
    """A call's function with its arguments also read into the tool's model.

    Attributes:
        parsed_arguments: An instance of the pydantic model the tool was made from
            (``pydantic_function_tool(Model)``); None for tools written by hand.
    """

    parsed_arguments: SerializeAsAny[BaseModel] | None = None


class ParsedToolCall(ToolCall):
    """A tool call of a ``parse()`` answer: ``call.function.parsed_arguments`` is an instance of the tool's model.

    Attributes:
        function: The function called, its name, its arguments as JSON text and as ``parsed_arguments``.
    """

    function: ParsedFunctionCall


class ParsedChatMessage(ChatMessage, Generic[ModelT]):
    """A message whose JSON content was read into ``parsed`` (None when the model called a tool instead).

    Attributes:
        parsed: The content as an instance of ``response_format`` (None without one, or for a tool call).
        tool_calls: The calls, each with ``function.parsed_arguments``.
    """

    parsed: ModelT | None = None
    tool_calls: list[ParsedToolCall] | None = None  # type: ignore[assignment]


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
