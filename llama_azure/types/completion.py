"""Text completion types (the same type serves replies and streamed chunks)."""

from __future__ import annotations

from ._base import ResponseModel, ResultModel
from .shared import Logprobs, Usage


class CompletionChoice(ResponseModel):
    index: int = 0
    text: str = ""
    finish_reason: str | None = None
    logprobs: Logprobs | None = None


class Completion(ResultModel):
    """A text completion, or one streamed piece of it: ``result.choices[0].text``."""

    id: str | None = None
    object: str | None = "text_completion"
    created: int | None = None
    model: str | None = None
    choices: list[CompletionChoice] = []
    usage: Usage | None = None

    @property
    def text(self) -> str | None:
        """Shortcut for the first choice's text."""
        return self.choices[0].text if self.choices else None
