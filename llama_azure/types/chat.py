"""Chat completion types: requests' messages, replies and streamed chunks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from typing_extensions import NotRequired, TypedDict

from ._base import ResponseModel, ResultModel
from .shared import Usage


class ChatMessageParam(TypedDict):
    """A message of the conversation, as a dict: ``{"role": "user", "content": "Hi"}``.

    Attributes:
        role: Who speaks: ``system`` (instructions), ``user``, ``assistant`` (earlier replies) or ``tool``.
        content: The text of the message.
        name: Optional name of the speaker, to tell several users apart.
        tool_call_id: For a ``tool`` message: the id of the tool call it answers.
    """

    role: Literal["system", "user", "assistant", "tool"]
    content: str
    name: NotRequired[str]
    tool_call_id: NotRequired[str]


class ChatMessage(ResponseModel):
    """A message: the assistant's reply, or one you send (models are accepted wherever dicts are).

    Attributes:
        role: Who wrote it; ``assistant`` for replies.
        content: The text; None when the reply holds only tool calls.
        tool_calls: The tools the model asks to call (``id``, ``type``, ``function.name``, ``function.arguments``).
    """

    role: str = "assistant"
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChatCompletionChoice(ResponseModel):
    """One of the ``n`` replies of a chat completion.

    Attributes:
        index: Its position among the choices (0 unless ``n > 1``).
        message: The reply.
        finish_reason: Why generation stopped: ``stop`` (end or a stop sequence), ``length`` (``max_tokens``
            reached), ``content_filter``, ``tool_calls``.
        logprobs: Token log probabilities, when asked for; the shape is the service's.
    """

    index: int = 0
    message: ChatMessage
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletion(ResultModel):
    """A chat completion: ``reply.choices[0].message.content``.

    Attributes:
        id: The service's id of the completion (``chatcmpl-...``); None from the ``/score`` route.
        object: ``chat.completion``.
        created: When it was made, in Unix seconds.
        model: The model that answered, as the service names it.
        choices: The replies, one per ``n``.
        usage: Tokens read and written; None when the service does not say.
    """

    id: str | None = None
    object: str | None = "chat.completion"
    created: int | None = None
    model: str | None = None
    choices: list[ChatCompletionChoice]
    usage: Usage | None = None

    @property
    def content(self) -> str | None:
        """Shortcut for the first choice's message text."""
        return self.choices[0].message.content if self.choices else None


class Delta(ResponseModel):
    """The part of a message a streamed chunk adds.

    Attributes:
        role: ``assistant`` in the first chunk, then None.
        content: The next piece of text (may be empty).
        tool_calls: Pieces of tool calls, merged by ``index`` (``Stream.until_done`` does it for you).
    """

    role: str | None = None
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChatCompletionChunkChoice(ResponseModel):
    """One choice's part of a streamed chunk.

    Attributes:
        index: Which choice (0 unless ``n > 1``).
        delta: What this chunk adds to the message.
        finish_reason: None until the choice's last chunk, then why it stopped.
        logprobs: Token log probabilities of this piece, when asked for.
    """

    index: int = 0
    delta: Delta = Field(default_factory=Delta)  # a last chunk may carry only ``finish_reason``
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletionChunk(ResultModel):
    """One streamed chat event: ``chunk.choices[0].delta.content``.

    Attributes:
        id: The same for every chunk of one answer (may be empty in a first content-filter-only chunk).
        object: ``chat.completion.chunk``.
        created: When the answer started, in Unix seconds.
        model: The model that answers.
        choices: This chunk's part of each choice (empty in a usage-only last chunk).
        usage: Token counts, in the last chunk when the service sends them.
    """

    id: str | None = None
    object: str | None = "chat.completion.chunk"
    created: int | None = None
    model: str | None = None
    choices: list[ChatCompletionChunkChoice] = []
    usage: Usage | None = None
