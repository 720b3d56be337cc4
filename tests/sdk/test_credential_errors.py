"""A credential that cannot get a token raises CredentialError (typed, not retried, nothing sent), both shells."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import AzureError, ClientAuthenticationError
from support.shells import USER_HI, mock_shell

from llama_azure import APIError, CredentialError, LlamaAzureError

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


class RotatingCredential:
    """Hands out "t1", then "t2", ... (each fetch a new token), as a credential does after a refusal."""

    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        return AccessToken(f"t{self.calls}", 10**10)


CALLS_AT_ONCE = 4
INFO = {"model_name": "m", "model_type": "chat-completions", "model_provider_name": "Meta"}


def refused_t1(request: httpx.Request) -> httpx.Response:
    if request.headers["authorization"] == "Bearer t1":
        return httpx.Response(401, json={"error": {"code": "ExpiredToken", "message": "token expired"}})
    return httpx.Response(200, json=INFO)


def test_calls_refused_the_same_token_at_once_each_send_again_sync() -> None:
    """Four threads send "t1" and get 401 together: the first to see it drops the token; the others find it gone
    or replaced, and send again with the current one instead of failing (each one resend, no retry)."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    together = Barrier(CALLS_AT_ONCE, timeout=10)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer t1":
            together.wait()  # every call has sent "t1" before any hears its 401
        return refused_t1(request)

    from llama_azure import LlamaClient

    credential = RotatingCredential()
    with LlamaClient("https://x.eastus2.models.ai.azure.com", credential, max_retries=0,
                     http_client=httpx.Client(transport=httpx.MockTransport(handler))) as client, \
            ThreadPoolExecutor(CALLS_AT_ONCE) as pool:
        infos = list(pool.map(lambda _: client.get_model_info(), range(CALLS_AT_ONCE)))
    assert [i.model_name for i in infos] == ["m"] * CALLS_AT_ONCE
    assert credential.calls <= 3  # "t1", then one new token for them all (rarely two); not one per call


async def test_calls_refused_the_same_token_at_once_each_send_again_async() -> None:
    import asyncio

    from llama_azure import AsyncLlamaClient

    arrived = 0
    everyone = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal arrived
        if request.headers["authorization"] == "Bearer t1":
            arrived += 1
            if arrived == CALLS_AT_ONCE:
                everyone.set()
            await asyncio.wait_for(everyone.wait(), 10)  # every call has sent "t1" before any hears its 401
        return refused_t1(request)

    credential = RotatingCredential()
    async with AsyncLlamaClient("https://x.eastus2.models.ai.azure.com", credential, max_retries=0,
                                http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))) as client:
        infos = await asyncio.gather(*(client.get_model_info() for _ in range(CALLS_AT_ONCE)))
    assert [i.model_name for i in infos] == ["m"] * CALLS_AT_ONCE
    assert credential.calls <= 3  # "t1", then one new token for them all (rarely two); not one per call
