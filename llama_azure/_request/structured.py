"""Structured output and tools from pydantic models: the JSON schema sent, and the answer read back.

Sans-IO: ``chat.completions.parse()`` in both shells builds its request and reads its answer here.
"""

from __future__ import annotations

import inspect
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from .._exceptions import ParameterError, StructuredOutputError, ToolArgumentsError
from ..types.chat import ChatCompletion
from ..types.chat_params import ResponseFormatJSONSchema, ToolParam
from ..types.parsed import ModelT, ParsedChatCompletion


class _ModelTool(dict):  # type: ignore[type-arg]
    """The ``ToolParam`` made by :func:`pydantic_function_tool`, which remembers its model (``parse()`` reads
    the arguments of its calls into it). Sent as the plain dict it is; a copy (``{**tool}``) forgets it."""

    model: type[BaseModel]


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
    text = description if description is not None else checked.__doc__
    tool = _ModelTool(function_tool(name or checked.__name__, model_schema(checked),
                                    inspect.cleandoc(text) if text else None, strict=True))
    tool.model = checked
    return cast(ToolParam, tool)


def function_tool(name: str, parameters: dict[str, Any], description: str | None, *, strict: bool) -> ToolParam:
    """``{"type": "function", "function": {...}}``, a function tool as sent: what :func:`pydantic_function_tool`
    makes from a model and ``run_tools`` from a typed function."""
    function: dict[str, Any] = {"name": name, "parameters": parameters}
    if strict:
        function["strict"] = True
    if description is not None:
        function["description"] = description
    return {"type": "function", "function": function}  # type: ignore[typeddict-item]


def tool_models(tools: object) -> dict[str, type[BaseModel]]:
    """The models of the strict tools made by :func:`pydantic_function_tool`, by tool name."""
    models: dict[str, type[BaseModel]] = {}
    for tool in tools if isinstance(tools, (list, tuple)) else ():
        if isinstance(tool, _ModelTool) and tool.get("function", {}).get("strict") is True:
            models[tool["function"]["name"]] = tool.model
    return models


def arguments_for(model: type[ModelT], name: str, call_id: str, arguments: str,
                  finish_reason: str | None = None) -> ModelT:
    """A call's JSON arguments read into the tool's model; :class:`ToolArgumentsError` naming the tool if not valid."""
    try:
        return model.model_validate_json(arguments)
    except ValidationError as error:
        cut = " (finish_reason 'length': the call was cut short, raise max_tokens)" \
            if finish_reason == "length" else ""
        problems = _first_errors(error)
        raise ToolArgumentsError(
            f"tool call {call_id!r}: the arguments are not valid for the tool {name!r} ({model.__name__}){cut}: "
            f"{problems}; raw arguments: {arguments[:200]!r}",
            tool_name=name, tool_call_id=call_id, content=arguments, finish_reason=finish_reason, problems=problems,
        ) from None


def _first_errors(error: ValidationError) -> str:
    """Where and what, for the first three problems (the model reads this too, in ``run_tools``)."""
    more = f" (and {error.error_count() - 3} more)" if error.error_count() > 3 else ""
    return "; ".join(f"{'.'.join(str(part) for part in item['loc']) or '(arguments)'}: {item['msg']}"
                     for item in error.errors()[:3]) + more


def to_parsed(completion: ChatCompletion, model: type[ModelT] | None,
              tools: dict[str, type[BaseModel]] | None = None) -> ParsedChatCompletion[ModelT]:
    """The completion with each message's JSON content read into ``model`` (when given) and each call's
    arguments into its tool's model (``tools``, by name); a typed error when one is not valid."""
    data = completion.model_dump(by_alias=False)
    for choice, plain in zip(completion.choices, data["choices"], strict=False):
        for call, plain_call in zip(choice.message.tool_calls or (), plain["message"].get("tool_calls") or (),
                                    strict=False):
            tool = (tools or {}).get(call.function.name)
            if tool is not None:
                plain_call["function"]["parsed_arguments"] = arguments_for(
                    tool, call.function.name, call.id, call.function.arguments, choice.finish_reason)
        content = choice.message.content
        if content is None or model is None:  # a tool call (or a refusal) instead of an answer
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
    target: Any = model if model is not None else BaseModel
    parsed = ParsedChatCompletion[target].model_validate(data)
    parsed._request_id = completion.request_id
    return parsed
