"""A call prepared from typed parameters, without I/O: ``prepare_chat``, ``prepare_parse``, ``prepare_completion``
and ``prepare_info`` check them and build the :class:`~.prepared.PreparedCall` (its request from the config's
precomputed parts) that the shells run; ``retarget`` makes it again for another deployment's config.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import ValidationError

from .._exceptions import (
    APIResponseValidationError,
    ConfigurationError,
    ParameterError,
)
from .._http.origins import check_plain_http
from .._http.timeouts import CallTimer
from .._request.route_params import check_route_params
from .._request.routes import (
    ApiStyle,
    Operation,
    has_route,
    requires_model,
)
from .config import (
    AUTO_HEADERS,
    REQUEST_ID_HEADER,
    ClientConfig,
    EncodedHeaders,
    _url,
    check_headers,
    check_max_retries,
    check_seconds,
    to_timeout,
)
from .prepared import PreparedCall, Retarget

if TYPE_CHECKING:
    from ..types.chat import ChatCompletionChunk
    from ..types.completion import Completion
    from ..types.model_info import ModelInfo

logger = logging.getLogger("llama_azure")

# Foundry Models reads the model from this header where a request has no body (GET /models/info).
MODEL_HEADER = "x-ms-model-mesh-model-name"
_REQUEST_ID_NAME = REQUEST_ID_HEADER.encode()
# What json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False) uses, made once (dumps makes
# one per call when given options).
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)

T = TypeVar("T")


def new_request_id() -> str:
    """A random (version 4) UUID as text, like ``str(uuid.uuid4())`` at a third of its cost (it is per call)."""
    digits = os.urandom(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]  # the RFC 4122 variant: the top two bits 10
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


def _headers(config: ClientConfig, *, stream: bool, pass_through: bool,
             extra: object) -> dict[str, str]:
    headers = config.header_template(stream, pass_through).copy()
    if REQUEST_ID_HEADER not in config.default_headers:  # a fixed one in default_headers wins, as it always did
        headers[REQUEST_ID_HEADER] = new_request_id()
    if extra is not None:
        headers.update(check_headers(extra, "extra_headers", ParameterError))
    return headers


def _model_parser(model: type[T]) -> Callable[[httpx.Response, bytes], T]:
    def parse(response: httpx.Response, content: bytes) -> T:
        try:
            return model.model_validate_json(content)  # type: ignore[attr-defined, no-any-return]
        except (ValidationError, ValueError) as error:
            raise APIResponseValidationError(
                f"{response.status_code} from {response.request.url.path}: the answer is not a valid "
                f"{model.__name__}: {str(error).splitlines()[0]} (body: {content[:200]!r})"
            ) from None
    return parse


class _Loaded:
    """What chat and completion calls use beyond this module's imports: loaded at the first call, not at
    ``import llama_azure`` (the validators and the pydantic models cost most of an import), then kept."""

    def __init__(self) -> None:
        from .._request.params import split_options, validate_chat, validate_completion
        from .._request.score import parse_score_chat, parse_score_completion, score_body
        from ..types.chat import ChatCompletion, ChatCompletionChunk
        from ..types.completion import Completion

        self.split_options = split_options
        self.validate_chat = validate_chat
        self.validate_completion = validate_completion
        self.score_body = score_body
        self.parse_score_chat = parse_score_chat
        self.parse_score_completion = parse_score_completion
        self.parse_chat = _model_parser(ChatCompletion)
        self.chat_chunk = ChatCompletionChunk
        self.parse_completion = _model_parser(Completion)
        self.completion = Completion


_loaded: _Loaded | None = None


def _load() -> _Loaded:
    global _loaded
    if _loaded is None:
        _loaded = _Loaded()
    return _loaded


def _build(
    config: ClientConfig,
    operation: Operation,
    body: dict[str, Any] | None,
    options: Mapping[str, Any],
    *,
    stream: bool,
    parse: Callable[[httpx.Response, bytes], Any],
    chunk_type: type[ChatCompletionChunk] | type[Completion] | None = None,
    retarget: Retarget,
    like: PreparedCall[Any] | None = None,
) -> PreparedCall[Any]:
    """The call's request for ``config``; ``like``: the call this one retargets (its time and trace go on)."""
    extra_body = options.get("extra_body")
    if extra_body is not None and not isinstance(extra_body, Mapping):
        raise ParameterError(f"extra_body must be a dict of extra body fields, got {type(extra_body).__name__}",
                             param="extra_body")
    pass_through = bool(extra_body)
    if body is not None and extra_body:
        clash = sorted(set(extra_body) & set(body))
        if clash:
            raise ParameterError(f"extra_body repeats {', '.join(clash)}: pass it once, as a parameter",
                                 param=clash[0])
        body = {**body, **extra_body}
    extra_headers = options.get("extra_headers")
    # The usual call (a JSON body, no extra_headers) sends the config's headers, encoded once.
    encoded = config.json_headers(stream, pass_through) if body is not None and extra_headers is None else None
    headers = None
    if encoded is None:
        headers = _headers(config, stream=stream, pass_through=pass_through, extra=extra_headers)
        if body is not None:
            headers["content-type"] = "application/json"
    content = None
    if body is not None:
        try:
            content = _JSON.encode(body).encode()
        except (TypeError, ValueError) as error:
            raise ParameterError(
                f"the request body cannot be sent as JSON: {error} (use str, int, float, bool, None, lists and dicts; "
                f"no NaN or infinity)", param="extra_body" if extra_body else "messages",
            ) from None
    extra_query = options.get("extra_query")
    if extra_query is None:
        url, where = config.route(operation)
    else:
        url = _url(config, operation, check_headers(extra_query, "extra_query", ParameterError))
        check_plain_http(url, config.allow_insecure_http)
        where = f"{url.host}{url.path}"
    method = "POST" if content is not None else "GET"
    if headers is None:
        assert encoded is not None and content is not None
        sent = _json_request(url, encoded, content)
    else:
        sent = _request(method, url, headers, content)
    max_retries = options.get("max_retries")
    return PreparedCall(
        method=method,
        url=url,
        headers=sent,
        content=content if content is not None else b"",
        parse=parse,
        stream=stream,
        timeout=to_timeout(options["timeout"]) if options.get("timeout") is not None else config.timeout,
        max_retries=config.max_retries if max_retries is None else check_max_retries(max_retries),
        where=where,
        chunk_type=chunk_type,
        operation=operation,
        body=body,
        timer=like.timer if like is not None else CallTimer(
            total_timeout=_option_seconds(options, "total_timeout", config.total_timeout),
            idle_timeout=_option_seconds(options, "stream_idle_timeout", config.stream_idle_timeout),
        ),
        max_response_bytes=config.max_response_bytes,
        trace=like.trace if like is not None else None,
        retarget=retarget,
    )


def _request(method: str, url: httpx.URL, headers: dict[str, str], content: bytes | None
             ) -> tuple[tuple[bytes, bytes], ...]:
    """The call's headers as sent (names in lower case), with those httpx would add: a POST of ``content``
    gets ``host`` first and ``content-length`` last directly, not through httpx's body encoding and a second
    pass over the headers (every value is printable ASCII: ``check_headers``)."""
    if content is None or any(name.lower() in AUTO_HEADERS for name in headers):
        request = httpx.Request(method, url, headers=headers, content=content)
        return tuple((name.lower(), value) for name, value in request.headers.raw)
    return ((b"host", url.netloc), *[(name.lower().encode(), value.encode()) for name, value in headers.items()],
            (b"content-length", str(len(content)).encode()))


def _json_request(url: httpx.URL, encoded: tuple[EncodedHeaders, EncodedHeaders], content: bytes) -> EncodedHeaders:
    """What :func:`_request` makes of a JSON POST's headers, from the config's encoded ones (``json_headers``)."""
    before, after = encoded
    return ((b"host", url.netloc), *before, (_REQUEST_ID_NAME, new_request_id().encode()), *after,
            (b"content-type", b"application/json"), (b"content-length", str(len(content)).encode()))


def _option_seconds(options: Mapping[str, Any], name: str, default: float | None) -> float | None:
    value = options.get(name)
    if value is None:
        return default
    try:
        return check_seconds(value, name)
    except ConfigurationError as error:
        raise ParameterError(str(error), param=name) from None


def _with_model(config: ClientConfig, body: dict[str, Any]) -> dict[str, Any]:
    """The body with the client's default ``model`` when the call names none; refused before sending
    where the endpoint needs one to pick the deployment."""
    if "model" in body and not body["model"].strip():
        raise ParameterError("model must be a deployment name, got an empty string", param="model")
    if "model" not in body and config.model is not None:
        body = {**body, "model": config.model}
    if "model" not in body and requires_model(config.api, config.base_url):
        raise ParameterError(_model_needed(config), param="model")
    return body


def _model_needed(config: ClientConfig) -> str:
    surface = "the OpenAI v1 surface" if config.api == "openai-v1" else "Foundry Models (/models)"
    hint = (" (deployment= only sets a managed endpoint's azureml-model-deployment header)"
            if config.deployment else "")
    return (f"a model (the deployment name) is needed: {config.base_url} is {surface}, where the body's model "
            f"picks the deployment that answers; pass model='<deployment name>' to this call, or set a default with "
            f"LlamaClient(..., model='<deployment name>'){hint}")


def _check_stream_flag(stream: object, api: ApiStyle) -> bool:
    if not isinstance(stream, bool):
        raise ParameterError(f"stream must be True or False, got {stream!r}", param="stream")
    if stream and api == "score":
        raise ParameterError(
            "the score route cannot stream: use stream=False, or api='model-inference' if the "
            "deployment serves /chat/completions",
            param="stream",
        )
    return stream


def _check_route(config: ClientConfig, params: Mapping[str, Any], options: Mapping[str, Any],
                 operation: Operation) -> None:
    """Parameters (also inside ``extra_body``) the route lacks are refused before sending."""
    extra_body = options.get("extra_body")
    check_route_params(config.api, [*params, *(extra_body if isinstance(extra_body, Mapping) else ())],
                       params.get("logprobs"), operation)


def prepare_chat(
    config: ClientConfig, messages: object, stream: object, kwargs: Mapping[str, Any]
) -> PreparedCall[Any]:
    """Validate a chat call and build its request."""
    loaded = _load()
    is_stream = _check_stream_flag(stream, config.api)
    params, options = loaded.split_options(kwargs)
    _check_route(config, params, options, "chat")
    checked, body = loaded.validate_chat(messages, params, is_stream, config.api)
    return _chat_call(config, checked, body, is_stream, options, _again(prepare_chat, messages, stream, kwargs))


def _chat_call(config: ClientConfig, checked: Any, body: dict[str, Any], is_stream: bool,
               options: Mapping[str, Any], again: Retarget, like: PreparedCall[Any] | None = None
               ) -> PreparedCall[Any]:
    """A validated chat call's request for ``config`` (its model, URL and headers are the endpoint's)."""
    loaded = _load()
    retarget = _in_style(config, again, lambda other, call: _chat_call(other, checked, body, is_stream, options,
                                                                      again, call))

    if config.api == "score":
        return _build(config, "chat", loaded.score_body(checked, body), options, stream=False,
                      parse=loaded.parse_score_chat, retarget=retarget, like=like)
    payload = {"messages": checked, **_with_model(config, body)}
    if is_stream:
        payload["stream"] = True
    return _build(config, "chat", payload, options, stream=is_stream, parse=loaded.parse_chat,
                  chunk_type=loaded.chat_chunk, retarget=retarget, like=like)


def _in_style(config: ClientConfig, again: Retarget, build: Retarget) -> Retarget:
    """``build`` (from the validated parameters) for a config of ``config``'s route style; ``again`` for another,
    which checks (and shapes) the parameters its own way."""
    def retarget(other: ClientConfig, call: PreparedCall[Any]) -> PreparedCall[Any]:
        return build(other, call) if other.api == config.api else again(other, call)
    return retarget


def _again(prepare: Callable[..., PreparedCall[Any]], *arguments: Any) -> Retarget:
    """A retarget that prepares the call anew (validation included) for the other config."""
    def retarget(other: ClientConfig, call: PreparedCall[Any]) -> PreparedCall[Any]:
        return replace(prepare(other, *arguments), timer=call.timer, trace=call.trace)
    return retarget


def prepare_parse(config: ClientConfig, messages: object, model: object, stream: object,
                  kwargs: Mapping[str, Any]) -> PreparedCall[Any]:
    """``chat.completions.parse``: a chat call whose answer (or stream's result) is read into ``model`` (when
    given), and whose calls of ``pydantic_function_tool`` tools have their arguments read into the tool's model."""
    from .._request.structured import response_format_for, tool_models

    extra = {"response_format": response_format_for(model)} if model is not None else {}
    call = prepare_chat(config, messages, stream, {**kwargs, **extra})
    return _read_into(call, model, tool_models(kwargs.get("tools")))


def _read_into(call: PreparedCall[Any], target: Any, tools: Any) -> PreparedCall[Any]:
    """``call`` whose result is read into ``target`` (and its tools' arguments into their models)."""
    from .._request.structured import to_parsed

    chat = call.retarget
    assert chat is not None

    def retarget(other: ClientConfig, like: PreparedCall[Any]) -> PreparedCall[Any]:
        return _read_into(chat(other, like), target, tools)

    if call.stream:
        return replace(call, finish=lambda completion: to_parsed(completion, target, tools), retarget=retarget)
    parse = call.parse
    return replace(call, parse=lambda response, content: to_parsed(parse(response, content), target, tools),
                   retarget=retarget)


def prepare_completion(config: ClientConfig, prompt: object, stream: object,
                       kwargs: Mapping[str, Any]) -> PreparedCall[Any]:
    """Validate a text completion call and build its request."""
    loaded = _load()
    is_stream = _check_stream_flag(stream, config.api)
    params, options = loaded.split_options(kwargs)
    _check_route(config, params, options, "completions")
    body = loaded.validate_completion(prompt, params, is_stream, config.api)
    return _completion_call(config, prompt, body, is_stream, options,
                            _again(prepare_completion, prompt, stream, kwargs))


def _completion_call(config: ClientConfig, prompt: Any, body: dict[str, Any], is_stream: bool,
                     options: Mapping[str, Any], again: Retarget, like: PreparedCall[Any] | None = None
                     ) -> PreparedCall[Any]:
    """A validated completion call's request for ``config``."""
    loaded = _load()
    retarget = _in_style(config, again, lambda other, call: _completion_call(other, prompt, body, is_stream,
                                                                            options, again, call))

    if config.api == "score":
        return _build(config, "completions", loaded.score_body([prompt], body), options, stream=False,
                      parse=loaded.parse_score_completion, retarget=retarget, like=like)
    payload = {"prompt": prompt, **_with_model(config, body)}
    if is_stream:
        payload["stream"] = True
    return _build(config, "completions", payload, options, stream=is_stream,
                  parse=loaded.parse_completion, chunk_type=loaded.completion, retarget=retarget, like=like)


def prepare_info(config: ClientConfig, kwargs: Mapping[str, Any]) -> PreparedCall[ModelInfo]:
    """Build ``GET /info``; on Foundry Models the model is named by the ``x-ms-model-mesh-model-name`` header."""
    from .._request.params import split_options
    from ..types.model_info import ModelInfo

    params, options = split_options(kwargs)
    model = params.pop("model", None)
    if params:
        raise ParameterError(f"get_model_info takes no parameter {sorted(params)[0]!r}", param=sorted(params)[0])
    if not has_route(config.api, "info"):
        raise ConfigurationError(
            f"{config.base_url} is the OpenAI v1 surface, which has no /info route: read model info from the "
            f"resource's Foundry Models endpoint (https://<resource>.services.ai.azure.com/models)"
        )
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise ParameterError(f"model must be a deployment name (a non-empty string), got {model!r}", param="model")
    chosen = _with_model(config, {} if model is None else {"model": model}).get("model")
    if chosen is not None and isinstance(options.get("extra_headers") or {}, Mapping):  # else _build reports it
        options = {**options, "extra_headers": {MODEL_HEADER: chosen, **(options.get("extra_headers") or {})}}
    return _build(config, "info", None, options, stream=False, parse=_model_parser(ModelInfo),
                  retarget=_again(prepare_info, kwargs))


