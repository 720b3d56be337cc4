"""The OpenAPI 3.1 document served at ``/openapi.json`` and ``/swagger.json``, built from the schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .openai_v1 import OpenAIChatCompletionRequest
from .schemas import (
    ChatCompletionRequest,
    CompletionRequest,
    InferenceChatCompletionRequest,
    ScoreRequest,
)

_ERROR = {
    "type": "object",
    "description": "An Azure error body: nested {error: {code, message}} or flat {status, code, message}.",
}


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _responses(ok_description: str, streaming: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": {"type": "object"}}}
    if streaming:
        content["text/event-stream"] = {"schema": {"type": "string"}}
    error = {"content": {"application/json": {"schema": _ERROR}}}
    return {
        "200": {"description": ok_description, "content": content},
        "400": {"description": "Bad request or content filtered", **error},
        "401": {"description": "Missing or wrong key", **error},
        "404": {"description": "Unknown deployment", **error},
        "422": {"description": "Invalid or unsupported parameter", **error},
        "429": {"description": "Rate limit exceeded", **error},
    }


_HEADERS = [
    {
        "name": "extra-parameters",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "enum": ["error", "drop", "pass-through", "allow"]},
    },
    {"name": "azureml-model-deployment", "in": "header", "required": False, "schema": {"type": "string"}},
    {"name": "x-ms-client-request-id", "in": "header", "required": False, "schema": {"type": "string"}},
]
_API_VERSION = {
    "name": "api-version",
    "in": "query",
    "required": True,
    "schema": {"type": "string", "enum": ["2024-05-01-preview", "2025-04-01"]},
}


def openapi_document(model_name: str) -> dict[str, Any]:
    components: dict[str, Any] = {}
    completion = _schema(CompletionRequest, components)
    chat = _schema(ChatCompletionRequest, components)
    inference_chat = _schema(InferenceChatCompletionRequest, components)
    score = _schema(ScoreRequest, components)
    v1_chat = _schema(OpenAIChatCompletionRequest, components)

    def post(summary: str, body: dict[str, Any], api_version: bool, streaming: bool = True) -> dict[str, Any]:
        params = [*_HEADERS, _API_VERSION] if api_version else list(_HEADERS)
        return {
            "post": {
                "summary": summary,
                "parameters": params,
                "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                "responses": _responses(summary, streaming),
            }
        }

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "llama-azure reference server",
            "version": "1",
            "description": f"Azure-compatible Llama endpoints served by {model_name}.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": {
            "/v1/completions": post("Llama API completions", completion, False),
            "/v1/chat/completions": post("Llama API chat completions", chat, False),
            "/completions": post("Model Inference completions", completion, True),
            "/chat/completions": post("Model Inference chat completions", inference_chat, True),
            "/score": post("Managed endpoint scoring (legacy)", score, False, streaming=False),
            "/info": {
                "get": {
                    "summary": "Model information",
                    "parameters": [_API_VERSION],
                    "responses": _responses("Model information"),
                }
            },
            # Foundry Models and the OpenAI v1 surface: the body's ``model`` names the deployment.
            "/models/completions": post("Foundry Models completions", completion, True),
            "/models/chat/completions": post("Foundry Models chat completions", inference_chat, True),
            "/models/info": {
                "get": {
                    "summary": "Foundry Models model information",
                    "parameters": [_API_VERSION, {"name": "x-ms-model-mesh-model-name", "in": "header",
                                                  "required": True, "schema": {"type": "string"}}],
                    "responses": _responses("Model information"),
                }
            },
            "/openai/v1/completions": post("OpenAI v1 completions", completion, False),
            "/openai/v1/chat/completions": post("OpenAI v1 chat completions", v1_chat, False),
            "/openai/v1/models": {"get": {"summary": "The deployments", "responses": _responses("Deployments")}},
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "api-key"},
            },
        },
    }
