"""``api_version_from_url``: an ``?api-version=`` pasted with the endpoint is read, not silently dropped."""

from __future__ import annotations

import httpx
import pytest

from llama_azure import LlamaClient
from llama_azure._request.routes import DEFAULT_API_VERSION, api_version_from_url, normalize_endpoint


@pytest.mark.parametrize(
    ("endpoint", "version"),
    [
        ("https://x.services.ai.azure.com/models/chat/completions?api-version=2025-04-01", "2025-04-01"),
        ("https://h.eastus2.models.ai.azure.com/?api-version=2024-05-01-preview", "2024-05-01-preview"),
        (" https://h.eastus2.models.ai.azure.com/info?foo=1&api-version=2025-04-01 ", "2025-04-01"),
        ("https://h.eastus2.models.ai.azure.com/info?API-Version=2025-04-01", "2025-04-01"),
        ("https://h.eastus2.models.ai.azure.com/info?api-version=a&api-version=2025-04-01", "2025-04-01"),
        ("https://h.eastus2.models.ai.azure.com/info?api-version=2025-04-01#frag", "2025-04-01"),
    ],
)
def test_api_version_is_read_from_the_query(endpoint: str, version: str) -> None:
    assert api_version_from_url(endpoint) == version


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://h.eastus2.models.ai.azure.com",
        "https://h.eastus2.models.ai.azure.com/chat/completions?foo=bar",
        "https://h.eastus2.models.ai.azure.com/chat/completions?api-version=",
        "https://h.eastus2.models.ai.azure.com/chat/completions?api-version=%20",
        "https://h.eastus2.models.ai.azure.com/chat/completions?apiversion=2025-04-01",
        "https://[::1/broken?api-version=2025-04-01",  # malformed: normalize_endpoint reports it, not this helper
        "not a url",
    ],
)
def test_no_api_version_in_the_url_is_none(endpoint: str) -> None:
    assert api_version_from_url(endpoint) is None


def test_the_base_url_still_drops_the_query() -> None:
    url = "https://x.services.ai.azure.com/models/chat/completions?api-version=2025-04-01"
    assert normalize_endpoint(url) == "https://x.services.ai.azure.com/models"


def _sent_api_version(endpoint: str, **kwargs: object) -> str | None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"model_name": "m", "model_type": "chat-completions",
                                         "model_provider_name": "Meta"})

    with LlamaClient(endpoint, "k", http_client=httpx.Client(transport=httpx.MockTransport(handler)),
                     **kwargs) as client:  # type: ignore[arg-type]
        client.get_model_info(model="my-llama")  # Foundry /models needs the deployment name
    version: str | None = seen[0].url.params.get("api-version")
    return version


def test_the_client_uses_the_url_api_version() -> None:
    url = "https://x.services.ai.azure.com/models/chat/completions?api-version=2025-04-01"
    assert _sent_api_version(url) == "2025-04-01"
    assert _sent_api_version(url, api_version="2024-05-01-preview") == "2024-05-01-preview"  # explicit wins
    assert _sent_api_version("https://x.services.ai.azure.com/models") == DEFAULT_API_VERSION
