"""Folding streamed chunks into the final reply: message or text, tool calls, logprobs, finish reason, usage."""

from __future__ import annotations

from typing import Any

from .types.chat import (
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionChunkChoice,
    ChatMessage,
    ChoiceLogprobs,
    TokenLogprob,
)
from .types.completion import Completion, CompletionChoice
from .types.content_filter import ContentFilterResults, PromptFilterResult
from .types.shared import Logprobs, Usage
from .types.tool_calls import ToolCall, ToolCallDelta

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

    def add(self, delta: ToolCallDelta) -> None:
        function = delta.function
        if function is not None:
            if function.name and self.name is None:
                self.name = function.name
            if function.arguments:
                self.parts.append(function.arguments)
        if delta.id and self.id is None:
            self.id = delta.id
        if delta.type and self.type is None:
            self.type = delta.type
        for key, value in (delta.model_extra or {}).items():
            if value is not None:
                self.extra.setdefault(key, value)

    def result(self) -> ToolCall:
        return ToolCall.model_validate({"id": self.id or "", "type": self.type or "function",
                                        "function": {"name": self.name or "", "arguments": "".join(self.parts)},
                                        **self.extra})


class _Choice:
    __slots__ = ("chat_logprobs", "filter_results", "finish_reason", "logprobs", "parts", "reasoning", "refusal",
                 "role", "tool_calls")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.refusal: list[str] = []
        self.reasoning: list[str] = []
        self.chat_logprobs: dict[str, list[TokenLogprob]] = {}  # OpenAI form: "content" / "refusal"
        self.filter_results: ContentFilterResults | None = None
        self.role: str | None = None
        self.finish_reason: str | None = None
        self.tool_calls: dict[int, _ToolCall] | None = None  # by the wire's ``index``; None until one arrives
        self.logprobs: dict[str, list[Any] | None] | None = None  # None until a chunk carries logprobs

    def add_tool_calls(self, deltas: list[ToolCallDelta]) -> None:
        calls = self.tool_calls
        if calls is None:
            calls = self.tool_calls = {}
        for delta in deltas:
            index = delta.index
            if index is None:
                # No index (not the OpenAI form): a new id starts a new call, anything else continues the last.
                new_id = delta.id
                last = calls.get(len(calls) - 1)
                index = len(calls) if last is None or (new_id and new_id != last.id) else len(calls) - 1
            call = calls.get(index)
            if call is None:
                call = calls[index] = _ToolCall()
            call.add(delta)

    def add_logprobs(self, logprobs: Logprobs) -> None:
        if isinstance(logprobs, ChoiceLogprobs):
            for name in ("content", "refusal"):
                tokens = getattr(logprobs, name)
                if tokens is not None:
                    self.chat_logprobs.setdefault(name, []).extend(tokens)
            if logprobs.tokens is None and logprobs.token_logprobs is None:
                return
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

    def tool_call_list(self) -> list[ToolCall] | None:
        if not self.tool_calls:
            return None
        return [call.result() for _, call in sorted(self.tool_calls.items())]

    def chat_logprobs_result(self) -> ChoiceLogprobs | None:
        if not self.chat_logprobs and self.logprobs is None:
            return None
        return ChoiceLogprobs.model_validate({**(self.logprobs or {}), **self.chat_logprobs})

    def add_chat(self, item: ChatCompletionChunkChoice) -> None:
        delta = item.delta
        if delta.role:
            self.role = delta.role
        content = delta.content
        if content or (content is not None and not self.parts):  # a first "" is kept: the answer is "", not None
            self.parts.append(content)
        if delta.refusal:
            self.refusal.append(delta.refusal)
        if delta.reasoning_content:
            self.reasoning.append(delta.reasoning_content)
        if delta.tool_calls:
            self.add_tool_calls(delta.tool_calls)
        if item.logprobs is not None:
            self.add_logprobs(item.logprobs)
        if item.content_filter_results:
            self.filter_results = {**(self.filter_results or {}), **item.content_filter_results}
        if item.finish_reason is not None:
            self.finish_reason = item.finish_reason

    def message(self) -> ChatMessage:
        """The whole message: a stream that carried content, even only ``""``, gives its text (``""`` too, as
        openai-python); one that carried none (a refusal only) gives ``content=None``, and so do tool calls
        with no text beside them, as the same answer unstreamed (the role delta's ``""`` is no answer)."""
        tool_calls = self.tool_call_list()
        content = "".join(self.parts) if self.parts else None
        return ChatMessage(role=self.role or "assistant", content=None if tool_calls and not content else content,
                           tool_calls=tool_calls, refusal="".join(self.refusal) or None,
                           reasoning_content="".join(self.reasoning) or None)


class _Accumulator:
    def __init__(self) -> None:
        self.choices: dict[int, _Choice] = {}
        self.usage: Usage | None = None
        self.id: str | None = None
        self.model: str | None = None
        self.created: int | None = None
        self.prompt_filter_results: list[PromptFilterResult] | None = None

    def _choice(self, index: int) -> _Choice:
        choice = self.choices.get(index)
        if choice is None:
            choice = self.choices[index] = _Choice()
        return choice

    def _header(self, chunk: ChatCompletionChunk | Completion) -> None:
        # A first event may carry only prompt annotations, with empty id and model: it must not blank them.
        if not self.id and chunk.id:
            self.id = chunk.id
        if not self.model and chunk.model:
            self.model = chunk.model
        if self.created is None or (not self.created and chunk.created):
            self.created = chunk.created
        if chunk.usage is not None:
            self.usage = chunk.usage

    @property
    def finished(self) -> bool:
        return bool(self.choices) and all(c.finish_reason is not None for c in self.choices.values())


class ChatAccumulator(_Accumulator):
    def add(self, chunk: ChatCompletionChunk) -> None:
        self._header(chunk)
        if chunk.prompt_filter_results:
            self.prompt_filter_results = [*(self.prompt_filter_results or []), *chunk.prompt_filter_results]
        for item in chunk.choices:
            self._choice(item.index).add_chat(item)

    def result(self) -> ChatCompletion:
        return ChatCompletion(
            id=self.id, model=self.model, created=self.created, usage=self.usage,
            prompt_filter_results=self.prompt_filter_results,
            choices=[
                ChatCompletionChoice(index=index, message=c.message(), finish_reason=c.finish_reason,
                                     logprobs=c.chat_logprobs_result(), content_filter_results=c.filter_results)
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
