"""The edge of the app, which every answer passes through: request ids and remaining-quota headers on
every response, and every exception turned into an Azure-shaped error body; and the types of what route
modules (:mod:`.foundry`, :mod:`.openai_v1`) are handed by the app, so that none of them imports it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import errors
from .errors import ApiError
from .quota import QuotaLimiter
from .schemas import ChatCompletionRequest, CompletionRequest

log = logging.getLogger("llama_azure.server")

Handler = Callable[[Request], Awaitable[Response]]
DeploymentResolver = Callable[[Mapping[str, str]], str]
"""The deployment a request's headers name (the default one when they name none)."""
DeploymentPicker = Callable[[Mapping[str, str], dict[str, Any]], str]
"""Where the body's ``model`` names the deployment (Foundry and v1 routes): headers and body to its name."""


class GenerationRoute(Protocol):
    """The app's completion and chat route, parametrized by the body's schema."""

    async def __call__(self, request: Request, model: type[CompletionRequest | ChatCompletionRequest], *,
                       api_version: bool, pick_deployment: DeploymentPicker | None = None) -> Response: ...


class AzureHeadersMiddleware:
    """Adds request ids and the remaining-quota headers to every response, whatever produced it."""

    def __init__(self, app: ASGIApp, deployment_for: DeploymentResolver, limiter: QuotaLimiter) -> None:
        self.app = app
        self.deployment_for = deployment_for
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        headers = Headers(scope=scope)
        client_request_id = headers.get("x-ms-client-request-id")
        deployment = self.deployment_for(headers)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["x-request-id"] = request_id
                out["apim-request-id"] = request_id
                out["x-ms-request-id"] = request_id
                if client_request_id:
                    out["x-ms-client-request-id"] = client_request_id[:256]
                remaining = self.limiter.remaining(deployment)
                if "x-ratelimit-remaining-requests" not in out:
                    out["x-ratelimit-remaining-requests"] = str(remaining.requests)
                if "x-ratelimit-remaining-tokens" not in out:
                    out["x-ratelimit-remaining-tokens"] = str(remaining.tokens)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body, status_code=error.status, headers=error.response_headers())


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "unknown"))


def guarded(handler: Handler) -> Handler:
    """The edge: every exception becomes an Azure-shaped answer."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc)
        except Exception:
            log.exception("unexpected error answering %s %s", request.method, request.url.path)
            return error_response(errors.internal_error(request_id(request)))

    endpoint.__name__ = handler.__name__
    return endpoint


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (no route, wrong method) in the Azure shape."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return error_response(errors.not_found(f"No route for {request.method} {request.url.path}."))
    if status == 405:
        return error_response(errors.method_not_allowed(request.method, request.url.path))
    return error_response(errors.nested(status, str(status), "The request could not be processed."))


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error: %r", exc)
    return error_response(errors.internal_error(request_id(request)))
