"""Text completion types (the same type serves replies and streamed chunks)."""

from __future__ import annotations

from ._base import ResponseModel, ResultModel
from .shared import Logprobs, Usage


class CompletionChoice(ResponseModel):
    """One of the ``n`` continuations of a text completion.

    Attributes:
        index: Its position among the choices.
        text: The text written (in a stream: this chunk's piece).
        finish_reason: Why generation stopped (``stop``, ``length``, ...); None while a stream runs.
        logprobs: Token log probabilities, when ``logprobs=`` was given.
    """

    index: int = 0
    text: str = ""
    finish_reason: str | None = None
    logprobs: Logprobs | None = None


class Completion(ResultModel):
    """A text completion, or one streamed piece of it: ``result.choices[0].text``.

    Attributes:
        id: The service's id of the completion (``cmpl-...``).
        object: ``text_completion``.
        created: When it was made, in Unix seconds.
        model: The model that answered.
        choices: The continuations, one per ``n``.
        usage: Tokens read and written (in a stream: the last chunk, if the service sends it).
    """

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
