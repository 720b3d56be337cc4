"""Structured output and tools from pydantic models: the JSON schema sent, and the answer read back.

Sans-IO: ``chat.completions.parse()`` in both shells builds its request and reads its answer here.
"""

from __future__ import annotations

import inspect
from typing import Any

from pydantic import BaseModel, ValidationError

from ._exceptions import APIResponseValidationError, ParameterError
from .types.chat import ChatCompletion
from .types.chat_params import ResponseFormatJSONSchema, ToolParam
from .types.parsed import ModelT, ParsedChatCompletion


class StructuredOutputError(APIResponseValidationError):
    """The model's answer is not valid for the requested pydantic model.

    ``error.content`` is the raw text the model wrote; ``error.finish_reason`` says whether it was cut
    short (``"length"``: raise ``max_tokens``).
    """

    def __init__(self, message: str, *, content: str | None, finish_reason: str | None) -> None:
        super().__init__(message)
        self.content = content
        self.finish_reason = finish_reason


def _strict(schema: Any) -> Any:
    """Every object closed (``additionalProperties: false``), as strict structured output expects."""
    if isinstance(schema, dict):
        out = {key: _strict(value) for key, value in schema.items()}
        if out.get("type") == "object" and "properties" in out:
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


def _check_model(model: object, what: str) -> type[BaseModel]:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ParameterError(f"{what} must be a pydantic model class (class Answer(BaseModel): ...), "
                             f"got {model!r}"[:300], param=what)
    return model


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, with every object closed."""
    return _strict(model.model_json_schema())  # type: ignore[no-any-return]


def response_format_for(model: object) -> ResponseFormatJSONSchema:
    """``{"type": "json_schema", "json_schema": {"name", "schema", "strict": True}}`` for a pydantic model."""
    checked = _check_model(model, "response_format")
    return {"type": "json_schema",
            "json_schema": {"name": checked.__name__, "schema": model_schema(checked), "strict": True}}


def pydantic_function_tool(model: type[BaseModel], *, name: str | None = None,
                           description: str | None = None) -> ToolParam:
    """A function tool whose arguments are ``model``: the name is the class name (or ``name=``), the
    description its docstring (or ``description=``).

    >>> class GetWeather(BaseModel):
    ...     '''The weather in a city.'''
    ...     city: str
    >>> pydantic_function_tool(GetWeather)["function"]["name"]
    'GetWeather'
    """
    checked = _check_model(model, "model")
    tool: ToolParam = {"type": "function", "function": {"name": name or checked.__name__,
                                                        "parameters": model_schema(checked), "strict": True}}
    text = description if description is not None else checked.__doc__
    if text:
        tool["function"]["description"] = inspect.cleandoc(text)
    return tool


def to_parsed(completion: ChatCompletion, model: type[ModelT]) -> ParsedChatCompletion[ModelT]:
    """The completion with each message's JSON content read into ``model``; a typed error when it is not valid."""
    data = completion.model_dump(by_alias=False)
    for choice, plain in zip(completion.choices, data["choices"], strict=False):
        content = choice.message.content
        if content is None:  # a tool call (or a refusal) instead of an answer
            continue
        try:
            plain["message"]["parsed"] = model.model_validate_json(content)
        except ValidationError as error:
            cut = " (finish_reason 'length': the answer was cut short, raise max_tokens)" \
                if choice.finish_reason == "length" else ""
            raise StructuredOutputError(
                f"choice {choice.index}: the answer is not a valid {model.__name__}{cut}: "
                f"{str(error).splitlines()[0]}; raw content: {content[:200]!r}",
                content=content, finish_reason=choice.finish_reason,
            ) from None
    parsed = ParsedChatCompletion[model].model_validate(data)  # type: ignore[valid-type]
    parsed._request_id = completion.request_id
    return parsed
