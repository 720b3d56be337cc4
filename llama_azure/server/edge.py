"""The edge of the app, which every answer passes through: request ids and remaining-quota headers on
every response, and every exception turned into an Azure-shaped error body."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import errors
from .errors import ApiError

if TYPE_CHECKING:
    from .app import ReferenceServerApp

log = logging.getLogger("llama_azure.server")

Handler = Callable[[Request], Awaitable[Response]]


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
