"""Every route answers with the shapes of the real Azure endpoints."""

from __future__ import annotations

import httpx
import pytest

from llama_azure.server.process import ReferenceServer

API = {"api-version": "2024-05-01-preview"}
CHAT = [{"role": "user", "content": "What is the capital of France?"}]


def test_v1_completions_shape(client: httpx.Client) -> None:
    r = client.post("/v1/completions", json={"prompt": "Count: one, two, three,", "max_tokens": 5, "temperature": 0})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "text_completion"
    assert body["id"].startswith("cmpl-")
    assert body["model"] == "SmolLM2-135M-Instruct"
    assert isinstance(body["created"], int)
    (choice,) = body["choices"]
    assert choice["index"] == 0
    assert choice["text"].startswith(" four, five")
    assert choice["finish_reason"] == "length"
    assert choice["logprobs"] is None
    usage = body["usage"]
    assert usage["completion_tokens"] == 5
    assert usage["prompt_tokens"] > 3
    assert usage["total_tokens"] == usage["prompt_tokens"] + 5


def test_v1_chat_completions_shape(client: httpx.Client) -> None:
    r = client.post("/v1/chat/completions", json={"messages": CHAT, "max_tokens": 6, "temperature": 0})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    (choice,) = body["choices"]
    assert choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str) and choice["message"]["content"]
    assert choice["finish_reason"] in ("stop", "length")
    assert body["usage"]["completion_tokens"] <= 6


def test_chat_ends_with_stop_when_the_model_is_done(client: httpx.Client) -> None:
    messages = [{"role": "user", "content": "Say hello."}]
    r = client.post("/v1/chat/completions", json={"messages": messages, "max_tokens": 64, "temperature": 0})
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert "<|im_end|>" not in choice["message"]["content"]
    assert r.json()["usage"]["completion_tokens"] < 64


def test_inference_chat_and_completions_need_api_version(client: httpx.Client) -> None:
    for path, body in (("/chat/completions", {"messages": CHAT}), ("/completions", {"prompt": "Hi"})):
        ok = client.post(path, params=API, json={**body, "max_tokens": 3})
        assert ok.status_code == 200, ok.text
        assert ok.json()["usage"]["completion_tokens"] <= 3
        ok2 = client.post(path, params={"api-version": "2025-04-01"}, json={**body, "max_tokens": 2})
        assert ok2.status_code == 200
        missing = client.post(path, json={**body, "max_tokens": 3})
        assert missing.status_code == 400
        assert missing.json()["error"]["param"] == "api-version"
        wrong = client.post(path, params={"api-version": "2023-01-01"}, json={**body, "max_tokens": 3})
        assert wrong.status_code == 400
        assert "2023-01-01" in wrong.json()["error"]["message"]


def test_v1_routes_ignore_api_version(client: httpx.Client) -> None:
    r = client.post("/v1/completions", params={"api-version": "nonsense"}, json={"prompt": "Hi", "max_tokens": 1})
    assert r.status_code == 200


def test_info(client: httpx.Client) -> None:
    r = client.get("/info", params=API)
    assert r.status_code == 200
    assert r.json() == {
        "model_name": "SmolLM2-135M-Instruct",
        "model_type": "chat-completions",
        "model_provider_name": "Meta",
    }
    assert client.get("/info").status_code == 400


def test_score_chat_and_text(client: httpx.Client) -> None:
    chat = {"input_data": {"input_string": CHAT, "parameters": {"max_new_tokens": 4, "do_sample": False}}}
    r = client.post("/score", json=chat)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"output"} and isinstance(r.json()["output"], str) and r.json()["output"]
    text = {
        "input_data": {
            "input_string": ["Count: one, two, three,", "The capital of France is"],
            "parameters": {"max_new_tokens": 3, "temperature": 0.0, "do_sample": False},
        }
    }
    r = client.post("/score", json=text)
    assert r.status_code == 200, r.text
    out = r.json()
    assert isinstance(out, list) and len(out) == 2
    assert out[0]["0"].startswith(" four")
    assert out[1]["0"].startswith(" Paris")


def test_unknown_route_and_method(client: httpx.Client) -> None:
    r = client.get("/v2/nothing")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NotFound"
    assert r.headers["x-request-id"]
    r = client.get("/v1/completions")
    assert r.status_code == 405
    assert "error" in r.json()


def test_request_ids_and_quota_headers_on_every_answer(client: httpx.Client) -> None:
    ok = client.post(
        "/v1/completions", json={"prompt": "Hi", "max_tokens": 1}, headers={"x-ms-client-request-id": "abc-1"}
    )
    bad = client.post("/v1/completions", json={"prompt": 1})
    unauthorized = httpx.post(f"{client.base_url}/v1/completions", json={"prompt": "Hi"})
    for r in (ok, bad, unauthorized):
        assert r.headers["x-request-id"] == r.headers["apim-request-id"]
        assert int(r.headers["x-ratelimit-remaining-requests"]) >= 0
        assert int(r.headers["x-ratelimit-remaining-tokens"]) >= 0
    assert ok.headers["x-ms-client-request-id"] == "abc-1"
    assert ok.headers["x-request-id"] != bad.headers["x-request-id"]


def test_openapi_document(client: httpx.Client) -> None:
    for path in ("/openapi.json", "/swagger.json"):
        doc = client.get(path).json()
        assert doc["openapi"].startswith("3.")
        assert {
            "/v1/completions",
            "/v1/chat/completions",
            "/chat/completions",
            "/completions",
            "/info",
            "/score",
        } <= set(doc["paths"])
        schema = doc["components"]["schemas"]["CompletionRequest"]
        assert "prompt" in schema["required"]
        assert schema["properties"]["temperature"]["maximum"] == 2.0


def test_model_name_option() -> None:
    with ReferenceServer(args=["--model-name", "Meta-Llama-3.1-8B-Instruct"]) as srv:
        r = httpx.get(f"{srv.url}/info", params=API, headers={"api-key": srv.api_key})
        assert r.json()["model_name"] == "Meta-Llama-3.1-8B-Instruct"
        r = httpx.post(
            f"{srv.url}/v1/completions", json={"prompt": "Hi", "max_tokens": 1}, headers={"api-key": srv.api_key}
        )
        assert r.json()["model"] == "Meta-Llama-3.1-8B-Instruct"


@pytest.mark.parametrize("path", ["/v1/completions", "/completions"])
def test_model_field_is_accepted(client: httpx.Client, path: str) -> None:
    r = client.post(path, params=API, json={"prompt": "Hi", "max_tokens": 1, "model": "anything"})
    assert r.status_code == 200, r.text
