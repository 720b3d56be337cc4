"""A credential that cannot get a token raises CredentialError (typed, not retried, nothing sent), both shells."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import AzureError, ClientAuthenticationError

from llama_azure import APIError, LlamaAzureError
from llama_azure._credential_error import CredentialError

from .shells import USER_HI, mock_shell

SCOPE = "https://ml.azure.com/.default"
LONG_FIRST_LINE = "AADSTS7000215: Invalid client secret provided. " + "x" * 800


def nothing_sent() -> tuple[list[httpx.Request], Any]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    return sent, handler


class FailingCredential:
    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        raise ClientAuthenticationError(f"{LONG_FIRST_LINE}\nTrace ID: 1234\nCorrelation ID: 5678")


class AsyncFailingCredential(FailingCredential):
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:  # type: ignore[override]
        return super().get_token(*scopes, **kwargs)


@pytest.mark.parametrize("credential_kind", ["sync", "async"])
async def test_credential_failure_is_typed_and_not_retried(shell_kind: str, credential_kind: str) -> None:
    if shell_kind == "sync" and credential_kind == "async":
        pytest.skip("an async credential needs the async client")
    credential = AsyncFailingCredential() if credential_kind == "async" else FailingCredential()
    sent, handler = nothing_sent()
    async with mock_shell(shell_kind, handler, credential=credential, max_retries=3) as shell:
        with pytest.raises(CredentialError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
    error = caught.value
    assert isinstance(error, LlamaAzureError) and not isinstance(error, APIError)
    assert isinstance(error.__cause__, ClientAuthenticationError)
    assert error.scope == SCOPE
    message = str(error)
    assert message.startswith(f"the credential could not get a token for scope {SCOPE}: "
                              "ClientAuthenticationError: AADSTS7000215: Invalid client secret provided.")
    assert "Trace ID" not in message  # the first line only
    assert len(message) < 700
    assert credential.calls == 1 and sent == []


@pytest.fixture
def refused_identity_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """App Service managed identity pointed at a bound but not listening 127.0.0.1 port: refused at once."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET",
                 "AZURE_FEDERATED_TOKEN_FILE", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZURE_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with socket.socket() as held:  # kept bound (never listening) so no other process can take the port
        held.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{held.getsockname()[1]}/msi/token"
        monkeypatch.setenv("IDENTITY_ENDPOINT", url)
        monkeypatch.setenv("IDENTITY_HEADER", "unit-header")
        yield url


async def test_a_real_azure_identity_failure_is_a_credential_error(shell_kind: str,
                                                                    refused_identity_endpoint: str) -> None:
    credential: Any
    if shell_kind == "async":
        from azure.identity.aio import ManagedIdentityCredential as AsyncManagedIdentityCredential

        credential = AsyncManagedIdentityCredential(retry_total=0)
    else:
        from azure.identity import ManagedIdentityCredential

        credential = ManagedIdentityCredential(retry_total=0)
    sent, handler = nothing_sent()
    async with mock_shell(shell_kind, handler, credential=credential, max_retries=2) as shell:
        with pytest.raises(CredentialError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        await shell.close(credential)
    assert isinstance(caught.value.__cause__, AzureError)
    assert str(caught.value).startswith(f"the credential could not get a token for scope {SCOPE}: ")
    assert sent == []
