"""Request bodies the server accepts, as strict pydantic models (a wrong type is an error, not a cast).

Unknown top-level fields are kept in ``model_extra`` so the app can apply the ``extra-parameters``
header (``error`` / ``drop`` / ``pass-through``). Ranges follow docs/azure-llama-wire.md; the server's own
caps (``n``, ``best_of``, ``logprobs``) keep one request from tying up the model.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .engine import SamplingParams

MAX_CANDIDATES = 16
MAX_LOGPROBS = 20
MAX_STOP_SEQUENCES = 16
MAX_STOP_LENGTH = 256
DEFAULT_MAX_TOKENS = 16


class _DropsUnknown(BaseModel):
    """Strict types; fields this server does not know are dropped (a part of a message)."""

    model_config = ConfigDict(strict=True, extra="ignore")


class _KeepsUnknown(BaseModel):
    """Strict types; fields this server does not know are kept, for the checks that name them."""

    model_config = ConfigDict(strict=True, extra="allow")


class _Body(_KeepsUnknown):
    model_config = ConfigDict(allow_inf_nan=False)

    def extra_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class TextPart(_DropsUnknown):
    type: Literal["text"]
    text: str


class ImageURL(_DropsUnknown):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_DropsUnknown):
    """Parsed so that it can be refused as Azure refuses it on a text-only deployment (400, not 422)."""

    type: Literal["image_url"]
    image_url: ImageURL


class FunctionCall(_DropsUnknown):
    name: str
    arguments: str


class ToolCall(_DropsUnknown):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(_DropsUnknown):
    """One message; ``content`` is a string or a list of parts. An assistant message may have ``content: null``
    with the ``tool_calls`` it made; a ``tool`` message answers one call by ``tool_call_id``."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str | list[Annotated[TextPart | ImagePart, Field(discriminator="type")]] | None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _content_or_calls(self) -> ChatMessage:
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError("content may be null only in an assistant message with tool_calls")
        return self

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))

    def has_images(self) -> bool:
        return isinstance(self.content, list) and any(isinstance(part, ImagePart) for part in self.content)


class _LlamaSampling(_Body):
    """The parameters shared by the Llama API's completions and chat completions."""

    stream: bool = False
    max_tokens: int = Field(DEFAULT_MAX_TOKENS, ge=1)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    n: int = Field(1, ge=1, le=MAX_CANDIDATES)
    stop: (
        Annotated[str, Field(max_length=MAX_STOP_LENGTH)]
        | Annotated[list[Annotated[str, Field(max_length=MAX_STOP_LENGTH)]], Field(max_length=MAX_STOP_SEQUENCES)]
        | None
    ) = None
    best_of: int | None = Field(None, ge=1, le=MAX_CANDIDATES)
    logprobs: int | None = Field(None, ge=0, le=MAX_LOGPROBS)
    presence_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    ignore_eos: bool = False
    use_beam_search: bool = False
    stop_token_ids: list[int] | None = None
    skip_special_tokens: bool = True
    seed: int | None = Field(None, ge=-(2**63), le=2**64 - 1)
    model: str | None = None

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop)
        return [s for s in stops if s]

    def sampling(self) -> SamplingParams:
        """What the engine samples with (``intake.sampling_params`` adds the blocklist and the grammar)."""
        return SamplingParams(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            presence_penalty=self.presence_penalty,
            seed=self.seed,
            stop=tuple(self.stop_list()),
            stop_token_ids=tuple(self.stop_token_ids or ()),
            ignore_eos=self.ignore_eos,
            skip_special_tokens=self.skip_special_tokens,
            logprobs=self.logprobs,
            n=self.n,
            best_of=self.best_of,
        )


class CompletionRequest(_LlamaSampling):
    """``POST /v1/completions`` and ``POST /completions``."""

    prompt: str


class ChatCompletionRequest(_LlamaSampling):
    """``POST /v1/chat/completions`` (Llama API)."""

    messages: list[ChatMessage] = Field(min_length=1)


class JSONSchemaFormat(_KeepsUnknown):
    name: str = Field(min_length=1, max_length=64)
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None
    description: str | None = None


class ResponseFormat(_KeepsUnknown):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("response_format of type json_schema needs a json_schema object")
        return self


class FunctionDefinition(_KeepsUnknown):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_KeepsUnknown):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(_KeepsUnknown):
    name: str


class NamedToolChoice(_KeepsUnknown):
    type: Literal["function"]
    function: NamedFunction


MAX_TOOLS = 64


class InferenceChatCompletionRequest(ChatCompletionRequest):
    """``POST /chat/completions`` (Azure AI Model Inference API): temperature 0..1 (default 0.7) and extras."""

    temperature: float = Field(0.7, ge=0.0, le=1.0)
    frequency_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    response_format: ResponseFormat | None = None
    tools: list[Tool] | None = Field(None, max_length=MAX_TOOLS)
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    # OpenAI's chat form: logprobs true (with top_logprobs alternatives) answers {"content": [{token, ...}]};
    # an int keeps the Llama API's completion form.
    logprobs: bool | Annotated[int, Field(ge=0, le=MAX_LOGPROBS)] | None = None
    top_logprobs: int | None = Field(None, ge=0, le=MAX_LOGPROBS)

    def chat_logprobs(self) -> bool:
        return self.logprobs is True

    def logprob_alternatives(self) -> int | None:
        """The engine's ``logprobs``: how many alternatives per token, None for no logprobs."""
        if isinstance(self.logprobs, bool):
            return (self.top_logprobs or 0) if self.logprobs else None
        return self.logprobs

    def sampling(self) -> SamplingParams:
        return replace(super().sampling(), frequency_penalty=self.frequency_penalty,
                       logprobs=self.logprob_alternatives())


class ScoreParameters(_KeepsUnknown):
    """Hugging Face style generation parameters of the legacy scoring format (unknown ones are ignored)."""

    model_config = ConfigDict(allow_inf_nan=False)
    max_new_tokens: int = Field(DEFAULT_MAX_TOKENS, ge=1)
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    do_sample: bool = True
    seed: int | None = None

    def sampling(self) -> SamplingParams:
        """The same engine parameters as the other routes' (``do_sample: false`` is greedy decoding)."""
        return SamplingParams(max_tokens=self.max_new_tokens, temperature=self.temperature if self.do_sample else 0.0,
                              top_p=self.top_p, seed=self.seed)


SamplingRequest = _LlamaSampling | ScoreParameters
"""A body that asks for a generation: its ``sampling()`` is the one way to the engine's parameters."""


class ScoreInput(_DropsUnknown):
    input_string: list[ChatMessage] | list[str] = Field(min_length=1, max_length=MAX_CANDIDATES)
    parameters: ScoreParameters = Field(default_factory=ScoreParameters)


class ScoreRequest(_DropsUnknown):
    """``POST /score``: ``{"input_data": {"input_string": [...], "parameters": {...}}}``."""

    input_data: ScoreInput
