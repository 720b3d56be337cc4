"""Chat completion types: requests' messages, replies and streamed chunks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import AliasChoices, Field

from ._base import ResponseModel, ResultModel
from .chat_params import ChatMessageParam  # also imported from here, where it lived before
from .content_filter import ContentFilterResults, PromptFilterResult
from .shared import FinishReason, Logprobs, Usage
from .tool_calls import ToolCall, ToolCallDelta


class ChatMessage(ResponseModel):
    """A message: the assistant's reply, or one you send (models are accepted wherever dicts are).

    Attributes:
        role: Who wrote it; ``assistant`` for replies.
        content: The text; None when the reply holds only tool calls.
        tool_calls: The tools the model asks to call (``id``, ``type``, ``function.name``, ``function.arguments``).
        refusal: The model's refusal text, when it refused (OpenAI-compatible servers).
        reasoning_content: The reasoning a reasoning model wrote before its answer, when the service sends it.
    """

    role: str = "assistant"
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None
    reasoning_content: str | None = None

    def to_param(self) -> dict[str, Any]:
        """The message as sent back in a conversation (role, content, tool calls; nothing the service added)."""
        param: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            param["tool_calls"] = [call.to_param() for call in self.tool_calls]
        elif self.content is None:
            param["content"] = ""
        return param


class TopLogprob(ResponseModel):
    """An alternative token: its text, log probability and UTF-8 bytes.

    Attributes:
        token: The token's text.
        logprob: Its log probability (0 is certain; the lower, the less likely).
        bytes: Its UTF-8 bytes (a character may span several tokens); None when the service does not send them.
    """

    token: str = ""
    logprob: float = 0.0
    bytes: list[int] | None = None


class TokenLogprob(TopLogprob):
    """One generated token of a chat answer, with the most likely alternatives.

    Attributes:
        token: The token's text.
        logprob: Its log probability.
        bytes: Its UTF-8 bytes, or None.
        top_logprobs: The ``top_logprobs`` most likely tokens at this position (``TopLogprob``).
    """

    top_logprobs: list[TopLogprob] = []


class ChoiceLogprobs(Logprobs):
    """Chat logprobs: OpenAI's form (``content``, a list of :class:`TokenLogprob`), or the Llama API's
    completion form (``tokens``, ``token_logprobs``, ...), whichever the route sends.

    Attributes:
        content: OpenAI's chat form (``logprobs=True`` on the model-inference and openai-v1 routes): one
            ``TokenLogprob`` per token of the answer; None in the completion form.
        refusal: The same for a refusal's text, when the service sends one.
        text_offsets: The completion form (``logprobs=N``): where each token starts in the text.
        token_logprobs: The completion form: the log probability of each token written.
        tokens: The completion form: the tokens written, as text.
        top_logprobs: The completion form: for each position, the most likely tokens and their log probabilities.
    """

    content: list[TokenLogprob] | None = None
    refusal: list[TokenLogprob] | None = None


class ChatCompletionChoice(ResponseModel):
    """One of the ``n`` replies of a chat completion.

    Attributes:
        index: Its position among the choices (0 unless ``n > 1``).
        message: The reply.
        finish_reason: Why generation stopped: ``stop`` (end or a stop sequence), ``length`` (``max_tokens``
            reached), ``content_filter``, ``tool_calls``.
        logprobs: Token log probabilities, when asked for (``content`` in the chat form, ``tokens`` ... in the
            Llama API's).
        content_filter_results: Per category (``hate``, ``violence``, ...): filtered or not, and how severe.
    """

    index: int = 0
    message: ChatMessage
    finish_reason: FinishReason | str | None = None
    logprobs: ChoiceLogprobs | None = None
    content_filter_results: ContentFilterResults | None = None


class ChatCompletion(ResultModel):
    """A chat completion: ``reply.choices[0].message.content``.

    Attributes:
        id: The service's id of the completion (``chatcmpl-...``); None from the ``/score`` route.
        object: ``chat.completion``.
        created: When it was made, in Unix seconds.
        model: The model that answered, as the service names it.
        choices: The replies, one per ``n``.
        usage: Tokens read and written; None when the service does not say.
        prompt_filter_results: What the content filter found in the prompt (``prompt_annotations`` is read too).
    """

    id: str | None = None
    object: str | None = "chat.completion"
    created: int | None = None
    model: str | None = None
    choices: list[ChatCompletionChoice]
    usage: Usage | None = None
    prompt_filter_results: list[PromptFilterResult] | None = Field(
        None, validation_alias=AliasChoices("prompt_filter_results", "prompt_annotations"))

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
        refusal: The next piece of a refusal.
        reasoning_content: The next piece of a reasoning model's reasoning.
    """

    role: str | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    refusal: str | None = None
    reasoning_content: str | None = None


class ChatCompletionChunkChoice(ResponseModel):
    """One choice's part of a streamed chunk.

    Attributes:
        index: Which choice (0 unless ``n > 1``).
        delta: What this chunk adds to the message.
        finish_reason: None until the choice's last chunk, then why it stopped.
        logprobs: Token log probabilities of this piece, when asked for.
        content_filter_results: The content filter's results for this piece, when the service sends them.
    """

    index: int = 0
    delta: Delta = Field(default_factory=Delta)  # a last chunk may carry only ``finish_reason``
    finish_reason: FinishReason | str | None = None
    logprobs: ChoiceLogprobs | None = None
    content_filter_results: ContentFilterResults | None = None


class ChatCompletionChunk(ResultModel):
    """One streamed chat event: ``chunk.choices[0].delta.content``.

    Attributes:
        id: The same for every chunk of one answer (may be empty in a first content-filter-only chunk).
        object: ``chat.completion.chunk``.
        created: When the answer started, in Unix seconds.
        model: The model that answers.
        choices: This chunk's part of each choice (empty in a usage-only last chunk).
        usage: Token counts, in the last chunk when the service sends them.
        prompt_filter_results: The content filter's results for the prompt (often in a first chunk of its own).
    """

    id: str | None = None
    object: str | None = "chat.completion.chunk"
    created: int | None = None
    model: str | None = None
    choices: list[ChatCompletionChunkChoice] = []
    usage: Usage | None = None
    prompt_filter_results: list[PromptFilterResult] | None = Field(
        None, validation_alias=AliasChoices("prompt_filter_results", "prompt_annotations"))


MessagesParam = Sequence[ChatMessageParam | ChatMessage]
"""What ``messages=`` takes: per-role dicts (mypy checks each role's keys) or messages of earlier replies."""
