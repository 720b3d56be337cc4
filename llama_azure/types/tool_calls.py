"""Tool calls in answers: whole on a message, in pieces on streamed deltas."""

from __future__ import annotations

import json
from typing import Any

from pydantic import field_validator

from ._base import ResponseModel


def arguments_text(value: Any) -> Any:
    """Arguments as JSON text: some servers send a JSON object where OpenAI's form has a string."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


class FunctionCall(ResponseModel):
    """The function the model called and its arguments as JSON text: ``json.loads(call.function.arguments)``."""

    name: str = ""
    arguments: str = ""

    _text = field_validator("arguments", mode="before")(arguments_text)


class ToolCall(ResponseModel):
    """One call on ``message.tool_calls``: send its result back as ``{"role": "tool", "tool_call_id": call.id}``."""

    id: str = ""
    type: str = "function"
    function: FunctionCall

    def to_param(self) -> dict[str, Any]:
        """The call as sent back in the assistant message of the conversation."""
        return {"id": self.id, "type": "function",
                "function": {"name": self.function.name, "arguments": self.function.arguments}}


class ToolCallDeltaFunction(ResponseModel):
    name: str | None = None
    arguments: str | None = None

    _text = field_validator("arguments", mode="before")(arguments_text)


class ToolCallDelta(ResponseModel):
    """A piece of a streamed tool call: ``id`` and ``function.name`` come first, arguments in pieces."""

    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: ToolCallDeltaFunction | None = None
