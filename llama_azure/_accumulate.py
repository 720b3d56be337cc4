"""Folding streamed chunks into the final reply: message or text, finish reason, usage."""

from __future__ import annotations

from .types.chat import ChatCompletion, ChatCompletionChoice, ChatCompletionChunk, ChatMessage
from .types.completion import Completion, CompletionChoice
from .types.shared import Usage


class _Choice:
    __slots__ = ("finish_reason", "parts", "role")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.role: str | None = None
        self.finish_reason: str | None = None


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
            if item.finish_reason is not None:
                choice.finish_reason = item.finish_reason

    def result(self) -> ChatCompletion:
        return ChatCompletion(
            id=self.id, model=self.model, created=self.created, usage=self.usage,
            choices=[
                ChatCompletionChoice(
                    index=index,
                    message=ChatMessage(role=c.role or "assistant", content="".join(c.parts)),
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
            if item.finish_reason is not None:
                choice.finish_reason = item.finish_reason

    def result(self) -> Completion:
        return Completion(
            id=self.id, model=self.model, created=self.created, usage=self.usage,
            choices=[
                CompletionChoice(index=index, text="".join(c.parts), finish_reason=c.finish_reason)
                for index, c in sorted(self.choices.items())
            ],
        )
