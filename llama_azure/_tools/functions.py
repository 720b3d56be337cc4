"""Python functions as tools: the schema from the signature and the docstring, the call validated and run.

Sans-IO: ``chat.completions.run_tools`` in both shells turns its ``tools=`` into :class:`RunnableTool` here and
asks here how to call one; running the function (awaited, in a thread, or plainly) is the shell's part.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from .._exceptions import ParameterError
from .._request.structured import _ModelTool, arguments_for, function_tool, model_schema
from ..types.chat_params import ToolParam

ToolSpec = Callable[..., Any] | tuple[ToolParam, Callable[[Any], Any]]
"""What ``run_tools(tools=[...])`` takes: a typed function, or ``(pydantic_function_tool(Model), handler)``
where ``handler(arguments: Model)`` runs the call."""

_ARGS_HEADER = re.compile(r"^(Args|Arguments|Parameters):\s*$")
_ARG_LINE = re.compile(r"^\s+(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


@dataclass(frozen=True)
class RunnableTool:
    """A tool the runner can call: what is sent (``param``), how arguments validate (``model``), what runs."""

    name: str
    param: ToolParam
    model: type[BaseModel]
    handler: Callable[..., Any]
    spread: bool
    """True for a plain function (called with the arguments as keywords), False for a bound model tool
    (called with the model instance)."""

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.handler)

    @property
    def description(self) -> str | None:
        return self.param["function"].get("description")

    def arguments(self, call_id: str, raw: str) -> BaseModel:
        """The call's JSON arguments, validated (``ToolArgumentsError`` naming the tool when they are not)."""
        return arguments_for(self.model, self.name, call_id, raw or "{}")

    def bind(self, arguments: BaseModel) -> Callable[[], Any]:
        """The function call to make, with these validated arguments."""
        if not self.spread:
            return lambda: self.handler(arguments)
        values = {name: getattr(arguments, name) for name in type(arguments).model_fields}
        return lambda: self.handler(**values)


def runnable_tools(tools: object) -> dict[str, RunnableTool]:
    """``tools=`` of ``run_tools``, checked: each a typed function or a ``(tool, handler)`` pair, names unique."""
    if not isinstance(tools, Sequence) or isinstance(tools, (str, bytes)) or not tools:
        raise ParameterError("tools must be a non-empty list of typed functions or (pydantic_function_tool(Model), "
                             f"handler) pairs, got {tools!r}"[:300], param="tools")
    found: dict[str, RunnableTool] = {}
    for index, spec in enumerate(tools):
        tool = _bound_tool(spec, index) if isinstance(spec, tuple) else _function_tool(spec, index)
        if tool.name in found:
            raise ParameterError(f"tools.{index}: a second tool named {tool.name!r}: tool names must be unique",
                                 param=f"tools.{index}")
        found[tool.name] = tool
    return found


def _bound_tool(spec: tuple[Any, ...], index: int) -> RunnableTool:
    if len(spec) != 2 or not isinstance(spec[0], _ModelTool) or not callable(spec[1]):
        raise ParameterError(f"tools.{index}: a pair must be (pydantic_function_tool(Model), handler), where "
                             f"handler(arguments: Model) runs the call; got {spec!r}"[:300], param=f"tools.{index}")
    param, handler = spec
    return RunnableTool(name=param["function"]["name"], param=param, model=param.model, handler=handler,
                        spread=False)


def _function_tool(fn: object, index: int) -> RunnableTool:
    if not callable(fn) or not hasattr(fn, "__name__") or isinstance(fn, type):
        raise ParameterError(f"tools.{index}: expected a typed function (def get_weather(city: str) -> str) or "
                             f"(pydantic_function_tool(Model), handler), got {fn!r}"[:300], param=f"tools.{index}")
    name = fn.__name__
    described, arg_docs = _split_docstring(inspect.getdoc(fn) or "")
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except (NameError, TypeError) as error:
        raise ParameterError(f"tools.{index}: the annotations of {name}() cannot be resolved: {error}",
                             param=f"tools.{index}") from None
    fields: dict[str, Any] = {}
    for parameter in inspect.signature(fn).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD, parameter.POSITIONAL_ONLY):
            raise ParameterError(f"tools.{index}: {name}() takes *{parameter.name}, **{parameter.name} or a "
                                 f"positional-only parameter; a tool's parameters must be named",
                                 param=f"tools.{index}")
        if parameter.name not in hints:
            raise ParameterError(f"tools.{index}: parameter {parameter.name!r} of {name}() has no type annotation; "
                                 f"the tool's schema is built from them", param=f"tools.{index}")
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[parameter.name] = (hints[parameter.name], Field(default, description=arg_docs.get(parameter.name)))
    model = create_model(f"{name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
    schema = model_schema(model)
    schema.pop("title", None)
    # strict schemas list every property as required: a function with defaults is not strict
    param = function_tool(name, schema, described or None,
                          strict=all(field.is_required() for field in model.model_fields.values()))
    return RunnableTool(name=name, param=param, model=model, handler=fn, spread=True)


def _split_docstring(doc: str) -> tuple[str, Mapping[str, str]]:
    """The description (the text before ``Args:``) and each argument's line of a Google-style ``Args:`` section."""
    lines = doc.splitlines()
    start = next((i for i, line in enumerate(lines) if _ARGS_HEADER.match(line)), None)
    if start is None:
        return doc.strip(), {}
    described: dict[str, str] = {}
    current: str | None = None
    for line in lines[start + 1:]:
        if line and not line[0].isspace():  # the next section (Returns:, Raises:, ...)
            break
        match = _ARG_LINE.match(line)
        if match and (current is None or len(line) - len(line.lstrip()) <= 4):
            current = match.group(1).lstrip("*")
            described[current] = match.group(2).strip()
        elif current is not None and line.strip():
            described[current] = f"{described[current]} {line.strip()}".strip()
    return "\n".join(lines[:start]).strip(), described


def output_text(result: object) -> str:
    """A function's result as the tool message's text: a string as is, a pydantic model or other value as JSON."""
    if isinstance(result, str):
        return result
    if isinstance(result, BaseModel):
        return result.model_dump_json()
    try:
        return json.dumps(result, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(result)
