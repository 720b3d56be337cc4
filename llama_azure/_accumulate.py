"""Folding streamed chunks into the final reply: message or text, tool calls, logprobs, finish reason, usage."""

from __future__ import annotations

from typing import Any

from .types.chat import ChatCompletion, ChatCompletionChoice, ChatCompletionChunk, ChatMessage
from .types.completion import Completion, CompletionChoice
from .types.shared import Logprobs, Usage

_LOGPROB_FIELDS = ("tokens", "token_logprobs", "top_logprobs", "text_offsets")


class _ToolCall:
    """One tool call being streamed: ``id``, ``type`` and ``function.name`` come once, arguments in pieces."""

    __slots__ = ("extra", "id", "name", "parts", "type")

    def __init__(self) -> None:
        self.id: str | None = None
        self.type: str | None = None
        self.name: str | None = None
        self.parts: list[str] = []
        self.extra: dict[str, Any] = {}

    def add(self, delta: dict[str, Any]) -> None:
        for key, value in delta.items():
            if key == "function":
                if isinstance(value, dict):
                    name = value.get("name")
                    if name and self.name is None:
                        self.name = name
                    arguments = value.get("arguments")
                    if arguments:
                        self.parts.append(arguments)
            elif key == "id":
                if value and self.id is None:
                    self.id = value
            elif key == "type":
                if value and self.type is None:
                    self.type = value
            elif key != "index" and value is not None:
                self.extra.setdefault(key, value)

    def result(self) -> dict[str, Any]:
        call: dict[str, Any] = {"id": self.id, "type": self.type or "function",
                                "function": {"name": self.name, "arguments": "".join(self.parts)}}
        call.update(self.extra)
        return call


class _Choice:
    __slots__ = ("finish_reason", "logprobs", "parts", "role", "tool_calls")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.role: str | None = None
        self.finish_reason: str | None = None
        self.tool_calls: dict[int, _ToolCall] | None = None  # by the wire's ``index``; None until one arrives
        self.logprobs: dict[str, list[Any] | None] | None = None  # None until a chunk carries logprobs

    def add_tool_calls(self, deltas: list[dict[str, Any]]) -> None:
        calls = self.tool_calls
        if calls is None:
            calls = self.tool_calls = {}
        for delta in deltas:
            index = delta.get("index")
            if not isinstance(index, int):
                # No index (not the OpenAI form): a new id starts a new call, anything else continues the last.
                new_id = delta.get("id")
                last = calls.get(len(calls) - 1)
                index = len(calls) if last is None or (new_id and new_id != last.id) else len(calls) - 1
            call = calls.get(index)
            if call is None:
                call = calls[index] = _ToolCall()
            call.add(delta)

    def add_logprobs(self, logprobs: Logprobs) -> None:
        merged = self.logprobs
        if merged is None:
            merged = self.logprobs = dict.fromkeys(_LOGPROB_FIELDS)
        for field in _LOGPROB_FIELDS:
            values = getattr(logprobs, field)
            if values is not None:
                so_far = merged[field]
                if so_far is None:
                    merged[field] = list(values)
                else:
                    so_far.extend(values)

    def tool_call_list(self) -> list[dict[str, Any]] | None:
        if not self.tool_calls:
            return None
        return [call.result() for _, call in sorted(self.tool_calls.items())]


class _Accumulator:
    def __init__(self) -> None:
        self.choices: dict[int, _Choice] = {}
        self.usage: Usage | None = None
        self.id: str | None = None
        self.model: str | None = None
        self.created: int | None = None

    def _choice(self, index: int) -> _Choice:
        choice = self.choices.get(index)
        if choice is None:
            choice = self.choices[index] = _Choice()
        return choice

    def _header(self, chunk: ChatCompletionChunk | Completion) -> None:
        if self.id is None:
            self.id, self.model, self.created = chunk.id, chunk.model, chunk.created
        if chunk.usage is not None:
            self.usage = chunk.usage

    @property
    def finished(self) -> bool:
        return bool(self.choices) and all(c.finish_reason is not None for c in self.choices.values())


class ChatAccumulator(_Accumulator):
    def add(self, chunk: ChatCompletionChunk) -> None:
        self._header(chunk)
        for item in chunk.choices:
            choice = self._choice(item.index)
            delta = item.delta
            if delta.role:
                choice.role = delta.role
            if delta.content:
                choice.parts.append(delta.content)
            if delta.tool_calls:
                choice.add_tool_calls(delta.tool_calls)
            if item.finish_reason is not None:
                choice.finish_reason = item.finish_reason

    def result(self) -> ChatCompletion:
        return ChatCompletion(
            id=self.id, model=self.model, created=self.created, usage=self.usage,
            choices=[
                ChatCompletionChoice(
                    index=index,
                    message=ChatMessage(role=c.role or "assistant", content="".join(c.parts),
                                        tool_calls=c.tool_call_list()),
                    finish_reason=c.finish_reason,
                )
                for index, c in sorted(self.choices.items())
            ],
        )


class CompletionAccumulator(_Accumulator):
    def add(self, chunk: Completion) -> None:
        self._header(chunk)
        for item in chunk.choices:
            choice = self._choice(item.index)
            if item.text:
                choice.parts.append(item.text)
            if item.logprobs is not None:
                choice.add_logprobs(item.logprobs)
            if item.finish_reason is not None:
                choice.finish_reason = item.finish_reason

    def result(self) -> Completion:
        return Completion(
            id=self.id, model=self.model, created=self.created, usage=self.usage,
            choices=[
                CompletionChoice(index=index, text="".join(c.parts), finish_reason=c.finish_reason,
                                 logprobs=None if c.logprobs is None else Logprobs(**c.logprobs))
                for index, c in sorted(self.choices.items())
            ],
        )
