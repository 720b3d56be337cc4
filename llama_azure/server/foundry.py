"""Foundry Models: the Azure AI Model Inference routes under ``/models``, as an AI Services resource serves them.

One resource holds several deployments behind one URL, so each request names its model: the body's
``model`` field, or the ``x-ms-model-mesh-model-name`` header (the only way for ``GET /models/info``,
which has no body). Without one the answer is ``400 no_model_name``; a name that is not a deployment
here is ``404 unknown_model``, both in the resource's ``{"error": {"code", "message", "details"}}`` shape.
Keys are accepted as ``api-key`` or ``Authorization: Bearer``, like the other Model Inference routes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import errors
from .edge import GenerationRoute, Handler, guarded
from .errors import ApiError
from .intake import check_api_version
from .schemas import CompletionRequest, InferenceChatCompletionRequest

PREFIX = "/models"
MODEL_HEADER = "x-ms-model-mesh-model-name"


def _resource_error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, {"error": {"code": code, "message": message, "details": message}}, error_code=code)


def no_model_name() -> ApiError:
    return _resource_error(
        400, "no_model_name",
        f"No model specified in request. Please provide a model name in the request body or as a {MODEL_HEADER} "
        "header.",
    )


def unknown_model(name: str, known: tuple[str, ...]) -> ApiError:
    return _resource_error(404, "unknown_model", f"Unknown model: {name[:100]}. Deployments: {', '.join(known)}.")


def requested_model(headers: Mapping[str, str], body: Mapping[str, Any]) -> object:
    """The model a request names: the header first (as the service reads it), else the body's ``model``."""
    return headers.get(MODEL_HEADER) or body.get("model")


def deployment_for(known: tuple[str, ...], headers: Mapping[str, str], body: Mapping[str, Any]) -> str:
    """The deployment the request names; raises ``no_model_name`` or ``unknown_model``."""
    name = requested_model(headers, body)
    if name is None or name == "":
        raise no_model_name()
    if not isinstance(name, str):
        raise errors.validation_error(
            "Invalid value for 'model': Input should be a valid string", param="model",
            details=[{"loc": ["body", "model"], "msg": "Input should be a valid string", "type": "string_type"}],
        )
    if name not in known:
        raise unknown_model(name, known)
    return name


def routes(generate: GenerationRoute, authorize: Callable[[Request], str],
           model_names: Callable[[], tuple[str, ...]], info: Handler) -> list[Route]:
    """``POST /models/chat/completions``, ``POST /models/completions`` and ``GET /models/info``."""

    def pick(headers: Mapping[str, str], body: Mapping[str, Any]) -> str:
        return deployment_for(model_names(), headers, body)

    async def foundry_chat_completions(request: Request) -> Response:
        return await generate(request, InferenceChatCompletionRequest, api_version=True, pick_deployment=pick)

    async def foundry_completions(request: Request) -> Response:
        return await generate(request, CompletionRequest, api_version=True, pick_deployment=pick)

    async def foundry_info(request: Request) -> Response:
        authorize(request)  # a caller without a key learns nothing, not even which header is missing
        check_api_version(request)
        pick(request.headers, {})
        return await info(request)

    return [
        Route(f"{PREFIX}/chat/completions", guarded(foundry_chat_completions), methods=["POST"]),
        Route(f"{PREFIX}/completions", guarded(foundry_completions), methods=["POST"]),
        Route(f"{PREFIX}/info", guarded(foundry_info), methods=["GET"]),
    ]
