"""Client construction, route inference, environment fallbacks and secrets (no network)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from support.shells import USER_HI, mock_shell

from llama_azure import (
    AsyncLlamaClient,
    AuthenticationError,
    ConfigurationError,
    LlamaClient,
    ParameterError,
    scope_for_endpoint,
)
from llama_azure._request.routes import infer_api_style, normalize_endpoint

KEY = "sk-very-secret-key-123456"


@pytest.mark.parametrize(
    ("endpoint", "style"),
    [
        ("https://my-llama.eastus2.models.ai.azure.com", "llama"),
        ("https://my-llama.eastus2.models.ai.azure.com/v1/chat/completions", "llama"),
        ("https://my-ep.eastus2.inference.ml.azure.com/score", "score"),
        ("https://my-ep.eastus2.inference.ml.azure.com", "score"),
        ("http://127.0.0.1:8000/score", "score"),
        ("https://x.services.ai.azure.com/models/chat/completions", "model-inference"),
    ],
)
def test_route_style_inferred_from_url(endpoint: str, style: str) -> None:
    assert infer_api_style(endpoint) == style


def test_endpoint_normalized() -> None:
    assert normalize_endpoint("https://h.models.ai.azure.com/v1/chat/completions/") == "https://h.models.ai.azure.com"
    assert normalize_endpoint(" https://h.inference.ml.azure.com/score ") == "https://h.inference.ml.azure.com"
    assert normalize_endpoint("https://h.services.ai.azure.com/models") == "https://h.services.ai.azure.com/models"
    with pytest.raises(ConfigurationError):
        normalize_endpoint("h.models.ai.azure.com")


def test_scope_by_host() -> None:
    assert scope_for_endpoint("https://a.eastus2.inference.ml.azure.com") == "https://ml.azure.com/.default"
    assert scope_for_endpoint("https://a.openai.azure.com") == "https://cognitiveservices.azure.com/.default"
    assert scope_for_endpoint("https://a.cognitiveservices.azure.com") == "https://cognitiveservices.azure.com/.default"
    assert scope_for_endpoint("https://a.services.ai.azure.com") == "https://ai.azure.com/.default"


@pytest.mark.parametrize("cls", [LlamaClient, AsyncLlamaClient])
def test_environment_fallbacks(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLAMA_AZURE_ENDPOINT", raising=False)
    monkeypatch.delenv("LLAMA_AZURE_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="LLAMA_AZURE_ENDPOINT"):
        cls()
    monkeypatch.setenv("LLAMA_AZURE_ENDPOINT", "https://env.eastus2.models.ai.azure.com")
    with pytest.raises(ConfigurationError, match="LLAMA_AZURE_API_KEY"):
        cls()
    monkeypatch.setenv("LLAMA_AZURE_API_KEY", KEY)
    client = cls()
    assert client.endpoint == "https://env.eastus2.models.ai.azure.com" and client.api == "llama"


@pytest.mark.parametrize("cls", [LlamaClient, AsyncLlamaClient])
def test_bad_settings_are_configuration_errors(cls: type) -> None:
    with pytest.raises(ConfigurationError, match="api must be one of"):
        cls("https://h.models.ai.azure.com", KEY, api="openai")
    with pytest.raises(ConfigurationError, match="credential must be"):
        cls("https://h.models.ai.azure.com", 12345)
    with pytest.raises(ParameterError, match="max_retries"):
        cls("https://h.models.ai.azure.com", KEY, max_retries=-1)
    with pytest.raises(ParameterError, match="timeout"):
        cls("https://h.models.ai.azure.com", KEY, timeout=0)


async def test_secrets_stay_out_of_repr_errors_and_logs(shell_kind: str, caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        return httpx.Response(401, json={"error": {"code": "Unauthorized", "message": "bad key"}})

    caplog.set_level(logging.DEBUG, logger="llama_azure")
    async with mock_shell(shell_kind, handler, endpoint="https://h.models.ai.azure.com", credential=KEY,
                          max_retries=0) as shell:
        assert KEY not in repr(shell.client) and KEY not in repr(shell.client._auth)
        with pytest.raises(AuthenticationError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
    assert caplog.records, "debug logging should describe the attempt"
    for text in (str(caught.value), repr(caught.value), caplog.text):
        assert KEY not in text
    assert "<redacted>" in caplog.text
    assert "check the key" in str(caught.value).lower()


async def test_nothing_is_sent_for_invalid_parameters(shell_kind: str) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    async with mock_shell(shell_kind, handler, endpoint="https://h.models.ai.azure.com", credential=KEY) as shell:
        refused: list[dict[str, Any]] = [{"temperature": -1}, {"stop": 5}, {"logprobs": 50},
                                         {"best_of": 2, "stream": True}]
        for bad in refused:
            with pytest.raises(ParameterError):
                await shell.run(lambda c: c.completions.create(prompt="x", **bad))  # noqa: B023 (awaited here)
        with pytest.raises(ParameterError):
            await shell.run(lambda c: c.completions.create(prompt=""))
        with pytest.raises(ParameterError, match="extra_body repeats"):
            await shell.run(lambda c: c.completions.create(prompt="x", max_tokens=3, extra_body={"max_tokens": 4}))
    assert sent == []


async def test_async_client_owned_pool_is_closed() -> None:
    client = AsyncLlamaClient("https://h.models.ai.azure.com", KEY)
    async with client:
        pass
    assert client._http.is_closed
    shared = httpx.AsyncClient()
    async with AsyncLlamaClient("https://h.models.ai.azure.com", KEY, http_client=shared):
        pass
    assert not shared.is_closed  # an injected pool belongs to its owner
    await shared.aclose()
