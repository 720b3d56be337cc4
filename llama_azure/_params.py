"""Typed call parameters, validated before anything is sent.

The same TypedDicts type ``create(**kwargs)`` for mypy and validate it at run time (pydantic), so a
bad value raises a ``ParameterError`` naming the field and no request goes out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import httpx
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from ._exceptions import ParameterError
from .types.chat import ChatMessage

Temperature = Annotated[float, Field(ge=0, le=2)]
Penalty = Annotated[float, Field(ge=-2, le=2)]
PositiveInt = Annotated[int, Field(ge=1)]


class SamplingParams(TypedDict, total=False):
    """Parameters of the Llama API tables, shared by chat and text completions.

    Attributes:
        max_tokens: The most tokens to write (per choice). The service's default is 16 for text completions.
        temperature: Randomness, 0..2: 0 always takes the likeliest token; the default is 1 (0.7 on the Model
            Inference API, which takes 0..1).
        top_p: Nucleus sampling, in (0, 1]: sample only among the likeliest tokens whose probabilities add up to it.
        n: How many choices to write (1..128).
        stop: A string or a list of strings that end generation (not included in the text).
        best_of: Write this many candidates and return the ``n`` best (>= ``n``; not with ``stream=True``).
        logprobs: Return the log probabilities of the likeliest tokens at each position (0..20 of them).
        presence_penalty: -2..2: above 0, tokens already present are less likely, so the text moves on.
        frequency_penalty: -2..2: above 0, tokens are less likely the more often they already appear.
        ignore_eos: Keep writing past the end-of-sequence token, up to ``max_tokens``.
        use_beam_search: Beam search instead of sampling (needs ``best_of > 1`` and ``temperature=0``).
        stop_token_ids: Token ids that end generation.
        skip_special_tokens: Leave special tokens out of the text.
        seed: Same seed, same parameters, same prompt: the same answer (where the service supports it).
    """

    __pydantic_config__ = ConfigDict(extra="forbid", strict=False)  # type: ignore[misc]

    max_tokens: PositiveInt
    temperature: Temperature
    top_p: Annotated[float, Field(gt=0, le=1)]
    n: Annotated[int, Field(ge=1, le=128)]
    stop: str | list[str] | None
    best_of: PositiveInt
    logprobs: Annotated[int, Field(ge=0, le=20)] | None
    presence_penalty: Penalty
    frequency_penalty: Penalty
    ignore_eos: bool
    use_beam_search: bool
    stop_token_ids: list[int]
    skip_special_tokens: bool
    seed: int


class ChatParams(SamplingParams, total=False):
    """Chat adds the Azure AI Model Inference extras.

    Attributes:
        response_format: ``{"type": "text"}`` or ``{"type": "json_object"}`` where the model supports it.
        tools: Tools the model may ask to call (OpenAI's ``{"type": "function", "function": {...}}`` form).
        tool_choice: ``none``, ``auto``, or one tool to call.
        model: The deployment name: it picks the model on Foundry Models and ``openai-v1`` endpoints (the
            client's ``model=`` default is used when a call names none).
    """

    response_format: dict[str, Any]
    tools: list[dict[str, Any]]
    tool_choice: str | dict[str, Any]
    model: str


class RequestOptions(TypedDict, total=False):
    """Per-call options that shape the HTTP request rather than the body.

    Attributes:
        extra_body: Body fields the SDK does not know, sent as given with ``extra-parameters: pass-through``.
        extra_headers: Headers added to this call (e.g. ``x-ms-client-request-id``).
        extra_query: Query parameters added to this call.
        timeout: Seconds (or an ``httpx.Timeout``) for each network operation of this call.
        max_retries: Retries for this call (408, 429, 5xx, connection errors, timeouts).
        total_timeout: Seconds for the whole call: every attempt, the waits between them and the whole stream.
        stream_idle_timeout: Seconds a stream may go without a chunk.
    """

    extra_body: Mapping[str, Any] | None
    extra_headers: Mapping[str, str] | None
    extra_query: Mapping[str, str] | None
    timeout: float | httpx.Timeout | None
    max_retries: int | None
    total_timeout: float | None
    stream_idle_timeout: float | None


class ChatCreateParams(ChatParams, RequestOptions, total=False):
    """Everything ``chat.completions.create`` takes besides ``messages`` and ``stream``."""


class CompletionParams(SamplingParams, total=False):
    """Text completions add ``model``.

    Attributes:
        model: The deployment name: it picks the model on Foundry Models and ``openai-v1`` endpoints (the
            client's ``model=`` default is used when a call names none).
    """

    model: str


class ModelInfoParams(RequestOptions, total=False):
    """What ``get_model_info`` takes: the request options, and ``model``.

    Attributes:
        model: The deployment to describe on Foundry Models (sent as ``x-ms-model-mesh-model-name``).
    """

    model: str


class CompletionCreateParams(CompletionParams, RequestOptions, total=False):
    """Everything ``completions.create`` takes besides ``prompt`` and ``stream``."""


class _MessageDict(TypedDict, total=False):
    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]

    role: Literal["system", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None
    name: str
    tool_call_id: str
    tool_calls: list[dict[str, Any]]


_OPTION_KEYS = frozenset(RequestOptions.__annotations__)
_CHAT_ADAPTER: TypeAdapter[ChatParams] = TypeAdapter(ChatParams)
_COMPLETION_ADAPTER: TypeAdapter[CompletionParams] = TypeAdapter(CompletionParams)
_MESSAGES_ADAPTER: TypeAdapter[list[_MessageDict]] = TypeAdapter(list[_MessageDict])


def split_options(kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate body parameters from request options."""
    body: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for key, value in kwargs.items():
        (options if key in _OPTION_KEYS else body)[key] = value
    return body, options


def _raise_for(error: ValidationError, prefix: str = "") -> None:
    first = error.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in first["loc"])
    field = f"{prefix}{loc}" if prefix else loc
    if first["type"] == "extra_forbidden":
        raise ParameterError(
            f"unknown parameter {field!r}: pass fields the SDK does not know with extra_body={{...}} "
            f"(sent with extra-parameters: pass-through)",
            param=field,
        ) from None
    received = first.get("input")
    shown = repr(received) if not isinstance(received, (dict, list)) else type(received).__name__
    raise ParameterError(f"invalid {field}: {first['msg']} (got {shown})", param=field) from None


def _check_combinations(params: Mapping[str, Any], stream: bool) -> None:
    n = params.get("n", 1)
    best_of = params.get("best_of")
    if best_of is not None:
        if best_of < n:
            raise ParameterError(f"best_of ({best_of}) must be >= n ({n})", param="best_of")
        if stream and best_of > 1:
            raise ParameterError("best_of > 1 cannot be streamed: use stream=False", param="best_of")
    if params.get("use_beam_search"):
        if (best_of or 1) <= 1:
            raise ParameterError("use_beam_search needs best_of > 1", param="use_beam_search")
        if params.get("temperature", 1) != 0:
            raise ParameterError("use_beam_search needs temperature=0", param="use_beam_search")


def validate_chat(messages: object, params: Mapping[str, Any], stream: bool) -> tuple[list[Any], dict[str, Any]]:
    """Check messages and parameters; returns JSON-ready messages and body fields."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise ParameterError(
            "messages must be a list of {'role': ..., 'content': ...} dicts or ChatMessage objects",
            param="messages",
        )
    if not messages:
        raise ParameterError("messages must contain at least one message", param="messages")
    plain = [m.model_dump(exclude_none=True) if isinstance(m, ChatMessage) else m for m in messages]
    try:
        checked = _MESSAGES_ADAPTER.validate_python(plain)
    except ValidationError as error:
        _raise_for(error, "messages.")
    for index, message in enumerate(checked):
        if "role" not in message:
            raise ParameterError(f"messages.{index} has no 'role'", param=f"messages.{index}.role")
    try:
        body = dict(_CHAT_ADAPTER.validate_python(dict(params)))
    except ValidationError as error:
        _raise_for(error)
    _check_combinations(body, stream)
    return list(checked), body


def validate_completion(prompt: object, params: Mapping[str, Any], stream: bool) -> dict[str, Any]:
    """Check the prompt and parameters; returns JSON-ready body fields."""
    if not isinstance(prompt, str):
        raise ParameterError(f"prompt must be a string, got {type(prompt).__name__}", param="prompt")
    if not prompt:
        raise ParameterError("prompt must not be empty", param="prompt")
    try:
        body = dict(_COMPLETION_ADAPTER.validate_python(dict(params)))
    except ValidationError as error:
        _raise_for(error)
    _check_combinations(body, stream)
    return body
