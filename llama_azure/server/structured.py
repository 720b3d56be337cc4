"""Tools and structured output with the real model, through llama.cpp grammar-constrained decoding.

The bundled model knows no tool-calling format, so the server gives it one: the tools are described in a
system message, and a grammar built from a JSON schema makes every token it samples keep the answer
valid. ``tool_choice="required"`` (or a named tool) allows only ``{"name": ..., "arguments": {...}}`` with
arguments valid for that tool's ``parameters``; ``"auto"`` also allows ``{"content": "..."}``, a plain
answer; ``"none"`` and no tools generate plain text. ``response_format`` ``json_object`` / ``json_schema``
constrain the text itself to JSON. :class:`ToolOutput` turns the generated JSON back into Azure's
``tool_calls`` (whole, or as stream deltas: id and name first, arguments in pieces).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .schema_limits import SchemaTooLarge, check_schemas
from .schemas import ChatCompletionRequest, ChatMessage, InferenceChatCompletionRequest, Tool

_ANY_OBJECT: dict[str, Any] = {"type": "object"}
# json_object: a small flat object, so that a small model's answer is complete (valid) within max_tokens.
_SMALL_OBJECT: dict[str, Any] = {
    "type": "object", "maxProperties": 3,
    "additionalProperties": {"anyOf": [{"type": "string", "maxLength": 24}, {"type": "number"}, {"type": "boolean"}]},
}
# The start of a call as the grammar writes it: {"name": "f", "arguments": <the arguments object>
_CALL_HEAD = re.compile(r'^\s*\{\s*"name"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,\s*"arguments"\s*:\s*')
# The start of a plain answer ("auto"): {"content": "<the text, as a JSON string>
_CONTENT_HEAD = re.compile(r'^\s*\{\s*"content"\s*:\s*"')
# A JSON string's body up to where it can be decoded: whole characters and escapes, no closing quote.
_STRING_BODY = re.compile(r'(?:[^"\\]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*')
# The "no more tools" turn: after tool results, when the request lets the model only write text.
# After results, when the model may still call a tool ("auto"): the answer in words is the expected move.
_ANSWER_OR_CALL = '\n\nThese results answer the question: answer it with {"content": <your answer>}.'
_ANSWER_FROM_RESULTS = "Facts:\n{results}\n\nAnswer the question with these facts, in one sentence."


@dataclass
class Plan:
    """How to generate one chat answer: the grammar (a JSON schema) and how to read the text back."""

    schema: dict[str, Any] | None = None
    tools: bool = False  # the text is a tool call (or, with "auto", {"content": ...})
    system_note: str | None = None
    may_answer: bool = False  # tools with "auto": the model may answer in words instead of calling


def _tool_call_schema(tool: Tool) -> dict[str, Any]:
    parameters = tool.function.parameters or {"type": "object", "properties": {}}
    return {
        "type": "object",
        "properties": {"name": {"const": tool.function.name}, "arguments": parameters},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def _describe_tools(tools: Sequence[Tool], *, may_answer: bool) -> str:
    listed = [
        {"name": t.function.name, "description": t.function.description or "",
         "parameters": t.function.parameters or {}}
        for t in tools
    ]
    answer = (' Once a tool\'s result answers the question, answer with JSON {"content": <your answer>} instead.'
              if may_answer else "")
    return ("You can call these tools. To call one, answer with JSON "
            '{"name": <tool name>, "arguments": {...}}.' + answer + "\n" + json.dumps(listed, ensure_ascii=False))


def plan_for(parsed: ChatCompletionRequest) -> Plan:
    """The plan for a chat request; 400 for a named tool that is not among ``tools``."""
    if not isinstance(parsed, InferenceChatCompletionRequest):
        return Plan()
    tools = parsed.tools or []
    choice = parsed.tool_choice
    if choice is not None and choice != "none" and choice != "auto" and not tools:
        raise errors.bad_request("tool_choice requires a tool call, but the request has no tools.",
                                 param="tool_choice")
    if tools and choice != "none":
        chosen = list(tools)
        if choice is not None and not isinstance(choice, str):
            chosen = [t for t in tools if t.function.name == choice.function.name]
            if not chosen:
                names = ", ".join(t.function.name for t in tools)
                raise errors.bad_request(
                    f"tool_choice names the function '{choice.function.name[:64]}', which is not among the "
                    f"tools ({names}).", param="tool_choice")
        _check_limits([(f"tools.{i}.function.parameters", t.function.parameters) for i, t in enumerate(tools)
                       if any(t is c for c in chosen)], "tools")
        options = [_tool_call_schema(t) for t in chosen]
        may_answer = choice in (None, "auto")  # a text answer instead of a call is allowed
        if may_answer:
            options.append({"type": "object", "properties": {"content": {"type": "string"}},
                            "required": ["content"], "additionalProperties": False})
        schema = options[0] if len(options) == 1 else {"anyOf": options}
        return Plan(schema=schema, tools=True, system_note=_describe_tools(chosen, may_answer=may_answer),
                    may_answer=may_answer)
    fmt = parsed.response_format
    if fmt is None or fmt.type == "text":
        return Plan()
    if fmt.type == "json_object":
        return Plan(schema=_SMALL_OBJECT, system_note="Answer with a JSON object.")
    schema = (fmt.json_schema.schema_ if fmt.json_schema is not None else None) or _ANY_OBJECT
    _check_limits([("response_format.json_schema.schema", schema)], "response_format")
    return Plan(schema=schema, system_note="Answer with JSON valid for this schema: " + json.dumps(schema))


def _check_limits(schemas: list[tuple[str, Any]], param: str) -> None:
    """400 naming the limit for schemas whose grammar would be too large to build (server/schema_limits.py)."""
    try:
        check_schemas(schemas)
    except SchemaTooLarge as exc:
        raise schema_too_large(exc, param) from None


def schema_too_large(exc: SchemaTooLarge, param: str) -> errors.ApiError:
    """The 400 for a schema over one of the server's limits, naming it."""
    return errors.bad_request(f"The JSON schema is too large for this server: {exc}.", param=param,
                              code="SchemaTooLarge")


def render(messages: Sequence[ChatMessage], plan: Plan) -> list[dict[str, str]]:
    """Messages as the chat template reads them (role and text); a 400 for image parts.

    The bundled model was never taught a tool-calling format, so tool rounds are told to it in words: its
    calls as a sentence naming the tool and the arguments (not JSON, which it would copy when it should
    answer), the results as the user's turn naming the call. When the request lets it only write text
    after a round of results (the "no more tools" turn), the question, the results and the instruction to
    answer from them make one user turn: the form this small model answers best.
    """
    plain: list[dict[str, str]] = []
    calls: dict[str, str] = {}  # tool_call_id -> the call, as text: get_weather({"city": "Paris"})
    for index, message in enumerate(messages):
        if message.has_images():
            raise errors.bad_request(
                "images are not supported by this model: it reads text only; send text parts, or use a "
                "deployment of a model that reads images.", param=f"messages.{index}.content",
                code="UnsupportedContent")
        text = message.text()
        if message.tool_calls:
            said = []
            for call in message.tool_calls:
                arguments = json.dumps(_loads_or_text(call.function.arguments), ensure_ascii=False)
                calls[call.id] = f"{call.function.name}({arguments})"
                said.append(calls[call.id])
            text = (text + "\n" if text else "") + f"(I called {', '.join(said)}.)"
            plain.append({"role": "assistant", "content": text, "kind": "call"})
            continue
        if message.role == "tool":
            result = f"{calls.get(message.tool_call_id or '', 'the tool')} returned: {text}"
            if plain and plain[-1].get("kind") == "results":  # the results of one round make one turn
                plain[-1]["content"] += "\n" + result
            else:
                plain.append({"role": "user", "content": result, "kind": "results"})
            continue
        plain.append({"role": message.role, "content": text})
    if not plan.tools:
        plain = _answer_turn(plain)
    elif plan.may_answer and plain and plain[-1].get("kind") == "results":
        plain[-1]["content"] += _ANSWER_OR_CALL
    rendered = [{"role": m["role"], "content": m["content"]} for m in plain]
    if plan.system_note:
        if rendered and rendered[0]["role"] == "system":
            rendered[0] = {"role": "system", "content": rendered[0]["content"] + "\n\n" + plan.system_note}
        else:
            rendered.insert(0, {"role": "system", "content": plan.system_note})
    return rendered


def _answer_turn(plain: list[dict[str, str]]) -> list[dict[str, str]]:
    """After tool results, with no tool allowed: the user's question, the results since it, and the
    instruction to answer from them, as one user turn."""
    if not plain or plain[-1].get("kind") != "results":
        return plain
    start = len(plain)
    while start > 0 and plain[start - 1].get("kind") in ("call", "results"):
        start -= 1
    results = [m["content"] for m in plain[start:] if m.get("kind") == "results"]
    if start == 0 or plain[start - 1]["role"] != "user":
        question = {"role": "user", "content": ""}
        kept = plain[:start]
    else:
        question, kept = plain[start - 1], plain[:start - 1]
    content = (question["content"] + "\n\n" if question["content"] else "") + _ANSWER_FROM_RESULTS.format(
        results="\n".join(results))
    return [*kept, {"role": "user", "content": content}]


def _loads_or_text(arguments: str) -> Any:
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


def message_for(text: str, finish_reason: str | None) -> tuple[dict[str, Any], str | None]:
    """The whole message for a tool plan's text: a ``tool_calls`` message, or plain content."""
    try:
        value = json.loads(text)
    except ValueError:  # cut short by max_tokens: what was generated, as text
        return {"role": "assistant", "content": text}, finish_reason
    if isinstance(value, dict) and "name" in value and "arguments" in value:
        call = {"id": new_call_id(), "type": "function",
                "function": {"name": value["name"],
                             "arguments": json.dumps(value["arguments"], ensure_ascii=False)}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return {"role": "assistant", "content": value["content"]}, finish_reason
    return {"role": "assistant", "content": text}, finish_reason


@dataclass
class ToolCallStreamer:
    """Turns a tool plan's text, piece by piece, into stream deltas as Azure sends them: the call's id,
    type and name first, then its arguments in pieces; or, for ``{"content": ...}``, the text as it is decoded."""

    text: str = ""
    head_end: int | None = None
    sent: int = 0  # characters of the arguments (or of the decoded content) already sent
    call_id: str = field(default_factory=new_call_id)
    content_start: int | None = None

    def feed(self, piece: str) -> list[dict[str, Any]]:
        self.text += piece
        deltas: list[dict[str, Any]] = []
        if self.content_start is not None or (self.head_end is None and _CONTENT_HEAD.match(self.text)):
            return self._content()
        if self.head_end is None:
            match = _CALL_HEAD.match(self.text)
            if match is None:
                return deltas
            self.head_end = match.end()
            name = json.loads(f'"{match.group(1)}"')
            deltas.append({"tool_calls": [{"index": 0, "id": self.call_id, "type": "function",
                                           "function": {"name": name, "arguments": ""}}]})
        arguments = self.text[self.head_end:]
        if self.sent == 0:  # the arguments start at their "{", not at spaces before it
            self.head_end += len(arguments) - len(arguments.lstrip())
            arguments = arguments.lstrip()
        # Hold back closing braces and spaces at the end: the last brace closes the call, not the arguments.
        ready = len(arguments.rstrip().rstrip("}").rstrip())
        ready = max(ready, self.sent)
        if ready > self.sent:
            deltas.append(self._arguments(arguments[self.sent:ready]))
            self.sent = ready
        return deltas

    def _content(self) -> list[dict[str, Any]]:
        """The decoded part of ``{"content": "..."}`` not sent yet."""
        if self.content_start is None:
            match = _CONTENT_HEAD.match(self.text)
            assert match is not None
            self.content_start = match.end()
        body = _STRING_BODY.match(self.text, self.content_start)
        decoded = json.loads(f'"{body.group()}"') if body else ""
        if len(decoded) <= self.sent:
            return []
        new, self.sent = decoded[self.sent:], len(decoded)
        return [{"content": new}]

    def finish(self, finish_reason: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """The last deltas and the finish reason, once the text is complete."""
        if self.content_start is not None:
            return self._content(), finish_reason
        if self.head_end is None:
            message, reason = message_for(self.text, finish_reason)
            return ([{"content": message["content"]}] if message.get("content") else []), reason
        arguments = self.text[self.head_end:].rstrip()
        complete = arguments.endswith("}")
        if complete:
            arguments = arguments[:-1].rstrip()
        deltas = [self._arguments(arguments[self.sent:])] if len(arguments) > self.sent else []
        return deltas, "tool_calls" if complete else finish_reason

    @staticmethod
    def _arguments(text: str) -> dict[str, Any]:
        return {"tool_calls": [{"index": 0, "function": {"arguments": text}}]}
