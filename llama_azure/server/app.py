"""The Starlette application: routes, validation, quotas, content filter and response shapes.

Every answer, errors included, carries request ids and ``x-ratelimit-remaining-*`` headers (added by
:class:`AzureHeadersMiddleware`). Every failure is answered with an Azure-shaped body; an unexpected
exception is logged and answered 500 as a last resort, and never stops the server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import errors
from .auth import Authenticator, KeyValidator, TokenValidator
from .content_filter import Blocklist
from .engine import Candidate, CandidateDone, Engine, GenerationDone, GenerationFailed, SamplingParams, TokenEvent
from .errors import ApiError
from .openapi import openapi_document
from .quota import QuotaExceeded, QuotaLimiter, Reservation
from .schemas import (
    ChatCompletionRequest,
    CompletionRequest,
    InferenceChatCompletionRequest,
    ScoreRequest,
)

if TYPE_CHECKING:
    from .identity import EntraIdentity

log = logging.getLogger("llama_azure.server")

API_VERSIONS = ("2024-05-01-preview", "2025-04-01")
DEFAULT_DEPLOYMENT = "default"
MAX_TOTAL_TOKENS = 8192  # n (or best_of) * max_tokens, per request
MAX_BODY_BYTES = 4 * 1024 * 1024

ExtraMode = Literal["error", "drop", "pass-through"]
_Model = TypeVar("_Model", bound=BaseModel)


@dataclass
class ServerConfig:
    """Everything ``llama-azure serve`` can set, except the model itself."""

    api_keys: Sequence[str]
    model_name: str
    deployments: Sequence[str] = ()
    rpm: int = 1000
    tpm: int = 200_000
    quota_window_s: float = 60.0
    blocklist: Sequence[str] = ()
    token_validators: Sequence[TokenValidator] = field(default_factory=list)
    # ``--entra``: validates Entra ID bearer tokens and serves the managed-identity token endpoint.
    identity: EntraIdentity | None = None

    def __repr__(self) -> str:  # never show the keys
        return (
            f"ServerConfig(model_name={self.model_name!r}, deployments={list(self.deployments)!r}, "
            f"rpm={self.rpm}, tpm={self.tpm}, blocklist=<{len(self.blocklist)} words>)"
        )


class AzureHeadersMiddleware:
    """Adds request ids and the remaining-quota headers to every response, whatever produced it."""

    def __init__(self, app: ASGIApp, server: ReferenceServerApp) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        headers = Headers(scope=scope)
        client_request_id = headers.get("x-ms-client-request-id")
        deployment = self.server.deployment_for_headers(headers)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["x-request-id"] = request_id
                out["apim-request-id"] = request_id
                out["x-ms-request-id"] = request_id
                if client_request_id:
                    out["x-ms-client-request-id"] = client_request_id[:256]
                remaining = self.server.limiter.remaining(deployment)
                if "x-ratelimit-remaining-requests" not in out:
                    out["x-ratelimit-remaining-requests"] = str(remaining.requests)
                if "x-ratelimit-remaining-tokens" not in out:
                    out["x-ratelimit-remaining-tokens"] = str(remaining.tokens)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body, status_code=error.status, headers=error.response_headers())


def _request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "unknown"))


Handler = Callable[[Request], Awaitable[Response]]


def _guarded(handler: Handler) -> Handler:
    """The edge: every exception becomes an Azure-shaped answer."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc)
        except Exception:
            log.exception("unexpected error answering %s %s", request.method, request.url.path)
            return error_response(errors.internal_error(_request_id(request)))

    endpoint.__name__ = handler.__name__
    return endpoint


_UNION_TAG = re.compile(r"^(?:str|int|float|bool|list|dict|none|constrained-\w+)$|[\[\-]")


def _field_name(loc: Sequence[Any]) -> str:
    """``("stop", "list[constrained-str]", 3)`` -> ``"stop.3"``: pydantic's union member tags are dropped."""
    parts = [str(p) for p in loc if isinstance(p, int) or not _UNION_TAG.search(str(p))]
    return ".".join(parts) or "body"


def _validation_error(exc: ValidationError) -> ApiError:
    details = [{"loc": ["body", *err["loc"]], "msg": err["msg"], "type": err["type"]} for err in exc.errors()]
    first = exc.errors()[0]
    name = _field_name(first["loc"])
    return errors.validation_error(f"Invalid value for '{name}': {first['msg']}", param=name, details=details)


def _chunk_logprobs(entries: Sequence[Any]) -> dict[str, Any]:
    return {
        "text_offsets": [e.offset for e in entries],
        "token_logprobs": [e.logprob for e in entries],
        "tokens": [e.token for e in entries],
        "top_logprobs": [e.top for e in entries],
    }


@dataclass
class _Prepared:
    """A validated generation request, ready for the engine."""

    kind: Literal["chat", "text"]
    prompt_tokens: list[int]
    params: SamplingParams
    stream: bool
    deployment: str


class ReferenceServerApp:
    """Builds the ASGI app around one :class:`Engine`."""

    def __init__(self, config: ServerConfig, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        validators: list[TokenValidator] = [KeyValidator(config.api_keys), *config.token_validators]
        if config.identity is not None:
            validators.append(config.identity)
        self.authenticator = Authenticator(validators)
        self.limiter = QuotaLimiter(config.rpm, config.tpm, window_s=config.quota_window_s)
        self.blocklist = Blocklist(config.blocklist)
        self.deployments = tuple(config.deployments)
        self._background: set[asyncio.Task[None]] = set()
        self._openapi: dict[str, Any] | None = None

    # -- shared request plumbing ---------------------------------------------------------------------

    def deployment_for_headers(self, headers: Mapping[str, str]) -> str:
        name = headers.get("azureml-model-deployment")
        if name and name in self.deployments:
            return name
        return self.deployments[0] if self.deployments else DEFAULT_DEPLOYMENT

    def _authorize(self, request: Request) -> str:
        """Authenticate, then pick the deployment; returns the deployment name."""
        self.authenticator.authenticate(request.headers)
        name = request.headers.get("azureml-model-deployment")
        if name is not None and self.deployments and name not in self.deployments:
            raise errors.not_found(
                f"The deployment '{name[:100]}' was not found on this endpoint. "
                f"Deployments: {', '.join(self.deployments)}."
            )
        return self.deployment_for_headers(request.headers)

    @staticmethod
    def _check_api_version(request: Request) -> None:
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

    @staticmethod
    async def _json_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise errors.nested(413, "RequestTooLarge", f"The request body exceeds {MAX_BODY_BYTES} bytes.")
        if not raw.strip():
            raise errors.bad_request("The request body is empty; a JSON object is required.", param="body")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise errors.bad_request(f"The request body is not valid JSON: {exc}", param="body") from None
        if not isinstance(body, dict):
            raise errors.bad_request("The request body must be a JSON object.", param="body")
        return body

    @staticmethod
    def _extra_mode(request: Request) -> ExtraMode:
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

    @staticmethod
    def _parse(model: type[_Model], body: dict[str, Any]) -> _Model:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise _validation_error(exc) from None

    def _admit(self, deployment: str, tokens: int) -> Reservation:
        try:
            return self.limiter.admit(deployment, tokens)
        except QuotaExceeded as exc:
            raise errors.rate_limited(exc.retry_after_s, exc.message) from None

    def _check_prompt_length(self, prompt_tokens: int, max_tokens: int, field_name: str) -> None:
        if prompt_tokens >= self.engine.n_ctx:
            raise errors.bad_request(
                f"This model's maximum context length is {self.engine.n_ctx} tokens, but the {field_name} "
                f"has {prompt_tokens} tokens. Shorten the {field_name}.",
                param=field_name,
                code="context_length_exceeded",
            )
        if prompt_tokens + max_tokens > self.engine.n_ctx:
            raise errors.bad_request(
                f"This model's maximum context length is {self.engine.n_ctx} tokens. However, you requested "
                f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in the {field_name}, {max_tokens} for "
                "the completion). Reduce the length of the prompt or max_tokens.",
                param="max_tokens",
                code="context_length_exceeded",
            )

    # -- Llama API and Model Inference generation ------------------------------------------------------

    async def _prepare(
        self,
        request: Request,
        model: type[CompletionRequest | ChatCompletionRequest],
        *,
        api_version: bool,
    ) -> tuple[_Prepared, CompletionRequest | ChatCompletionRequest]:
        deployment = self._authorize(request)
        if api_version:
            self._check_api_version(request)
        mode = self._extra_mode(request)
        body = await self._json_body(request)
        parsed = self._parse(model, body)
        extras = parsed.extra_fields()
        if extras and mode == "error":
            names = sorted(extras)
            raise errors.parameter_not_supported(
                ["body", names[0]],
                extras[names[0]],
                f"Extra parameters {names} are not allowed when extra-parameters is not set or set to be "
                "'error'. Set extra-parameters to 'drop' or 'pass-through' to send them.",
            )
        self._check_supported(parsed)

        if isinstance(parsed, CompletionRequest):
            kind: Literal["chat", "text"] = "text"
            prompt_text = parsed.prompt
            field_name = "prompt"
            tokens = self.engine.tokenize(prompt_text)
        else:
            kind = "chat"
            field_name = "messages"
            messages = [{"role": m.role, "content": m.text()} for m in parsed.messages]
            prompt_text = "\n".join(m["content"] for m in messages)
            tokens = self.engine.tokenize(self.engine.chat_prompt(messages), special=True)
        if self.blocklist.contains(prompt_text):
            raise errors.content_filter(param="prompt")
        self._check_prompt_length(len(tokens), parsed.max_tokens, field_name)

        frequency_penalty = getattr(parsed, "frequency_penalty", 0.0)
        params = SamplingParams(
            max_tokens=parsed.max_tokens,
            temperature=parsed.temperature,
            top_p=parsed.top_p,
            presence_penalty=parsed.presence_penalty,
            frequency_penalty=float(frequency_penalty),
            seed=parsed.seed,
            stop=tuple(parsed.stop_list()),
            stop_token_ids=tuple(parsed.stop_token_ids or ()),
            ignore_eos=parsed.ignore_eos,
            skip_special_tokens=parsed.skip_special_tokens,
            logprobs=parsed.logprobs,
            n=parsed.n,
            best_of=parsed.best_of,
            blocked=self.blocklist.words,
        )
        prepared = _Prepared(kind, tokens, params, parsed.stream, deployment)
        return prepared, parsed

    def _check_supported(self, parsed: CompletionRequest | ChatCompletionRequest) -> None:
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
        candidates = max(parsed.n, best_of or 1)
        if candidates * parsed.max_tokens > MAX_TOTAL_TOKENS:
            raise errors.validation_error(
                f"n (or best_of) * max_tokens = {candidates * parsed.max_tokens} exceeds this server's "
                f"limit of {MAX_TOTAL_TOKENS} tokens per request.",
                param="max_tokens",
                details=[{"loc": ["body", "max_tokens"], "msg": "too many tokens", "type": "value_error"}],
            )
        for token_id in parsed.stop_token_ids or ():
            if not 0 <= token_id < self.engine.n_vocab:
                raise errors.validation_error(
                    f"stop_token_ids contains {token_id}, outside the vocabulary (0..{self.engine.n_vocab - 1}).",
                    param="stop_token_ids",
                    details=[{"loc": ["body", "stop_token_ids"], "msg": "unknown token", "type": "value_error"}],
                )
        if isinstance(parsed, InferenceChatCompletionRequest):
            fmt = parsed.response_format
            if fmt is not None and fmt.type != "text":
                raise errors.parameter_not_supported(
                    ["body", "response_format"],
                    fmt.type,
                    f"response_format '{fmt.type}' is not supported by this model.",
                )
            if parsed.tools:
                raise errors.parameter_not_supported(["body", "tools"], None, "tools are not supported by this model.")
            choice = parsed.tool_choice
            if choice is not None and choice not in ("none", "auto"):
                raise errors.parameter_not_supported(
                    ["body", "tool_choice"], choice, "tool_choice is not supported by this model."
                )

    async def _generation_route(
        self,
        request: Request,
        model: type[CompletionRequest | ChatCompletionRequest],
        *,
        api_version: bool,
    ) -> Response:
        prepared, _ = await self._prepare(request, model, api_version=api_version)
        params = prepared.params
        reservation = self._admit(
            prepared.deployment, len(prepared.prompt_tokens) + params.max_tokens * params.candidates
        )
        try:
            generation = self.engine.submit(prepared.prompt_tokens, params)
        except BaseException:
            reservation.settle(0)
            raise
        response_id = ("chatcmpl-" if prepared.kind == "chat" else "cmpl-") + uuid.uuid4().hex
        created = int(time.time())
        if prepared.stream:
            stream = self._sse(prepared, generation, reservation, response_id, created)
            return StreamingResponse(
                stream,
                media_type="text/event-stream",
                headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
            )
        done = await self._wait(request, generation, reservation)
        if done is None:  # the client went away; nobody reads this
            return Response(status_code=499)
        return JSONResponse(self._completion_body(prepared, done, response_id, created))

    async def _wait(self, request: Request, generation: Any, reservation: Reservation) -> GenerationDone | None:
        """The result, or None when the client disconnects first (the generation is then cancelled)."""
        result = asyncio.ensure_future(generation.result())
        disconnect = asyncio.ensure_future(self._disconnected(request))
        try:
            await asyncio.wait({result, disconnect}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            disconnect.cancel()
            if not result.done():
                generation.cancel()
                self._settle_later(result, reservation)
        if not result.done():
            return None
        try:
            done: GenerationDone = result.result()
        except BaseException:
            reservation.settle(0)
            raise
        reservation.settle(done.prompt_tokens + done.completion_tokens)
        return done

    @staticmethod
    async def _disconnected(request: Request) -> None:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                return

    def _settle_later(self, result: asyncio.Future[GenerationDone], reservation: Reservation) -> None:
        async def settle() -> None:
            try:
                done = await result
                reservation.settle(done.prompt_tokens + done.completion_tokens)
            except BaseException:
                reservation.settle(0)

        task = asyncio.ensure_future(settle())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _model_name(self) -> str:
        return self.config.model_name

    @staticmethod
    def _ranked(prepared: _Prepared, candidates: list[Candidate]) -> list[Candidate]:
        if prepared.params.candidates > prepared.params.n:
            candidates = sorted(candidates, key=lambda c: c.cumulative_logprob, reverse=True)
        return candidates[: prepared.params.n]

    def _completion_body(
        self, prepared: _Prepared, done: GenerationDone, response_id: str, created: int
    ) -> dict[str, Any]:
        choices: list[dict[str, Any]] = []
        want_logprobs = prepared.params.logprobs is not None
        for index, candidate in enumerate(self._ranked(prepared, done.candidates)):
            logprobs = candidate.logprobs_body() if want_logprobs else None
            if prepared.kind == "chat":
                choice: dict[str, Any] = {
                    "index": index,
                    "message": {"role": "assistant", "content": candidate.text},
                    "finish_reason": candidate.finish_reason,
                }
                if want_logprobs:
                    choice["logprobs"] = logprobs
            else:
                choice = {
                    "index": index,
                    "text": candidate.text,
                    "finish_reason": candidate.finish_reason,
                    "logprobs": logprobs,
                }
            choices.append(choice)
        return {
            "id": response_id,
            "object": "chat.completion" if prepared.kind == "chat" else "text_completion",
            "created": created,
            "model": self._model_name(),
            "choices": choices,
            "usage": _usage(done.prompt_tokens, done.completion_tokens),
        }

    async def _sse(
        self,
        prepared: _Prepared,
        generation: Any,
        reservation: Reservation,
        response_id: str,
        created: int,
    ) -> AsyncIterator[bytes]:
        """The one streaming path: one ``data:`` event per released token, then ``[DONE]``."""
        chat = prepared.kind == "chat"
        n = prepared.params.n
        want_logprobs = prepared.params.logprobs is not None
        pending: dict[int, list[Any]] = {}

        def chunk(index: int, text: str | None, finish: str | None, extra: dict[str, Any] | None = None) -> bytes:
            choice: dict[str, Any] = {"index": index}
            if chat:
                if text is None:
                    choice["delta"] = {}
                elif extra and extra.get("role"):
                    choice["delta"] = {"role": "assistant", "content": text}
                else:
                    choice["delta"] = {"content": text}
            else:
                choice["text"] = text or ""
            entries = pending.pop(index, [])
            if want_logprobs:
                choice["logprobs"] = _chunk_logprobs(entries) if entries else None
            elif not chat:
                choice["logprobs"] = None
            choice["finish_reason"] = finish
            body: dict[str, Any] = {
                "id": response_id,
                "object": "chat.completion.chunk" if chat else "text_completion",
                "created": created,
                "model": self._model_name(),
                "choices": [choice],
            }
            if extra and "usage" in extra:
                body["usage"] = extra["usage"]
            return b"data: " + json.dumps(body, ensure_ascii=False).encode("utf-8") + b"\n\n"

        finished = False
        try:
            if chat:
                for index in range(n):
                    yield chunk(index, "", None, {"role": True})
            last_done: Candidate | None = None
            async for event in generation.events():
                if isinstance(event, TokenEvent):
                    pending.setdefault(event.candidate, []).extend(event.logprobs)
                    if event.text:
                        yield chunk(event.candidate, event.text, None)
                elif isinstance(event, CandidateDone):
                    if event.candidate.index < n - 1:
                        pending.pop(event.candidate.index, None)  # tokens of text cut by a stop
                        yield chunk(event.candidate.index, None if chat else "", event.candidate.finish_reason)
                    else:
                        last_done = event.candidate
                elif isinstance(event, GenerationDone):
                    finished = True
                    reservation.settle(event.prompt_tokens + event.completion_tokens)
                    usage = _usage(event.prompt_tokens, event.completion_tokens)
                    index = last_done.index if last_done else n - 1
                    reason = last_done.finish_reason if last_done else "stop"
                    pending.pop(index, None)
                    yield chunk(index, None if chat else "", reason, {"usage": usage})
                    yield b"data: [DONE]\n\n"
                elif isinstance(event, GenerationFailed):
                    finished = True
                    reservation.settle(len(prepared.prompt_tokens))
                    log.error("generation failed mid-stream: %r", event.error)
                    error = {"error": {"code": "InternalServerError", "message": "Generation failed.", "status": 500}}
                    yield b"data: " + json.dumps(error).encode() + b"\n\n"
                    yield b"data: [DONE]\n\n"
        finally:
            if not finished:
                # The client went away (or the server is stopping): stop generating now.
                generation.cancel()
                self._settle_later(asyncio.ensure_future(generation.result()), reservation)

    # -- routes ----------------------------------------------------------------------------------------

    async def llama_completions(self, request: Request) -> Response:
        return await self._generation_route(request, CompletionRequest, api_version=False)

    async def llama_chat_completions(self, request: Request) -> Response:
        return await self._generation_route(request, ChatCompletionRequest, api_version=False)

    async def inference_completions(self, request: Request) -> Response:
        return await self._generation_route(request, CompletionRequest, api_version=True)

    async def inference_chat_completions(self, request: Request) -> Response:
        return await self._generation_route(request, InferenceChatCompletionRequest, api_version=True)

    async def info(self, request: Request) -> Response:
        self._authorize(request)
        self._check_api_version(request)
        return JSONResponse(
            {
                "model_name": self._model_name(),
                "model_type": "chat-completions",
                "model_provider_name": "Meta",
            }
        )

    async def score(self, request: Request) -> Response:
        """The managed-endpoint legacy format."""
        deployment = self._authorize(request)
        body = await self._json_body(request)
        parsed = self._parse(ScoreRequest, body)
        data = parsed.input_data
        p = data.parameters
        temperature = p.temperature if p.do_sample else 0.0
        base = SamplingParams(
            max_tokens=p.max_new_tokens,
            temperature=temperature,
            top_p=p.top_p,
            seed=p.seed,
            blocked=self.blocklist.words,
        )
        prompts: list[list[int]]
        texts: list[str]
        chat = isinstance(data.input_string[0], BaseModel)
        if chat:
            messages = [{"role": m.role, "content": m.text()} for m in data.input_string if isinstance(m, BaseModel)]
            texts = ["\n".join(m["content"] for m in messages)]
            prompts = [self.engine.tokenize(self.engine.chat_prompt(messages), special=True)]
        else:
            texts = [s for s in data.input_string if isinstance(s, str)]
            prompts = [self.engine.tokenize(t) for t in texts]
        for tokens in prompts:
            self._check_prompt_length(len(tokens), p.max_new_tokens, "input_string")
        blocked_input = [self.blocklist.contains(t) for t in texts]
        if chat and blocked_input[0]:
            return JSONResponse({})  # the content-safety wrapper's answer to a blocked input
        reservation = self._admit(deployment, sum(len(t) for t in prompts) + p.max_new_tokens * len(prompts))
        outputs: list[str] = []
        used = 0
        try:
            for tokens, blocked in zip(prompts, blocked_input, strict=True):
                if blocked:
                    outputs.append("")
                    continue
                generation = self.engine.submit(tokens, base)
                done = await self._wait(request, generation, _NullReservation())
                if done is None:
                    return Response(status_code=499)
                used += done.prompt_tokens + done.completion_tokens
                candidate = done.candidates[0]
                outputs.append("" if candidate.finish_reason == "content_filter" else candidate.text)
        finally:
            reservation.settle(used)
        if chat:
            return JSONResponse({"output": outputs[0]})
        return JSONResponse([{"0": text} for text in outputs])

    async def stats(self, request: Request) -> Response:
        """``GET /_server/stats``: the engine's counters (not part of the Azure surface)."""
        self._authorize(request)
        s = self.engine.stats
        return JSONResponse(
            {
                "queued": s.queued,
                "active_generations": s.active_generations,
                "tokens_generated": s.tokens_generated,
                "generations_completed": s.generations_completed,
                "generations_cancelled": s.generations_cancelled,
                "last_generation_tokens": s.last_generation_tokens,
                **(self.config.identity.stats() if self.config.identity is not None else {}),
            }
        )

    async def openapi(self, request: Request) -> Response:
        if self._openapi is None:
            self._openapi = openapi_document(self._model_name())
        return JSONResponse(self._openapi)

    # -- assembly --------------------------------------------------------------------------------------

    def build(self) -> Starlette:
        g = _guarded
        routes = [
            Route("/v1/completions", g(self.llama_completions), methods=["POST"]),
            Route("/v1/chat/completions", g(self.llama_chat_completions), methods=["POST"]),
            Route("/completions", g(self.inference_completions), methods=["POST"]),
            Route("/chat/completions", g(self.inference_chat_completions), methods=["POST"]),
            Route("/info", g(self.info), methods=["GET"]),
            Route("/score", g(self.score), methods=["POST"]),
            Route("/openapi.json", g(self.openapi), methods=["GET"]),
            Route("/swagger.json", g(self.openapi), methods=["GET"]),
            Route("/_server/stats", g(self.stats), methods=["GET"]),
        ]
        if self.config.identity is not None:
            from .identity import TOKEN_PATH

            routes.append(Route(TOKEN_PATH, g(self.config.identity.token_endpoint), methods=["GET"]))

        async def http_error(request: Request, exc: Exception) -> Response:
            status = exc.status_code if isinstance(exc, HTTPException) else 500
            if status == 404:
                return error_response(errors.not_found(f"No route for {request.method} {request.url.path}."))
            if status == 405:
                return error_response(errors.method_not_allowed(request.method, request.url.path))
            return error_response(errors.nested(status, str(status), "The request could not be processed."))

        async def server_error(request: Request, exc: Exception) -> Response:
            log.error("unhandled error: %r", exc)
            return error_response(errors.internal_error(_request_id(request)))

        app = Starlette(
            routes=routes,
            exception_handlers={HTTPException: http_error, Exception: server_error},
        )
        app.add_middleware(AzureHeadersMiddleware, server=self)
        return app


class _NullReservation(Reservation):
    def __init__(self) -> None:
        self.settled = False

    def settle(self, actual_tokens: int) -> None:
        self.settled = True


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def create_app(config: ServerConfig, engine: Engine) -> Starlette:
    """The ASGI app for ``config`` around a loaded ``engine``."""
    return ReferenceServerApp(config, engine).build()
