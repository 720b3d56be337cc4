"""Auth, validation and unsupported parameters answer Azure-shaped errors; no input kills the server."""

from __future__ import annotations

import httpx
import pytest

from llama_azure.server.process import ReferenceServer

OK_BODY = {"prompt": "Hi", "max_tokens": 1}


@pytest.mark.parametrize(
    "headers",
    [{"authorization": "Bearer test-key"}, {"api-key": "test-key"}, {"authorization": "test-key"}],
    ids=["bearer", "api-key", "raw"],
)
def test_accepted_key_forms(server: ReferenceServer, headers: dict[str, str]) -> None:
    r = httpx.post(f"{server.url}/v1/completions", json=OK_BODY, headers=headers)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer wrong-key"},
        {"api-key": "test-key-but-longer"},
        {"authorization": "Basic dGVzdC1rZXk="},
        {"authorization": "Bearer"},
        {"api-key": ""},
    ],
    ids=["none", "wrong-bearer", "wrong-api-key", "basic", "empty-bearer", "empty-api-key"],
)
def test_rejected_keys(server: ReferenceServer, headers: dict[str, str]) -> None:
    for method, path in (("POST", "/v1/completions"), ("GET", "/info?api-version=2025-04-01"), ("POST", "/score")):
        r = httpx.request(method, f"{server.url}{path}", json=OK_BODY, headers=headers)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "Unauthorized"
        assert "test-key" not in r.text and "wrong-key" not in r.text
        assert r.headers["x-ms-error-code"] == "Unauthorized"


def post(client: httpx.Client, body: object, path: str = "/v1/completions", **kw: object) -> httpx.Response:
    return client.post(path, json=body, **kw)  # type: ignore[arg-type]


def test_malformed_json(client: httpx.Client) -> None:
    for raw in (b"{bad json", b"", b"[1, 2]", b'"a string"', b"\xff\xfe\x00", b"{" * 100_000):
        r = client.post("/v1/completions", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 400, (raw[:20], r.text)
        assert r.json()["error"]["param"] == "body"


def test_wrong_content_type_is_read_as_json_or_refused(client: httpx.Client) -> None:
    r = client.post(
        "/v1/completions", content=b"prompt=hi", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 400
    r = client.post(
        "/v1/completions", content=b'{"prompt": "Hi", "max_tokens": 1}', headers={"content-type": "text/plain"}
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "prompt"),
        ({"prompt": None}, "prompt"),
        ({"prompt": 12}, "prompt"),
        ({"prompt": ["a", "b"]}, "prompt"),
        ({"prompt": "Hi", "max_tokens": "5"}, "max_tokens"),
        ({"prompt": "Hi", "max_tokens": 1.5}, "max_tokens"),
        ({"prompt": "Hi", "max_tokens": 0}, "max_tokens"),
        ({"prompt": "Hi", "max_tokens": 10**30}, "max_tokens"),
        ({"prompt": "Hi", "temperature": 2.5}, "temperature"),
        ({"prompt": "Hi", "temperature": -0.1}, "temperature"),
        ({"prompt": "Hi", "temperature": "hot"}, "temperature"),
        ({"prompt": "Hi", "top_p": 0}, "top_p"),
        ({"prompt": "Hi", "top_p": 1.5}, "top_p"),
        ({"prompt": "Hi", "presence_penalty": 3}, "presence_penalty"),
        ({"prompt": "Hi", "n": 0}, "n"),
        ({"prompt": "Hi", "n": 17}, "n"),
        ({"prompt": "Hi", "n": True}, "n"),
        ({"prompt": "Hi", "stream": "yes"}, "stream"),
        ({"prompt": "Hi", "stop": 5}, "stop"),
        ({"prompt": "Hi", "logprobs": -1}, "logprobs"),
        ({"prompt": "Hi", "logprobs": 100}, "logprobs"),
        ({"prompt": "Hi", "best_of": 0}, "best_of"),
        ({"prompt": "Hi", "n": 3, "best_of": 2}, "best_of"),
        ({"prompt": "Hi", "best_of": 2, "stream": True}, "best_of"),
        ({"prompt": "Hi", "n": 16, "max_tokens": 1000}, "max_tokens"),
        ({"prompt": "Hi", "stop_token_ids": [-1]}, "stop_token_ids"),
        ({"prompt": "Hi", "stop_token_ids": [10**12]}, "stop_token_ids"),
        ({"prompt": "Hi", "seed": "x"}, "seed"),
    ],
)
def test_invalid_completion_bodies(client: httpx.Client, body: dict[str, object], field: str) -> None:
    r = post(client, body)
    assert r.status_code in (400, 422), r.text
    error = r.json()["error"]
    assert error["param"].split(".")[0] == field, error
    assert field in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": "Hi"}, "messages"),
        ({"messages": [{"role": "wizard", "content": "Hi"}]}, "messages.0.role"),
        ({"messages": [{"role": "user"}]}, "messages.0.content"),
        ({"messages": [{"role": "user", "content": 3}]}, "messages.0.content"),
    ],
)
def test_invalid_chat_bodies(client: httpx.Client, body: dict[str, object], field: str) -> None:
    r = post(client, body, "/v1/chat/completions")
    assert r.status_code == 422, r.text
    assert r.json()["error"]["param"].startswith(field)


def test_inference_chat_temperature_range_is_0_to_1(client: httpx.Client) -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1, "temperature": 1.5}
    r = post(client, body, "/chat/completions", params={"api-version": "2024-05-01-preview"})
    assert r.status_code == 422
    assert r.json()["error"]["param"] == "temperature"
    assert post(client, body, "/v1/chat/completions").status_code == 200


def test_unsupported_parameters_answer_422_parameter_not_supported(client: httpx.Client) -> None:
    r = post(client, {"prompt": "Hi", "use_beam_search": True, "best_of": 2, "temperature": 0})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "parameter_not_supported"
    assert body["status"] == 422
    assert body["detail"]["loc"] == ["body", "use_beam_search"]
    assert r.headers["x-ms-error-code"] == "parameter_not_supported"
    # The Llama API route has no tools or response_format (the model-inference route has them).
    chat = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
    r = post(client, {**chat, "response_format": {"type": "json_object"}}, "/v1/chat/completions")
    assert r.status_code == 422
    assert r.json()["detail"]["loc"] == ["body", "response_format"]
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    r = post(client, {**chat, "tools": tools}, "/v1/chat/completions")
    assert r.status_code == 422 and r.json()["code"] == "parameter_not_supported"


def test_extra_parameters_header(client: httpx.Client) -> None:
    body = {"prompt": "Hi", "max_tokens": 1, "top_k": 5, "my_flag": True}
    r = post(client, body)
    assert r.status_code == 422
    assert r.json()["code"] == "parameter_not_supported"
    assert "my_flag" in r.json()["message"] and "top_k" in r.json()["message"]
    assert post(client, body, headers={"extra-parameters": "error"}).status_code == 422
    for mode in ("drop", "pass-through", "allow"):
        r = post(client, body, headers={"extra-parameters": mode})
        assert r.status_code == 200, (mode, r.text)
    r = post(client, body, headers={"extra-parameters": "sometimes"})
    assert r.status_code == 400
    # Model Inference extras are unknown to the Llama API route.
    chat = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1, "frequency_penalty": 0.5}
    assert post(client, chat, "/v1/chat/completions").status_code == 422


def test_prompt_longer_than_the_context(client: httpx.Client) -> None:
    r = post(client, {"prompt": "word " * 3000, "max_tokens": 1})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "context_length_exceeded"
    assert r.json()["error"]["param"] == "prompt"
    r = post(client, {"prompt": "word " * 1000, "max_tokens": 1500})
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "max_tokens"
    messages = [{"role": "user", "content": "word " * 3000}]
    r = post(client, {"messages": messages}, "/v1/chat/completions")
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"


def test_score_errors(client: httpx.Client) -> None:
    assert post(client, {"input_data": {}}, "/score").status_code == 422
    assert post(client, {"input_data": {"input_string": [1, 2]}}, "/score").status_code == 422
    r = post(client, {"input_data": {"input_string": ["Hi"], "parameters": {"max_new_tokens": 0}}}, "/score")
    assert r.status_code == 422
    assert "max_new_tokens" in r.json()["error"]["param"]


def test_server_survives_garbage(client: httpx.Client) -> None:
    garbage: list[object] = [
        {"prompt": "Hi", "max_tokens": 1e308},
        {"prompt": "Hi", "temperature": 1e308},
        {"prompt": "Hi", "n": -(10**40)},
        {"prompt": "\x00\ud7ff" * 10, "max_tokens": 1},
        {"prompt": "Hi", "stop": ["" for _ in range(3)], "max_tokens": 1},
        {"prompt": {"nested": ["deep"] * 100}},
        {"messages": [{"role": "user", "content": [{"type": "image", "url": "x"}]}]},
        {"prompt": "Hi", "seed": 2**70},
        {"prompt": "Hi", "stop_token_ids": "1,2"},
    ]
    for body in garbage:
        for path in ("/v1/completions", "/v1/chat/completions", "/score"):
            r = post(client, body, path)
            assert r.status_code < 500, (path, body, r.text)
    for raw in (b"NaN", b'{"prompt": "Hi", "temperature": NaN}', b'{"prompt": "Hi", "max_tokens": Infinity}'):
        r = client.post("/v1/completions", content=raw)
        assert 400 <= r.status_code < 500, (raw, r.text)
    r = client.post("/v1/completions", json={"prompt": "Count: one, two,", "max_tokens": 2, "temperature": 0})
    assert r.status_code == 200
    assert r.json()["choices"][0]["text"] == " three,"


def test_stop_sequence_caps(client: httpx.Client) -> None:
    assert post(client, {"prompt": "Hi", "max_tokens": 1, "stop": ["x"] * 16}).status_code == 200
    r = post(client, {"prompt": "Hi", "max_tokens": 1, "stop": ["x"] * 17})
    assert r.status_code == 422 and r.json()["error"]["param"] == "stop"
    r = post(client, {"prompt": "Hi", "max_tokens": 1, "stop": "x" * 257})
    assert r.status_code == 422 and r.json()["error"]["param"].startswith("stop")
