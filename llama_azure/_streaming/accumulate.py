"""Folding streamed chunks into the final reply: message or text, tool calls, logprobs, finish reason, usage.

Per chunk the least work: text pieces are appended and joined once, at ``result()``. What is kept for that
result is counted (characters of text and tool arguments, the event size of a chunk whose logprobs or
filter annotations are kept) against a cap, the client's ``max_response_bytes``: past it everything kept is
let go and ``dropped`` is set, so a stream read chunk by chunk holds at most the cap whatever its length;
the stream then refuses ``until_done()`` with ``ResponseTooLargeError``.
"""

from __future__ import annotations

from typing import Any

from ..types.chat import (
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionChunkChoice,
    ChatMessage,
    ChoiceLogprobs,
    TokenLogprob,
)
from ..types.completion import Completion, CompletionChoice
from ..types.content_filter import ContentFilterResults, PromptFilterResult
from ..types.shared import Logprobs, Usage
from ..types.tool_calls import ToolCall, ToolCallDelta
from .body import DEFAULT_MAX_RESPONSE_BYTES

_LOGPROB_FIELDS = ("tokens", "token_logprobs", "top_logprobs", "text_offsets")
_CONTENT_ONLY = frozenset(("content",))  # a delta's fields set in the usual chunk (its extras are not read)


class _ToolCall:
    """One tool call being streamed: ``id``, ``type`` and ``function.name`` come once, arguments in pieces."""

    __slots__ = ("extra", "id", "name", "parts", "type")

    def __init__(self) -> None:
        self.id: str | None = None
        self.type: str | None = None
        self.name: str | None = None
        self.parts: list[str] = []
        self.extra: dict[str, Any] = {}

    def add(self, delta: ToolCallDelta, size: int) -> int:
        """Fold one delta; returns what it added to be kept (``size``: its event's, for unknown fields)."""
        kept = 0
        function = delta.function
        if function is not None:
            if function.name and self.name is None:
                self.name = function.name
            arguments = function.arguments
            if arguments:
                self.parts.append(arguments)
                kept = len(arguments)
        if delta.id and self.id is None:
            self.id = delta.id
        if delta.type and self.type is None:
            self.type = delta.type
        extra = delta.model_extra
        if extra:
            for key, value in extra.items():
                if value is not None and key not in self.extra:
                    self.extra[key] = value
                    kept += size
        return kept

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

    def add_tool_calls(self, deltas: list[ToolCallDelta], size: int) -> int:
        kept = 0
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
            kept += call.add(delta, size)
        return kept

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

    def add_chat(self, item: ChatCompletionChunkChoice, size: int) -> int:
        """Fold one choice of a chunk; returns what it added to be kept (``size``: the chunk's event size)."""
        kept = 0
        delta = item.delta
        if delta.role:
            self.role = delta.role
        content = delta.content
        if content or (content is not None and not self.parts):  # a first "" is kept: the answer is "", not None
            self.parts.append(content)
            kept = len(content)
        refusal = delta.refusal
        if refusal:
            self.refusal.append(refusal)
            kept += len(refusal)
        reasoning = delta.reasoning_content
        if reasoning:
            self.reasoning.append(reasoning)
            kept += len(reasoning)
        if delta.tool_calls:
            kept += self.add_tool_calls(delta.tool_calls, size)
        if item.logprobs is not None:
            self.add_logprobs(item.logprobs)
            kept += size
        if item.content_filter_results:
            kept += self.add_filter_results(item.content_filter_results, size)
        if item.finish_reason is not None:
            self.finish_reason = item.finish_reason
        return kept

    def add_filter_results(self, results: ContentFilterResults, size: int) -> int:
        """Merge by category (a later verdict replaces an earlier one); only a new category is kept more."""
        merged = self.filter_results
        if merged is None:
            self.filter_results = dict(results)
            return size
        before = len(merged)
        merged.update(results)
        return size if len(merged) > before else 0

    def let_go(self) -> None:
        """Drop what was kept for the whole reply (text, tool arguments, logprobs); the finish reason stays."""
        self.parts.clear()
        self.refusal.clear()
        self.reasoning.clear()
        self.chat_logprobs.clear()
        self.logprobs = None
        for call in (self.tool_calls or {}).values():
            call.parts.clear()
            call.extra.clear()

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
    def __init__(self, limit: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        self.limit = limit  # what may be kept for result(), counted as the module docstring says
        self.kept = 0
        self.dropped = False  # past the limit once: result() would not be the whole reply
        self.choices: dict[int, _Choice] = {}
        self.usage: Usage | None = None
        self.id: str | None = None
        self.model: str | None = None
        self.created: int | None = None
        self.prompt_filter_results: list[PromptFilterResult] | None = None
        self._headed = False  # id, model and created all known: later chunks are not read for them

    def _choice(self, index: int) -> _Choice:
        choice = self.choices.get(index)
        if choice is None:
            choice = self.choices[index] = _Choice()
        return choice

    def _header(self, chunk: ChatCompletionChunk | Completion) -> None:
        """``usage`` from every chunk (the last one sent wins); id, model and created until all are known."""
        if not self._headed:
            self._head(chunk)
        usage = chunk.usage
        if usage is not None:
            self.usage = usage

    def _head(self, chunk: ChatCompletionChunk | Completion) -> None:
        # A first event may carry only prompt annotations, with empty id and model: it must not blank them.
        if not self.id and chunk.id:
            self.id = chunk.id
        if not self.model and chunk.model:
            self.model = chunk.model
        if self.created is None or (not self.created and chunk.created):
            self.created = chunk.created
        self._headed = bool(self.id and self.model and self.created)

    def _over_limit(self) -> None:
        """Past the cap: let go of what is kept, then count afresh (memory stays within the cap)."""
        self.dropped = True
        self.kept = 0
        self.prompt_filter_results = None
        for choice in self.choices.values():
            choice.let_go()

    @property
    def finished(self) -> bool:
        return bool(self.choices) and all(c.finish_reason is not None for c in self.choices.values())


class ChatAccumulator(_Accumulator):
    def add(self, chunk: ChatCompletionChunk, size: int = 0) -> None:
        """Fold one chunk; ``size`` is its event's size (what its logprobs or annotations count as kept)."""
        if not self._headed:  # _header(), inlined: this runs once per streamed chunk
            self._head(chunk)
        usage = chunk.usage
        if usage is not None:
            self.usage = usage
        kept = self.kept
        if chunk.prompt_filter_results:
            if self.prompt_filter_results is None:
                self.prompt_filter_results = []
            self.prompt_filter_results.extend(chunk.prompt_filter_results)
            kept += size
        choices = self.choices
        for item in chunk.choices:
            choice = choices.get(item.index) or self._choice(item.index)
            delta = item.delta
            parts = choice.parts
            # The usual chunk: a delta of only content (its other fields absent), after the first piece of text,
            # nothing else in the choice. Folded here as add_chat() would; anything else goes the full way.
            if (parts and delta.__pydantic_fields_set__ == _CONTENT_ONLY and item.finish_reason is None
                    and item.logprobs is None and not item.content_filter_results):
                content = delta.content
                if content:
                    parts.append(content)
                    kept += len(content)
            else:
                kept += choice.add_chat(item, size)
        self.kept = kept
        if kept > self.limit:
            self._over_limit()

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
    def add(self, chunk: Completion, size: int = 0) -> None:
        """Fold one chunk; ``size`` is its event's size (what its logprobs count as kept)."""
        self._header(chunk)
        kept = self.kept
        choices = self.choices
        for item in chunk.choices:
            choice = choices.get(item.index) or self._choice(item.index)
            text = item.text
            if text:
                choice.parts.append(text)
                kept += len(text)
            if item.logprobs is not None:
                choice.add_logprobs(item.logprobs)
                kept += size
            if item.finish_reason is not None:
                choice.finish_reason = item.finish_reason
        self.kept = kept
        if kept > self.limit:
            self._over_limit()

    def result(self) -> Completion:
        return Completion(
            id=self.id, model=self.model, created=self.created, usage=self.usage,
            choices=[
                CompletionChoice(index=index, text="".join(c.parts), finish_reason=c.finish_reason,
                                 logprobs=None if c.logprobs is None else Logprobs(**c.logprobs))
                for index, c in sorted(self.choices.items())
            ],
        )
