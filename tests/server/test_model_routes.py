"""Foundry Models (``/models/...``) and the OpenAI v1 surface (``/openai/v1/...``): the body's ``model`` picks the
deployment, each with its own auth headers and error shapes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from llama_azure.server.process import ReferenceServer

API = {"api-version": "2024-05-01-preview"}
CHAT = [{"role": "user", "content": "What is the capital of France?"}]
DEPLOYMENT = "default"  # the session server has no --deployment: its one deployment is "default"
ROUTES = [("/chat/completions", {"messages": CHAT}), ("/completions", {"prompt": "Hi"})]


@pytest.mark.parametrize(("path", "body"), ROUTES)
def test_foundry_routes_answer_for_the_named_model(client: httpx.Client, path: str, body: dict[str, Any]) -> None:
    ok = client.post(f"/models{path}", params=API, json={**body, "model": DEPLOYMENT, "max_tokens": 3})
    assert ok.status_code == 200, ok.text
    assert ok.json()["usage"]["completion_tokens"] <= 3
    by_header = client.post(f"/models{path}", params=API, json={**body, "max_tokens": 2},
                            headers={"x-ms-model-mesh-model-name": DEPLOYMENT})
    assert by_header.status_code == 200, by_header.text
    no_version = client.post(f"/models{path}", json={**body, "model": DEPLOYMENT, "max_tokens": 2})
    assert no_version.status_code == 400 and no_version.json()["error"]["param"] == "api-version"


def test_foundry_model_errors(client: httpx.Client) -> None:
    missing = client.post("/models/chat/completions", params=API, json={"messages": CHAT, "max_tokens": 2})
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "no_model_name"
    assert missing.headers["x-ms-error-code"] == "no_model_name"
    unknown = client.post("/models/chat/completions", params=API, json={"messages": CHAT, "model": "gpt-x"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_model"
    assert "gpt-x" in unknown.json()["error"]["message"]
    wrong_type = client.post("/models/completions", params=API, json={"prompt": "Hi", "model": 3})
    assert wrong_type.status_code == 422 and wrong_type.json()["error"]["param"] == "model"


def test_foundry_info_names_its_model_in_a_header(client: httpx.Client) -> None:
    info = client.get("/models/info", params=API, headers={"x-ms-model-mesh-model-name": DEPLOYMENT})
    assert info.status_code == 200, info.text
    assert info.json()["model_provider_name"] == "Meta"
    assert client.get("/models/info", params=API).json()["error"]["code"] == "no_model_name"
    assert client.get("/models/info", params=API, headers={"x-ms-model-mesh-model-name": "nope"}).status_code == 404


def test_foundry_routes_need_a_key(server: ReferenceServer) -> None:
    for headers in ({}, {"api-key": "wrong"}):
        r = httpx.post(f"{server.url}/models/chat/completions", params=API, headers=headers, timeout=30,
                       json={"messages": CHAT, "model": DEPLOYMENT})
        assert r.status_code == 401 and r.json()["error"]["code"] == "Unauthorized"
    bearer = httpx.post(f"{server.url}/models/completions", params=API, timeout=60,
                        headers={"authorization": f"Bearer {server.api_key}"},
                        json={"prompt": "Hi", "model": DEPLOYMENT, "max_tokens": 2})
    assert bearer.status_code == 200, bearer.text


@pytest.mark.parametrize(("path", "body"), ROUTES)
def test_v1_routes_answer_without_api_version(client: httpx.Client, path: str, body: dict[str, Any]) -> None:
    ok = client.post(f"/openai/v1{path}", json={**body, "model": DEPLOYMENT, "max_tokens": 3})
    assert ok.status_code == 200, ok.text
    assert ok.json()["choices"] and ok.json()["usage"]["completion_tokens"] <= 3


def test_v1_chat_takes_the_openai_temperature_range(client: httpx.Client) -> None:
    body = {"messages": CHAT, "model": DEPLOYMENT, "max_tokens": 2, "temperature": 1.5}
    assert client.post("/openai/v1/chat/completions", json=body).status_code == 200
    assert client.post("/chat/completions", params=API, json=body).status_code == 422  # Model Inference: 0..1


def test_v1_streams(client: httpx.Client, sse: Any) -> None:
    body = {"messages": CHAT, "model": DEPLOYMENT, "max_tokens": 3, "stream": True}
    r = client.post("/openai/v1/chat/completions", json=body)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    payloads = sse(r)
    assert payloads[-1] == "[DONE]" and payloads[0]["object"] == "chat.completion.chunk"


def test_v1_errors_have_the_openai_shape(client: httpx.Client) -> None:
    def error(response: httpx.Response, status: int) -> dict[str, Any]:
        assert response.status_code == status, response.text
        found = response.json()["error"]
        assert set(found) == {"message", "type", "param", "code"}, found
        return dict(found)

    missing = error(client.post("/openai/v1/chat/completions", json={"messages": CHAT}), 400)
    assert missing["message"] == "you must provide a model parameter" and missing["param"] == "model"
    unknown = error(client.post("/openai/v1/completions", json={"prompt": "Hi", "model": "gpt-x"}), 404)
    assert unknown["code"] == "DeploymentNotFound"
    # what the Azure routes answer 422 is a 400 here (OpenAI never answers 422)
    invalid = error(client.post("/openai/v1/completions", json={"prompt": "Hi", "model": DEPLOYMENT, "max_tokens": 0}),
                    400)
    assert invalid["param"] == "max_tokens" and invalid["type"] == "invalid_request_error"
    extra = error(client.post("/openai/v1/completions", json={"prompt": "Hi", "model": DEPLOYMENT, "top_k": 2}), 400)
    assert extra["param"] == "top_k" and extra["code"] == "parameter_not_supported"


def test_v1_reads_api_key_or_bearer_but_not_a_bare_key(server: ReferenceServer) -> None:
    body = {"prompt": "Hi", "model": DEPLOYMENT, "max_tokens": 2}
    url = f"{server.url}/openai/v1/completions"
    for headers in ({"api-key": server.api_key}, {"authorization": f"Bearer {server.api_key}"}):
        assert httpx.post(url, headers=headers, json=body, timeout=60).status_code == 200
    for headers in ({"authorization": server.api_key}, {}, {"api-key": "wrong"}):
        refused = httpx.post(url, headers=headers, json=body, timeout=30)
        assert refused.status_code == 401
        assert set(refused.json()["error"]) == {"message", "type", "param", "code"}
        assert server.api_key not in refused.text


@pytest.mark.parametrize("path", ["/openai/v1/completions", "/openai/v1/models"])
def test_v1_refuses_a_bare_key_in_authorization_saying_to_use_bearer(server: ReferenceServer, path: str) -> None:
    body = {"prompt": "Hi", "model": DEPLOYMENT, "max_tokens": 2}
    for headers in ({"authorization": server.api_key},
                    {"authorization": server.api_key, "api-key": "wrong"},  # the api-key fails, the bare key not tried
                    {"authorization": f"Basic {server.api_key}", "api-key": server.api_key},  # even beside a good key
                    {"authorization": f"Basic {server.api_key}"}, {"authorization": "Bearer"}):
        refused = httpx.request("GET" if path.endswith("models") else "POST", f"{server.url}{path}",
                                headers=headers, json=body, timeout=30)
        assert refused.status_code == 401, headers
        assert "Bearer <key>" in refused.json()["error"]["message"]
        assert server.api_key not in refused.text


def test_v1_models_lists_the_deployments(client: httpx.Client, server: ReferenceServer) -> None:
    listing = client.get("/openai/v1/models")
    assert listing.status_code == 200
    assert listing.json()["object"] == "list"
    assert {m["id"] for m in listing.json()["data"]} >= {DEPLOYMENT}
    assert all(m["object"] == "model" for m in listing.json()["data"])
    assert httpx.get(f"{server.url}/openai/v1/models", timeout=30).status_code == 401


def test_openapi_documents_the_model_routes(client: httpx.Client) -> None:
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {"/models/chat/completions", "/models/completions", "/models/info", "/openai/v1/chat/completions",
            "/openai/v1/completions", "/openai/v1/models"} <= paths
