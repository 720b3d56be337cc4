"""Tool calls in answers (whole on a message, in pieces on deltas), and the record of one ``run_tools`` ran."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, field_validator

from ._base import ResponseModel


def arguments_text(value: Any) -> Any:
    """Arguments as JSON text: some servers send a JSON object where OpenAI's form has a string."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


class FunctionCall(ResponseModel):
    """The function the model called and its arguments as JSON text: ``json.loads(call.function.arguments)``.

    Attributes:
        name: The function's name, as in the tool you passed (``pydantic_function_tool``: the model's class name).
        arguments: Its arguments as JSON text, as the model wrote them (a JSON object sent by a server is turned
            into text).
    """

    name: str = ""
    arguments: str = ""

    _text = field_validator("arguments", mode="before")(arguments_text)


class ToolCall(ResponseModel):
    """One call on ``message.tool_calls``: send its result back as ``{"role": "tool", "tool_call_id": call.id}``.

    Attributes:
        id: The call's id, which the ``tool`` message that answers it names (``tool_call_id``).
        type: ``function``.
        function: The function called and its arguments (``FunctionCall``).
    """

    id: str = ""
    type: str = "function"
    function: FunctionCall

    def to_param(self) -> dict[str, Any]:
        """The call as sent back in the assistant message of the conversation."""
        return {"id": self.id, "type": "function",
                "function": {"name": self.function.name, "arguments": self.function.arguments}}


class ToolCallDeltaFunction(ResponseModel):
    """The function part of a streamed tool call's piece.

    Attributes:
        name: The function's name, in the call's first piece; None after.
        arguments: The next piece of the arguments' JSON text (join them, or let ``until_done()`` do it).
    """

    name: str | None = None
    arguments: str | None = None

    _text = field_validator("arguments", mode="before")(arguments_text)


class ToolCallDelta(ResponseModel):
    """A piece of a streamed tool call: ``id`` and ``function.name`` come first, arguments in pieces.

    Attributes:
        index: Which call of the message this piece belongs to (pieces of one call share it).
        id: The call's id, in its first piece; None after.
        type: ``function`` in the first piece; None after.
        function: The name (first piece) and the next piece of the arguments (``ToolCallDeltaFunction``).
    """

    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: ToolCallDeltaFunction | None = None


@dataclass
class ToolCallRecord:
    """One tool call the run executed (or refused).

    Attributes:
        id: The call's id (``tool_call_id`` of the tool message sent back).
        name: The tool's name.
        arguments: The validated arguments, an instance of the tool's model; None when they were not valid.
        raw_arguments: The arguments as the model wrote them (JSON text).
        result: What the function returned (None when it failed).
        error: Why the call failed: ``ToolArgumentsError``, ``UnknownToolError`` or the function's exception.
        output: The text sent back to the model as the tool message.
        duration: Seconds the call took (validation and the function).
        round: The round (0-based) whose answer made the call.
    """

    id: str
    name: str
    raw_arguments: str
    round: int
    arguments: BaseModel | None = None
    result: Any = None
    error: BaseException | None = None
    output: str = ""
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the function ran and returned."""
        return self.error is None
