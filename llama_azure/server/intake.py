"""A request's way in, up to what the engine runs: the checks every route makes (``api-version``, the body
read under its limits, JSON of valid Unicode, the ``extra-parameters`` header, the schema's validation answered
as Azure 422 bodies), then the one path from a request schema to the engine's :class:`SamplingParams`, used by
every route (``/score`` included), and the prompt checks (size, context length, the per-request token cap).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request

from . import errors
from .content_filter import Blocklist
from .engine import Engine, SamplingParams
from .errors import ApiError
from .limits import BODY_TIMEOUT_S, MAX_BODY_BYTES
from .schema_limits import SchemaTooLarge
from .schemas import (
    ChatCompletionRequest,
    ChatMessage,
    CompletionRequest,
    InferenceChatCompletionRequest,
    SamplingRequest,
)
from .structured import Plan, plan_for, render, schema_too_large

API_VERSIONS = ("2024-05-01-preview", "2025-04-01")
MAX_TOTAL_TOKENS = 8192  # n (or best_of) * max_tokens, per request

ExtraMode = Literal["error", "drop", "pass-through"]
_Model = TypeVar("_Model", bound=BaseModel)


def check_api_version(request: Request) -> None:
    version = request.query_params.get("api-version")
    if version is None:
        raise errors.bad_request(
            "Missing required query parameter 'api-version'. Supported: " + ", ".join(API_VERSIONS) + ".",
            param="api-version",
            code="MissingApiVersionParameter",
        )
    if version not in API_VERSIONS:
        raise errors.bad_request(
            f"Unsupported api-version '{version[:64]}'. Supported: " + ", ".join(API_VERSIONS) + ".",
            param="api-version",
            code="UnsupportedApiVersion",
        )


def decode_json(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object of valid Unicode (run it off the event loop: up to 4 MiB of JSON)."""
    if not raw.strip():
        raise errors.bad_request("The request body is empty; a JSON object is required.", param="body")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise errors.bad_request(f"The request body is not valid JSON: {exc}", param="body") from None
    if not isinstance(body, dict):
        raise errors.bad_request("The request body must be a JSON object.", param="body")
    check_unicode(raw, body)
    return body


async def read_body(request: Request, timeout_s: float = BODY_TIMEOUT_S) -> bytes:
    """The raw body; 413 as soon as it is known to be too large (``Content-Length`` first), 408 when slow.

    After a 413 the rest of the body is read and dropped (for ``--body-timeout`` at most, see
    :mod:`.connections`), so the client, still sending, can read the answer instead of a connection reset.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()

    async def read() -> bytes:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:  # a chunked body, or one longer than it said
                raise _too_large()
        return bytes(body)

    try:
        return await asyncio.wait_for(read(), timeout_s)
    except asyncio.TimeoutError:
        raise errors.nested(
            408,
            "RequestTimeout",
            f"The request body did not arrive within {timeout_s:g} s; send it at once.",
            headers={"connection": "close"},
        ) from None
    except ClientDisconnect:  # nobody will read the answer; no need to log it as a failure
        raise errors.bad_request("The client disconnected while sending the body.", param="body") from None


def _too_large() -> ApiError:
    return errors.nested(
        413,
        "RequestTooLarge",
        f"The request body exceeds {MAX_BODY_BYTES} bytes ({MAX_BODY_BYTES // 2**20} MiB); send a smaller one.",
    )


# A surrogate reaches a str from a JSON escape (\ud800..\udfff) or from its 3-byte form (json.loads decodes
# bytes with "surrogatepass"); such a str cannot be encoded, so tokenizing or echoing it would fail.
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\xed[\xa0-\xbf]")


def check_unicode(raw: bytes, body: dict[str, Any]) -> None:
    """400 naming the field when a string of the body holds a lone UTF-16 surrogate (``"\\ud800"``)."""
    if _SURROGATE.search(raw) is None:  # valid pairs also match; they are checked below and pass
        return
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), body)]
    while stack:
        path, value = stack.pop()
        items: list[tuple[str | int, Any]] = []
        if isinstance(value, dict):
            items = list(value.items())
        elif isinstance(value, list):
            items = list(enumerate(value))
        elif isinstance(value, str) and not _encodable(value):
            name = field_name(path)
            raise errors.bad_request(
                f"Invalid value for '{name}': the string holds a lone UTF-16 surrogate (such as \\ud800), "
                "which is not valid Unicode. Send valid UTF-8 text.",
                param=name,
            )
        for key, item in items:
            if isinstance(key, str) and not _encodable(key):
                raise errors.bad_request(
                    "A field name holds a lone UTF-16 surrogate, which is not valid Unicode.", param="body"
                )
            stack.append(((*path, key), item))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def extra_mode(request: Request) -> ExtraMode:
    value = request.headers.get("extra-parameters", "error").strip().lower()
    if value in ("pass-through", "allow", "pass_through"):
        return "pass-through"
    if value == "drop":
        return "drop"
    if value == "error":
        return "error"
    raise errors.bad_request(
        f"Invalid extra-parameters header '{value[:32]}'; use error, drop or pass-through.",
        param="extra-parameters",
    )


def reject_extras(extras: Mapping[str, Any], mode: ExtraMode) -> None:
    """Unknown body fields are an error unless ``extra-parameters`` says to drop or pass them."""
    if extras and mode == "error":
        names = sorted(extras)
        raise errors.parameter_not_supported(
            ["body", names[0]],
            extras[names[0]],
            f"Extra parameters {names} are not allowed when extra-parameters is not set or set to be "
            "'error'. Set extra-parameters to 'drop' or 'pass-through' to send them.",
        )


def parse(model: type[_Model], body: dict[str, Any]) -> _Model:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from None


_UNION_TAG = re.compile(r"^(?:str|int|float|bool|list|dict|none|constrained-\w+)$|[\[\-]")


def field_name(loc: Sequence[Any]) -> str:
    """``("stop", "list[constrained-str]", 3)`` -> ``"stop.3"``: pydantic's union member tags are dropped."""
    parts = [str(p) for p in loc if isinstance(p, int) or not _UNION_TAG.search(str(p))]
    return ".".join(parts) or "body"


def validation_error(exc: ValidationError) -> ApiError:
    details = [{"loc": ["body", *err["loc"]], "msg": err["msg"], "type": err["type"]} for err in exc.errors()]
    first = exc.errors()[0]
    name = field_name(first["loc"])
    return errors.validation_error(f"Invalid value for '{name}': {first['msg']}", param=name, details=details)


# -- from a request schema to what the engine runs --------------------------------------------------


@dataclass
class PreparedGeneration:
    """A validated generation request, ready for the engine."""

    kind: Literal["chat", "text"]
    prompt_tokens: list[int]
    params: SamplingParams
    stream: bool
    deployment: str
    plan: Plan = field(default_factory=Plan)
    """Tools or structured output: the grammar used, and how the text becomes ``tool_calls``."""
    chat_logprobs: bool = False
    """Logprobs in OpenAI's chat form (``{"content": [...]}``) rather than the Llama API's."""


def prepare(
    parsed: CompletionRequest | ChatCompletionRequest, deployment: str, engine: Engine, blocklist: Blocklist
) -> PreparedGeneration:
    """Checks ``parsed`` (parameters, content filter, context length) and builds what the engine runs.

    Tokenizes: call it on the prompt thread (:class:`~llama_azure.server.prompt_thread.PromptThread`).
    """
    check_supported(parsed, engine)
    plan = Plan()
    if isinstance(parsed, CompletionRequest):
        kind: Literal["chat", "text"] = "text"
        prompt_text = parsed.prompt
        source = "prompt"
        check_prompt_bytes(engine, [prompt_text], source)
        tokens = engine.tokenize(prompt_text)
    else:
        kind = "chat"
        source = "messages"
        plan = plan_for(parsed)
        prompt_text, tokens = chat_prompt(engine, parsed.messages, plan)
    if blocklist.contains(prompt_text):
        raise errors.content_filter(param="prompt")
    check_prompt_length(engine, len(tokens), parsed.max_tokens, source)

    params = sampling_params(parsed, blocklist, _grammar(engine, plan))
    chat_logprobs = isinstance(parsed, InferenceChatCompletionRequest) and parsed.chat_logprobs()
    return PreparedGeneration(kind, tokens, params, parsed.stream, deployment, plan, chat_logprobs)


def sampling_params(parsed: SamplingRequest, blocklist: Blocklist, grammar: object = None) -> SamplingParams:
    """The one way from a request schema (any route's, ``/score`` included) to what the engine samples with."""
    return replace(parsed.sampling(), blocked=blocklist.words, grammar=grammar)


def check_token_budget(candidates: int, max_tokens: int, what: str, loc: Sequence[str]) -> None:
    """The per-request cap: ``candidates`` generations of up to ``max_tokens`` each (``loc``: the body path of
    the field that sets ``max_tokens``)."""
    if candidates * max_tokens > MAX_TOTAL_TOKENS:
        raise errors.validation_error(
            f"{what} = {candidates * max_tokens} exceeds this server's limit of {MAX_TOTAL_TOKENS} tokens per "
            "request.",
            param=".".join(loc),
            details=[{"loc": ["body", *loc], "msg": "too many tokens", "type": "value_error"}],
        )


def _grammar(engine: Engine, plan: Plan) -> object:
    if plan.schema is None:
        return None
    param = "tools" if plan.tools else "response_format"
    try:
        return engine.grammar(plan.schema)
    except SchemaTooLarge as exc:
        raise schema_too_large(exc, param) from None
    except ValueError as exc:
        raise errors.bad_request(f"This server cannot constrain the answer to the given JSON schema ({exc}); "
                                 "simplify the schema.", param=param) from None


def chat_prompt(engine: Engine, messages: Sequence[ChatMessage], plan: Plan | None = None) -> tuple[str, list[int]]:
    """The text the content filter reads, and the prompt tokens in the model's chat template."""
    plain = render(messages, plan or Plan())
    check_prompt_bytes(engine, [m["content"] for m in plain], "messages")
    text = "\n".join(m["content"] for m in plain)
    return text, engine.tokenize(engine.chat_prompt(plain), special=True)


def check_prompt_bytes(engine: Engine, texts: Sequence[str], source: str) -> None:
    """Refuses text that cannot fit in the context by its size alone, before any template or tokenizing.

    No token stands for more than ``engine.max_token_bytes`` bytes, so text over ``engine.max_prompt_bytes``
    has at least ``n_ctx`` tokens: the answer is the one tokenizing would give, for a fraction of the cost.
    """
    size = sum(len(text.encode("utf-8")) for text in texts)
    if size > engine.max_prompt_bytes:
        raise errors.bad_request(
            f"This model's maximum context length is {engine.n_ctx} tokens, but the {source} has {size} "
            f"bytes of text: more than {engine.max_prompt_bytes} bytes cannot fit in {engine.n_ctx} tokens. "
            f"Shorten the {source}.",
            param=source,
            code="context_length_exceeded",
        )


def check_prompt_length(engine: Engine, prompt_tokens: int, max_tokens: int, source: str) -> None:
    if prompt_tokens >= engine.n_ctx:
        raise errors.bad_request(
            f"This model's maximum context length is {engine.n_ctx} tokens, but the {source} "
            f"has {prompt_tokens} tokens. Shorten the {source}.",
            param=source,
            code="context_length_exceeded",
        )
    if prompt_tokens + max_tokens > engine.n_ctx:
        raise errors.bad_request(
            f"This model's maximum context length is {engine.n_ctx} tokens. However, you requested "
            f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in the {source}, {max_tokens} for "
            "the completion). Reduce the length of the prompt or max_tokens.",
            param="max_tokens",
            code="context_length_exceeded",
        )


def check_supported(parsed: CompletionRequest | ChatCompletionRequest, engine: Engine) -> None:
    if parsed.use_beam_search:
        raise errors.parameter_not_supported(
            ["body", "use_beam_search"],
            True,
            "use_beam_search is not supported by this server's engine; use best_of instead.",
        )
    best_of = parsed.best_of
    if best_of is not None and best_of < parsed.n:
        raise errors.validation_error(
            f"best_of ({best_of}) must be greater than or equal to n ({parsed.n}).",
            param="best_of",
            details=[{"loc": ["body", "best_of"], "msg": "must be >= n", "type": "value_error"}],
        )
    if best_of is not None and best_of > 1 and parsed.stream:
        raise errors.validation_error(
            "best_of cannot be used with stream: candidates are ranked after they are all generated.",
            param="best_of",
            details=[{"loc": ["body", "best_of"], "msg": "not streamable", "type": "value_error"}],
        )
    check_token_budget(max(parsed.n, best_of or 1), parsed.max_tokens, "n (or best_of) * max_tokens",
                       ["max_tokens"])
    for token_id in parsed.stop_token_ids or ():
        if not 0 <= token_id < engine.n_vocab:
            raise errors.validation_error(
                f"stop_token_ids contains {token_id}, outside the vocabulary (0..{engine.n_vocab - 1}).",
                param="stop_token_ids",
                details=[{"loc": ["body", "stop_token_ids"], "msg": "unknown token", "type": "value_error"}],
            )
