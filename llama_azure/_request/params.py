"""Typed call parameters, validated before anything is sent.

The same TypedDicts type ``create(**kwargs)`` for mypy and validate it at run time (pydantic), so a
bad value raises a ``ParameterError`` naming the field and no request goes out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, NoReturn

import httpx
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from .._exceptions import ParameterError
from ..types.chat_params import ResponseFormat, ToolChoice, ToolParam
from .messages import check_messages, key_path
from .param_table import bounds
from .plain_params import field_ranks, plain_params
from .route_params import check_route_ranges

# The ranges come from the one parameter table (param_table.py); ranges that differ by route are checked there.
Temperature = Annotated[float, Field(**bounds("temperature"))]
Penalty = Annotated[float, Field(**bounds("presence_penalty"))]
PositiveInt = Annotated[int, Field(**bounds("max_tokens"))]


@with_config(ConfigDict(extra="forbid", strict=False))  # not __pydantic_config__: mypy takes that for a key
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
        logprobs: Return the log probabilities of the likeliest tokens at each position (0..20 of them); in
            chat on the model-inference route, ``True`` asks for OpenAI's chat form (with ``top_logprobs``).
        presence_penalty: -2..2: above 0, tokens already present are less likely, so the text moves on.
        ignore_eos: Keep writing past the end-of-sequence token, up to ``max_tokens``.
        use_beam_search: Beam search instead of sampling (needs ``best_of > 1`` and ``temperature=0``).
        stop_token_ids: Token ids that end generation.
        skip_special_tokens: Leave special tokens out of the text.
        seed: Same seed, same parameters, same prompt: the same answer (where the service supports it).
    """

    max_tokens: PositiveInt
    temperature: Temperature
    top_p: Annotated[float, Field(**bounds("top_p"))]
    n: Annotated[int, Field(**bounds("n"))]
    stop: str | list[str] | None
    best_of: Annotated[int, Field(**bounds("best_of"))]
    logprobs: bool | Annotated[int, Field(**bounds("logprobs"))] | None
    presence_penalty: Penalty
    ignore_eos: bool
    use_beam_search: bool
    stop_token_ids: list[int]
    skip_special_tokens: bool
    seed: Annotated[int, Field(**bounds("seed"))]


class ChatOptions(SamplingParams, total=False):
    """Chat adds the Azure AI Model Inference extras (``param_table.py`` says which routes have them).

    Attributes:
        tool_choice: ``none``, ``auto``, ``required``, or one tool to call (``NamedToolChoice``).
        parallel_tool_calls: Whether the model may call several tools in one answer.
        top_logprobs: With ``logprobs=True`` (the chat form): how many alternatives per token (0..20).
        frequency_penalty: -2..2: above 0, tokens are less likely the more often they already appear (the
            Llama API has no such parameter).
        model: The deployment name: it picks the model on Foundry Models and ``openai-v1`` endpoints (the
            client's ``model=`` default is used when a call names none).
        max_completion_tokens: OpenAI's newer name of ``max_tokens``, on the ``openai-v1`` route only (the
            other routes know ``max_tokens``); pass one or the other.
    """

    tool_choice: ToolChoice
    parallel_tool_calls: bool
    top_logprobs: Annotated[int, Field(**bounds("top_logprobs"))]
    frequency_penalty: Penalty
    model: str
    max_completion_tokens: PositiveInt


class ToolParams(ChatOptions, total=False):
    """Chat's tools, beside the extras of ``ChatOptions``.

    Attributes:
        tools: Tools the model may ask to call: ``{"type": "function", "function": {...}}`` (``ToolParam``;
            ``pydantic_function_tool(Model)`` builds one).
    """

    tools: list[ToolParam]


class ChatParams(ToolParams, total=False):
    """Chat on the routes with structured output.

    Attributes:
        response_format: ``{"type": "text"}``, ``{"type": "json_object"}`` or ``{"type": "json_schema",
            "json_schema": {"name", "schema", "strict"}}`` (``chat.completions.parse`` builds the last one).
    """

    response_format: ResponseFormat


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


class ChatParseParams(ToolParams, RequestOptions, total=False):
    """What ``chat.completions.parse`` takes besides ``messages``, ``response_format`` (a model) and ``stream``."""


class ToolRunParams(ChatOptions, RequestOptions, total=False):
    """What ``chat.completions.run_tools`` passes to every round's ``create``: all it takes but ``tools`` (its
    own), ``tool_choice`` applying to every round but the last, which forbids tools (``"none"``; ``"required"``
    makes the model call a tool in each of the others).

    Attributes:
        response_format: The form of the final answer, as in ``create``.
    """

    response_format: ResponseFormat


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


_OPTION_KEYS = frozenset(RequestOptions.__annotations__)
_CHAT_ADAPTER: TypeAdapter[ChatParams] = TypeAdapter(ChatParams)
_COMPLETION_ADAPTER: TypeAdapter[CompletionParams] = TypeAdapter(CompletionParams)
_CHAT_RANKS = field_ranks(ChatParams.__annotations__)
_COMPLETION_RANKS = field_ranks(CompletionParams.__annotations__)


def split_options(kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate body parameters from request options."""
    body: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for key, value in kwargs.items():
        (options if key in _OPTION_KEYS else body)[key] = value
    return body, options


def _raise_for(error: ValidationError, prefix: str = "") -> NoReturn:
    # The most precise error; an unknown key (a typo) explains a missing one at the same place.
    first = max(error.errors(include_url=False), key=lambda e: (len(e["loc"]), e["type"] == "extra_forbidden"))
    loc = key_path(first["loc"])
    field = f"{prefix}{loc}" if prefix else loc
    if first["type"] == "extra_forbidden" and len(first["loc"]) > 1:
        raise ParameterError(f"invalid {field}: unknown key {str(first['loc'][-1])!r}", param=field) from None
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
    if "max_tokens" in params and "max_completion_tokens" in params:
        raise ParameterError("max_tokens and max_completion_tokens set the same limit: pass one of them",
                             param="max_completion_tokens")
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


def validate_chat(messages: object, params: Mapping[str, Any], stream: bool,
                  api: str | None = None) -> tuple[list[Any], dict[str, Any]]:
    """Check messages and parameters (with ``api``, against that route style's ranges); returns JSON-ready
    messages and body fields."""
    checked = check_messages(messages)
    return checked, _checked_body(params, _CHAT_RANKS, _CHAT_ADAPTER, "chat", stream, api)


def validate_completion(prompt: object, params: Mapping[str, Any], stream: bool,
                        api: str | None = None) -> dict[str, Any]:
    """Check the prompt and parameters (with ``api``, against that route style's ranges); returns JSON-ready
    body fields."""
    if not isinstance(prompt, str):
        raise ParameterError(f"prompt must be a string, got {type(prompt).__name__}", param="prompt")
    if not prompt:
        raise ParameterError("prompt must not be empty", param="prompt")
    if isinstance(params.get("logprobs"), bool):
        raise ParameterError("logprobs of a text completion is the number of alternatives per token (an int "
                             "0..20), not True/False", param="logprobs")
    return _checked_body(params, _COMPLETION_RANKS, _COMPLETION_ADAPTER, "completions", stream, api)


def _checked_body(params: Mapping[str, Any], ranks: Mapping[str, int], adapter: TypeAdapter[Any], route: str,
                  stream: bool, api: str | None) -> dict[str, Any]:
    """The parameters of either route checked into body fields: the plain fast path, else pydantic (which
    converts, or names what is wrong); with ``api``, that route style's ranges; then the combinations."""
    body = plain_params(params, ranks)
    if body is None:  # not only plain scalars
        try:
            body = dict(adapter.validate_python(dict(params)))
        except ValidationError as error:
            _raise_for(error)
    if api is not None:
        check_route_ranges(api, route, body)
    _check_combinations(body, stream)
    return body
