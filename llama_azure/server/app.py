"""The Starlette application: :class:`ServerConfig`, the route table and :func:`create_app`.

Every answer, errors included, carries request ids and ``x-ratelimit-remaining-*`` headers (added by
:class:`AzureHeadersMiddleware`). Every failure is answered with an Azure-shaped body; an unexpected
exception is logged and answered 500 as a last resort, and never stops the server.

The pieces live next door: :mod:`.edge` (headers, error answers), :mod:`.request_checks` (api-version,
JSON body, extra-parameters), :mod:`.generation_request` (checks, sampling parameters),
:mod:`.waiting` (disconnects, quota settling), :mod:`.bodies` (response JSON), :mod:`.streaming` (SSE)
and :mod:`.score` (the legacy ``/score`` route).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import bodies, errors, foundry, openai_v1
from .auth import Authenticator, KeyValidator, TokenValidator
from .content_filter import Blocklist
from .edge import AzureHeadersMiddleware, error_response, guarded, http_error, server_error
from .engine import Engine
from .generation_request import MAX_TOTAL_TOKENS, prepare
from .openapi import openapi_document
from .quota import QuotaExceeded, QuotaLimiter, Reservation
from .request_checks import (
    API_VERSIONS,
    MAX_BODY_BYTES,
    ExtraMode,
    check_api_version,
    extra_mode,
    json_body,
    parse,
    reject_extras,
)
from .schemas import ChatCompletionRequest, CompletionRequest, InferenceChatCompletionRequest
from .score import score
from .streaming import sse_events, sse_response
from .waiting import GenerationWaiter

if TYPE_CHECKING:
    from .identity import EntraIdentity

__all__ = [
    "API_VERSIONS",
    "DEFAULT_DEPLOYMENT",
    "MAX_BODY_BYTES",
    "MAX_TOTAL_TOKENS",
    "AzureHeadersMiddleware",
    "ExtraMode",
    "ReferenceServerApp",
    "ServerConfig",
    "create_app",
    "error_response",
]

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

    async def _generation_route(
        self,
        request: Request,
        model: type[CompletionRequest | ChatCompletionRequest],
        *,
        api_version: bool,
        pick_deployment: Callable[[Mapping[str, str], dict[str, Any]], str] | None = None,
    ) -> Response:
        """``pick_deployment``: where the body's ``model`` names the deployment (Foundry and v1 routes)."""
        deployment = self.authorize(request)
        if api_version:
            check_api_version(request)
        mode = extra_mode(request)
        body = await json_body(request)
        if pick_deployment is not None:
            deployment = pick_deployment(request.headers, body)
        parsed = parse(model, body)
        reject_extras(parsed.extra_fields(), mode)
        prepared = prepare(parsed, deployment, self.engine, self.blocklist)
        params = prepared.params
        reservation = self.admit(
            prepared.deployment, len(prepared.prompt_tokens) + params.max_tokens * params.candidates
        )
        try:
            generation = self.engine.submit(prepared.prompt_tokens, params)
        except BaseException:
            reservation.settle(0)
            raise
        response_id = bodies.response_id(prepared)
        created = int(time.time())
        model_name = self.config.model_name
        if prepared.stream:
            return sse_response(
                sse_events(prepared, generation, reservation, self.waiter, response_id, created, model_name)
            )
        done = await self.waiter.result(request, generation, reservation)
        if done is None:  # the client went away; nobody reads this
            return Response(status_code=499)
        return JSONResponse(bodies.completion_body(prepared, done, response_id, created, model_name))

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
        """The managed-endpoint legacy format."""
        return await score(self, request)

    async def stats(self, request: Request) -> Response:
        """``GET /_server/stats``: the engine's counters (not part of the Azure surface)."""
        self.authorize(request)
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
            *foundry.routes(self),
            *openai_v1.routes(self),
        ]
        if self.config.identity is not None:
            from .identity import TOKEN_PATH

            routes.append(Route(TOKEN_PATH, g(self.config.identity.token_endpoint), methods=["GET"]))

        app = Starlette(
            routes=routes,
            exception_handlers={HTTPException: http_error, Exception: server_error},
        )
        app.add_middleware(AzureHeadersMiddleware, server=self)
        return app


def create_app(config: ServerConfig, engine: Engine) -> Starlette:
    """The ASGI app for ``config`` around a loaded ``engine``."""
    return ReferenceServerApp(config, engine).build()
