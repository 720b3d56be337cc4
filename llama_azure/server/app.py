"""The Starlette application: :class:`ServerConfig`, the route table and :func:`create_app`.

Every answer, errors included, carries request ids and ``x-ratelimit-remaining-*`` headers (added by
:class:`AzureHeadersMiddleware`). Every failure is answered with an Azure-shaped body; an unexpected
exception is logged and answered 500 as a last resort, and never stops the server.

The pieces live next door, none of which imports this module: :mod:`.edge` (headers, error answers),
:mod:`.intake` (a request's checks, up to the engine's sampling parameters), :mod:`.answers` (waiting for
a generation, quota settling, response JSON), :mod:`.streaming` (SSE), :mod:`.score` (the legacy ``/score``
format), :mod:`.foundry` and :mod:`.openai_v1` (their routes, given what they need from here).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import answers, errors, foundry, openai_v1
from .answers import GenerationWaiter
from .auth import Authenticator, KeyValidator, TokenValidator
from .content_filter import Blocklist
from .edge import AzureHeadersMiddleware, DeploymentPicker, guarded, http_error, server_error
from .engine import Engine
from .intake import (
    ExtraMode,
    PreparedGeneration,
    check_api_version,
    decode_json,
    extra_mode,
    parse,
    prepare,
    read_body,
    reject_extras,
)
from .limits import BODY_TIMEOUT_S
from .openapi import openapi_document
from .prompt_thread import PromptThread
from .quota import QuotaExceeded, QuotaLimiter, Reservation
from .schemas import ChatCompletionRequest, CompletionRequest, InferenceChatCompletionRequest
from .score import prepare_score
from .streaming import sse_events, sse_response

if TYPE_CHECKING:
    from .identity import EntraIdentity

DEFAULT_DEPLOYMENT = "default"


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
    # ``--body-timeout``: reading a body takes at most this long (408 after).
    body_timeout_s: float = BODY_TIMEOUT_S

    def __repr__(self) -> str:  # never show the keys
        return (
            f"ServerConfig(model_name={self.model_name!r}, deployments={list(self.deployments)!r}, "
            f"rpm={self.rpm}, tpm={self.tpm}, blocklist=<{len(self.blocklist)} words>)"
        )


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
        self.waiter = GenerationWaiter()
        self.prompts = PromptThread()
        self._openapi: dict[str, Any] | None = None

    # -- what every route shares -----------------------------------------------------------------------

    def deployment_for_headers(self, headers: Mapping[str, str]) -> str:
        name = headers.get("azureml-model-deployment")
        if name and name in self.deployments:
            return name
        return self.deployments[0] if self.deployments else DEFAULT_DEPLOYMENT

    def authorize(self, request: Request) -> str:
        """Authenticate, then pick the deployment; returns the deployment name."""
        self.authenticator.authenticate(request.headers)
        name = request.headers.get("azureml-model-deployment")
        if name is not None and self.deployments and name not in self.deployments:
            raise errors.not_found(
                f"The deployment '{name[:100]}' was not found on this endpoint. "
                f"Deployments: {', '.join(self.deployments)}."
            )
        return self.deployment_for_headers(request.headers)

    def model_names(self) -> tuple[str, ...]:
        """What a request's ``model`` may name on the Foundry and v1 routes: the deployments (or, without
        ``--deployment``, the default deployment and the model's own name)."""
        return self.deployments or (DEFAULT_DEPLOYMENT, self.config.model_name)

    def admit(self, deployment: str, tokens: int) -> Reservation:
        try:
            return self.limiter.admit(deployment, tokens)
        except QuotaExceeded as exc:
            raise errors.rate_limited(exc.retry_after_s, exc.message) from None

    # -- Llama API and Model Inference generation ------------------------------------------------------

    async def generation_route(
        self,
        request: Request,
        model: type[CompletionRequest | ChatCompletionRequest],
        *,
        api_version: bool,
        pick_deployment: DeploymentPicker | None = None,
    ) -> Response:
        """``pick_deployment``: where the body's ``model`` names the deployment (Foundry and v1 routes)."""
        deployment = self.authorize(request)
        if api_version:
            check_api_version(request)
        mode = extra_mode(request)
        raw = await read_body(request, self.config.body_timeout_s)
        prepared = await self.prompts.run(
            self._prepare, raw, model, mode, deployment, request.headers, pick_deployment
        )
        params = prepared.params
        reservation = self.admit(
            prepared.deployment, len(prepared.prompt_tokens) + params.max_tokens * params.candidates
        )
        try:
            generation = self.engine.submit(prepared.prompt_tokens, params)
        except BaseException:
            reservation.settle(0)
            raise
        response_id = answers.response_id(prepared)
        created = int(time.time())
        model_name = self.config.model_name
        if prepared.stream:
            return sse_response(
                sse_events(prepared, generation, reservation, self.waiter, response_id, created, model_name)
            )
        done = await self.waiter.result(request, generation, reservation)
        if done is None:  # the client went away; nobody reads this
            return Response(status_code=499)
        return JSONResponse(answers.completion_body(prepared, done, response_id, created, model_name))

    def _prepare(
        self,
        raw: bytes,
        model: type[CompletionRequest | ChatCompletionRequest],
        mode: ExtraMode,
        deployment: str,
        headers: Mapping[str, str],
        pick_deployment: DeploymentPicker | None,
    ) -> PreparedGeneration:
        """On the prompt thread: decode and validate the body (where it names the deployment, pick it), render
        and tokenize the prompt."""
        body = decode_json(raw)
        if pick_deployment is not None:
            deployment = pick_deployment(headers, body)
        parsed = parse(model, body)
        reject_extras(parsed.extra_fields(), mode)
        return prepare(parsed, deployment, self.engine, self.blocklist)

    # -- routes ----------------------------------------------------------------------------------------

    async def llama_completions(self, request: Request) -> Response:
        return await self.generation_route(request, CompletionRequest, api_version=False)

    async def llama_chat_completions(self, request: Request) -> Response:
        return await self.generation_route(request, ChatCompletionRequest, api_version=False)

    async def inference_completions(self, request: Request) -> Response:
        return await self.generation_route(request, CompletionRequest, api_version=True)

    async def inference_chat_completions(self, request: Request) -> Response:
        return await self.generation_route(request, InferenceChatCompletionRequest, api_version=True)

    async def info(self, request: Request) -> Response:
        self.authorize(request)
        check_api_version(request)
        return JSONResponse(
            {
                "model_name": self.config.model_name,
                "model_type": "chat-completions",
                "model_provider_name": "Meta",
            }
        )

    async def score(self, request: Request) -> Response:
        """``POST /score``, the managed-endpoint legacy format: one generation per input string, one quota
        reservation for them all."""
        deployment = self.authorize(request)
        raw = await read_body(request, self.config.body_timeout_s)
        job = await self.prompts.run(prepare_score, self.engine, self.blocklist, raw)
        if job.chat and job.blocked_input[0]:
            return JSONResponse({})  # the content-safety wrapper's answer to a blocked input
        prompts = job.prompts
        reservation = self.admit(deployment, sum(len(t) for t in prompts) + job.params.max_tokens * len(prompts))
        outputs: list[str] = []
        used = 0
        try:
            for tokens, blocked in zip(prompts, job.blocked_input, strict=True):
                if blocked:
                    outputs.append("")
                    continue
                done = await self.waiter.result(request, self.engine.submit(tokens, job.params), None)
                if done is None:
                    return Response(status_code=499)
                used += done.total_tokens
                candidate = done.candidates[0]
                outputs.append("" if candidate.finish_reason == "content_filter" else candidate.text)
        finally:
            reservation.settle(used)
        return JSONResponse(job.answer(outputs))

    async def stats(self, request: Request) -> Response:
        """``GET /_server/stats``: the engine's counters (not part of the Azure surface)."""
        self.authorize(request)
        identity = self.config.identity.stats() if self.config.identity is not None else {}
        return JSONResponse({**asdict(self.engine.stats), **identity})

    async def openapi(self, request: Request) -> Response:
        if self._openapi is None:
            self._openapi = openapi_document(self.config.model_name)
        return JSONResponse(self._openapi)

    # -- assembly --------------------------------------------------------------------------------------

    def build(self) -> Starlette:
        g = guarded
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
            *foundry.routes(self.generation_route, self.authorize, self.model_names, self.info),
            *openai_v1.routes(self.generation_route, self.authorize, self.model_names),
        ]
        if self.config.identity is not None:
            from .identity import TOKEN_PATH

            routes.append(Route(TOKEN_PATH, g(self.config.identity.token_endpoint), methods=["GET"]))

        app = Starlette(
            routes=routes,
            exception_handlers={HTTPException: http_error, Exception: server_error},
        )
        app.add_middleware(AzureHeadersMiddleware, deployment_for=self.deployment_for_headers, limiter=self.limiter)
        return app


def create_app(config: ServerConfig, engine: Engine) -> Starlette:
    """The ASGI app for ``config`` around a loaded ``engine``."""
    return ReferenceServerApp(config, engine).build()
