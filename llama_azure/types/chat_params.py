"""What a chat call sends, as TypedDicts: one message type per role, content parts, tools, tool_choice,
response_format.

The same types serve ``mypy --strict`` (an unknown role or key is a type error) and the run-time check
in ``_request/params.py`` (pydantic reads them, with unknown keys forbidden), so an untyped caller gets a
``ParameterError`` naming the message index and the key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, with_config
from typing_extensions import NotRequired, Required, TypedDict

_FORBID = ConfigDict(extra="forbid")


@with_config(_FORBID)
class TextContentPart(TypedDict):
    """``{"type": "text", "text": "..."}``

    Attributes:
        type: ``text``.
        text: The text.
    """

    type: Literal["text"]
    text: str


@with_config(_FORBID)
class ImageURL(TypedDict):
    """An image by ``https://`` URL or ``data:image/png;base64,...`` URI; ``detail`` is a hint to the model.

    Attributes:
        url: An ``https://`` URL or a ``data:image/...;base64,...`` URI.
        detail: ``low``, ``high`` or ``auto`` (optional): how closely the model looks.
    """

    url: str
    detail: NotRequired[Literal["auto", "low", "high"]]


@with_config(_FORBID)
class ImageContentPart(TypedDict):
    """``{"type": "image_url", "image_url": {"url": "https://..."}}`` (models that read images only).

    Attributes:
        type: ``image_url``.
        image_url: The image (``ImageURL``).
    """

    type: Literal["image_url"]
    image_url: ImageURL


ContentPart = Annotated[TextContentPart | ImageContentPart, Field(discriminator="type")]


@with_config(_FORBID)
class FunctionCallParam(TypedDict):
    """The function of a tool call sent back.

    Attributes:
        name: The function's name.
        arguments: The arguments as JSON text, as the model wrote them.
    """

    name: str
    arguments: str


@with_config(_FORBID)
class ToolCallParam(TypedDict):
    """A tool call of an earlier assistant message, sent back with the conversation.

    Attributes:
        id: The call's id (the answering ``tool`` message's ``tool_call_id``).
        type: ``function``.
        function: ``{"name": ..., "arguments": "<JSON text>"}`` (``FunctionCallParam``).
    """

    id: str
    type: Literal["function"]
    function: FunctionCallParam


@with_config(_FORBID)
class SystemMessageParam(TypedDict):
    """``{"role": "system", "content": "You are terse."}``

    Attributes:
        role: ``system``.
        content: The instructions: text, or a list of text parts.
        name: An optional name for the author.
    """

    role: Literal["system"]
    content: str | list[TextContentPart]
    name: NotRequired[str]


@with_config(_FORBID)
class UserMessageParam(TypedDict):
    """``{"role": "user", "content": "Hi"}``, or content parts: text and ``image_url``.

    Attributes:
        role: ``user``.
        content: Text, or a list of parts (``TextContentPart``, ``ImageContentPart``).
        name: An optional name for the author.
    """

    role: Literal["user"]
    content: str | list[ContentPart]
    name: NotRequired[str]


@with_config(_FORBID)
class AssistantMessageParam(TypedDict, total=False):
    """An earlier reply: text, or ``content: None`` with the ``tool_calls`` the model made.

    Attributes:
        role: ``assistant`` (the only required key).
        content: The reply's text (or text parts); None with ``tool_calls``.
        tool_calls: The calls the model made (``ToolCallParam``), each answered by a ``tool`` message.
        name: An optional name for the author.
    """

    role: Required[Literal["assistant"]]
    content: str | list[TextContentPart] | None
    tool_calls: list[ToolCallParam]
    name: str


@with_config(_FORBID)
class ToolMessageParam(TypedDict):
    """A tool's result: ``{"role": "tool", "tool_call_id": call.id, "content": "22 C"}``.

    Attributes:
        role: ``tool``.
        content: The result, as text (or text parts).
        tool_call_id: The id of the call it answers.
    """

    role: Literal["tool"]
    content: str | list[TextContentPart]
    tool_call_id: str


ChatMessageParam = SystemMessageParam | UserMessageParam | AssistantMessageParam | ToolMessageParam
"""One message of the conversation, any role."""

MessageRole = Literal["system", "user", "assistant", "tool"]


@with_config(_FORBID)
class FunctionDefinition(TypedDict):
    """A function the model may call: ``parameters`` is a JSON schema of its arguments.

    Attributes:
        name: Its name (letters, digits, ``_`` and ``-``; at most 64).
        description: What it does, for the model to decide when to call it (optional).
        parameters: A JSON schema of its arguments (optional).
        strict: Whether the arguments must follow the schema exactly (optional).
    """

    name: str
    description: NotRequired[str]
    parameters: NotRequired[dict[str, Any]]
    strict: NotRequired[bool]


@with_config(_FORBID)
class ToolParam(TypedDict):
    """``{"type": "function", "function": {"name": ..., "parameters": {...}}}``

    Attributes:
        type: ``function``.
        function: The function (``FunctionDefinition``).
    """

    type: Literal["function"]
    function: FunctionDefinition


@with_config(_FORBID)
class NamedFunction(TypedDict):
    """The tool a ``NamedToolChoice`` names.

    Attributes:
        name: The function's name.
    """

    name: str


@with_config(_FORBID)
class NamedToolChoice(TypedDict):
    """Force one tool: ``{"type": "function", "function": {"name": "get_weather"}}``.

    Attributes:
        type: ``function``.
        function: ``{"name": ...}``, the tool to call (``NamedFunction``).
    """

    type: Literal["function"]
    function: NamedFunction


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice
"""``"none"`` never calls, ``"auto"`` lets the model choose, ``"required"`` always calls, or a named tool."""


@with_config(_FORBID)
class ResponseFormatText(TypedDict):
    """Plain text, the default.

    Attributes:
        type: ``text``.
    """

    type: Literal["text"]


@with_config(_FORBID)
class ResponseFormatJSONObject(TypedDict):
    """Any JSON object.

    Attributes:
        type: ``json_object``.
    """

    type: Literal["json_object"]


@with_config(_FORBID)
class JSONSchema(TypedDict):
    """The schema of a ``json_schema`` response format.

    Attributes:
        name: The schema's name (at most 64 characters).
        schema: The JSON schema the answer follows (optional).
        description: What the answer is (optional).
        strict: Whether the answer must follow the schema exactly (optional).
    """

    name: str
    schema: NotRequired[dict[str, Any]]
    description: NotRequired[str]
    strict: NotRequired[bool | None]


@with_config(_FORBID)
class ResponseFormatJSONSchema(TypedDict):
    """JSON valid for ``json_schema["schema"]`` (``chat.completions.parse`` builds this from a pydantic model).

    Attributes:
        type: ``json_schema``.
        json_schema: The schema (``JSONSchema``).
    """

    type: Literal["json_schema"]
    json_schema: JSONSchema


ResponseFormat = Annotated[
    ResponseFormatText | ResponseFormatJSONObject | ResponseFormatJSONSchema, Field(discriminator="type")
]
"""``{"type": "text"}``, ``{"type": "json_object"}`` or ``{"type": "json_schema", "json_schema": {...}}``."""
