"""The OpenAI-compatible v1 surface: ``/openai/v1/chat/completions``, ``/openai/v1/completions`` and
``GET /openai/v1/models``, as Azure OpenAI and Foundry resources serve it for Llama deployments.

What differs from the other routes, as on Azure:

- no ``api-version`` (one in the query is ignored);
- the body's ``model`` is the deployment name: missing, it is ``400 "you must provide a model parameter"``;
  unknown, ``404 DeploymentNotFound``;
- credentials only as ``api-key: KEY`` or ``Authorization: Bearer KEY-or-token`` (a bare key: 401 saying so);
- every error in the OpenAI shape ``{"error": {"message", "type", "param", "code"}}``, and never a 422:
  what the other routes answer 422 is a 400 here;
- chat ``temperature`` in 0..2 (default 1), as in the OpenAI API;
- chat ``max_completion_tokens``, OpenAI's newer name of ``max_tokens`` (one or the other, not both).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import Field, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import errors
from .auth import bearer_credential
from .edge import GenerationRoute, Handler, guarded
from .errors import ApiError
from .schemas import CompletionRequest, InferenceChatCompletionRequest

PREFIX = "/openai/v1"


class OpenAIChatCompletionRequest(InferenceChatCompletionRequest):
    """``POST /openai/v1/chat/completions``: the Model Inference body with the OpenAI temperature range and
    ``max_completion_tokens``."""

    temperature: float = Field(1.0, ge=0.0, le=2.0)
    max_completion_tokens: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _one_token_limit(self) -> OpenAIChatCompletionRequest:
        """``max_completion_tokens`` is ``max_tokens`` by its OpenAI name: it sets the same limit."""
        if self.max_completion_tokens is None:
            return self
        if "max_tokens" in self.model_fields_set:
            raise ValueError("max_tokens and max_completion_tokens set the same limit: pass one of them")
        self.max_tokens = self.max_completion_tokens
        return self


def openai_error(status: int, message: str, *, code: str | None = None, param: str | None = None,
                 headers: Mapping[str, str] | None = None) -> ApiError:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return ApiError(status, body, headers, error_code=code)


def as_openai_error(error: ApiError) -> ApiError:
    """The same failure in the OpenAI shape (nested or flat Azure bodies in, ``{"error": {...}}`` out)."""
    inner = error.body.get("error")
    fields: Mapping[str, Any] = inner if isinstance(inner, Mapping) else error.body
    message = fields.get("message")
    if not isinstance(message, str) or not message:
        message = "The request could not be processed."
    param = fields.get("param")
    detail = fields.get("detail")
    if param is None and isinstance(detail, Mapping) and isinstance(detail.get("loc"), list) and detail["loc"]:
        param = str(detail["loc"][-1])
    code = fields.get("code")
    status = 400 if error.status == 422 else error.status
    headers = {k: v for k, v in error.headers.items() if k.lower() != "x-ms-error-code"}
    return openai_error(status, message, code=None if code is None else str(code),
                        param=None if param is None else str(param), headers=headers)


def in_openai_shape(handler: Handler) -> Handler:
    """Re-raise the handler's errors in the OpenAI shape (``guarded`` then answers them)."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            raise as_openai_error(exc) from None

    endpoint.__name__ = handler.__name__
    return endpoint


def check_credential_headers(headers: Mapping[str, str]) -> None:
    """This surface reads ``api-key`` or a ``Bearer`` authorization; a bare key in Authorization is refused.

    An ``Authorization`` header that is not ``Bearer <key>`` is refused even beside an ``api-key``: the
    authenticator (shared with the routes that take a bare key) would otherwise try it as a key.
    """
    authorization = headers.get("authorization")
    if authorization is not None:
        if bearer_credential(authorization) is None:
            raise errors.nested(
                401, "Unauthorized",
                "The Authorization header of /openai/v1 takes 'Bearer <key>' (or an access token as "
                "'Bearer <token>'); a bare key is not accepted here. Send 'Authorization: Bearer <key>' or "
                "'api-key: <key>'.", headers={"www-authenticate": 'Bearer realm="llama-azure"'})
        return
    if not headers.get("api-key"):
        raise errors.unauthorized()


def deployment_for(known: tuple[str, ...], body: Mapping[str, Any]) -> str:
    name = body.get("model")
    if name is None or name == "":
        raise openai_error(400, "you must provide a model parameter", param="model")
    if not isinstance(name, str):
        raise openai_error(400, "Invalid type for 'model': expected a string.", code="invalid_type", param="model")
    if name not in known:
        raise openai_error(
            404,
            "The API deployment for this resource does not exist. If you created the deployment within the last "
            "5 minutes, please wait a moment and try again.",
            code="DeploymentNotFound",
        )
    return name


def routes(generate: GenerationRoute, authorize: Callable[[Request], str],
           model_names: Callable[[], tuple[str, ...]]) -> list[Route]:
    """The v1 routes, each answering errors in the OpenAI shape."""

    created = int(time.time())

    def pick(headers: Mapping[str, str], body: Mapping[str, Any]) -> str:
        return deployment_for(model_names(), body)

    async def v1_chat_completions(request: Request) -> Response:
        check_credential_headers(request.headers)
        return await generate(request, OpenAIChatCompletionRequest, api_version=False, pick_deployment=pick)

    async def v1_completions(request: Request) -> Response:
        check_credential_headers(request.headers)
        return await generate(request, CompletionRequest, api_version=False, pick_deployment=pick)

    async def v1_models(request: Request) -> Response:
        check_credential_headers(request.headers)
        authorize(request)
        data = [{"id": name, "object": "model", "created": created, "owned_by": "Meta"} for name in model_names()]
        return JSONResponse({"object": "list", "data": data})

    def route(path: str, handler: Handler, method: str) -> Route:
        return Route(f"{PREFIX}{path}", guarded(in_openai_shape(handler)), methods=[method])

    return [
        route("/chat/completions", v1_chat_completions, "POST"),
        route("/completions", v1_completions, "POST"),
        route("/models", v1_models, "GET"),
    ]
