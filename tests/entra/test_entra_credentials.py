"""Entra ID end to end, offline: real azure-identity credentials against ``llama-azure serve --entra``."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.identity import ManagedIdentityCredential
from azure.identity.aio import ManagedIdentityCredential as AsyncManagedIdentityCredential
from cryptography.hazmat.primitives.asymmetric import rsa
from support.closing import closing_all
from support.entra import HI, ML_SCOPE, IdentityEnv, ScriptedCredential, make_credential, mint, new_key
from support.server_stats import stats
from support.shells import call, make_client

from llama_azure import AsyncLlamaClient, AuthenticationError, LlamaClient, RateLimit
from llama_azure.server.process import ReferenceServer


@pytest.mark.parametrize("flavour", ["default", "managed_identity"])
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_chat_and_stream_with_real_azure_identity(
    kind: str, flavour: str, entra_server: ReferenceServer, identity_env: IdentityEnv
) -> None:
    identity_env(entra_server)
    credential = make_credential(kind, flavour)
    client = make_client(kind, entra_server.url, credential)
    async with closing_all(client, credential):
        assert client._auth.kind == "entra" and client._auth.scope == ML_SCOPE  # type: ignore[attr-defined]
        reply = await call(client.chat.completions.create(messages=HI, max_tokens=2))
        assert reply.choices[0].message.content is not None
        stream = await call(client.chat.completions.create(messages=HI, max_tokens=2, stream=True))
        chunks = [chunk async for chunk in stream] if kind == "async" else list(stream)
        assert chunks
        assert "eyJ" not in repr(client)


async def test_async_client_runs_a_sync_credential_off_the_event_loop(
    entra_server: ReferenceServer, identity_env: IdentityEnv
) -> None:
    identity_env(entra_server)
    credential = ManagedIdentityCredential()
    loop_thread: list[bool] = []
    original = credential.get_token

    def get_token(*scopes: str, **kwargs: Any) -> Any:
        try:
            asyncio.get_running_loop()
            loop_thread.append(True)
        except RuntimeError:
            loop_thread.append(False)
        return original(*scopes, **kwargs)

    credential.get_token = get_token
    async with closing_all(credential), AsyncLlamaClient(entra_server.url, credential) as client:
        info = await client.get_model_info()
    assert info.model_name
    assert loop_thread == [False], "the sync credential must be called in a worker thread"


@pytest.mark.parametrize("sync_credential", [False, True], ids=["aio-credential", "sync-credential"])
async def test_fifty_concurrent_requests_cause_one_token_fetch(
    sync_credential: bool, entra_server: ReferenceServer, identity_env: IdentityEnv
) -> None:
    identity_env(entra_server)
    credential: Any = ManagedIdentityCredential() if sync_credential else AsyncManagedIdentityCredential()
    before = stats(entra_server)["tokens_issued"]
    async with closing_all(credential), AsyncLlamaClient(entra_server.url, credential) as client:
        infos = await asyncio.gather(*(client.get_model_info() for _ in range(50)))
    assert len(infos) == 50 and all(i.model_name for i in infos)
    assert stats(entra_server)["tokens_issued"] - before == 1


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_wrong_scope_is_refused_and_the_error_names_the_scope(
    kind: str, entra_server: ReferenceServer, identity_env: IdentityEnv
) -> None:
    identity_env(entra_server)
    credential = make_credential(kind, "managed_identity")
    wrong = "https://cognitiveservices.azure.com/.default"
    client = make_client(kind, entra_server.url, credential, scope=wrong)
    async with closing_all(client, credential):
        with pytest.raises(AuthenticationError) as caught:
            await call(client.get_model_info())
    message = str(caught.value)
    assert "audience is incorrect (expected https://ml.azure.com" in message
    assert wrong in message  # the scope the client asked for
    assert caught.value.code == "InvalidAuthenticationTokenAudience"
    assert caught.value.attempts == 2  # dropped the token, fetched again, tried once more


def test_scope_follows_the_host() -> None:
    cases = {
        "https://my-llama.eastus2.models.ai.azure.com": "https://ml.azure.com/.default",
        "https://my-ep.eastus2.inference.ml.azure.com/score": "https://ml.azure.com/.default",
        "https://res.openai.azure.com/openai/deployments/llama": "https://cognitiveservices.azure.com/.default",
        "https://res.cognitiveservices.azure.com/models": "https://cognitiveservices.azure.com/.default",
        # Foundry Models and the OpenAI v1 surface take the Cognitive Services scope on every AI Services host
        "https://res.services.ai.azure.com/models": "https://cognitiveservices.azure.com/.default",
        "https://res.services.ai.azure.com/openai/v1": "https://cognitiveservices.azure.com/.default",
        "https://res.openai.azure.com": "https://cognitiveservices.azure.com/.default",
        "https://res.services.ai.azure.com/api/projects/p/chat/completions": "https://ai.azure.com/.default",
    }
    credential = ScriptedCredential()
    for endpoint, scope in cases.items():
        with LlamaClient(endpoint, credential) as client:
            assert client._auth.scope == scope, endpoint  # type: ignore[attr-defined]
    with LlamaClient("https://res.openai.azure.com", credential, scope="api://custom/.default") as client:
        assert client._auth.scope == "api://custom/.default"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("token_kind", "code", "reason"),
    [
        ("forged", "InvalidAuthenticationToken", "signature is invalid"),
        ("expired", "ExpiredAuthenticationToken", "token expired"),
        ("not-yet-valid", "InvalidAuthenticationToken", "not valid yet"),
        ("wrong-audience", "InvalidAuthenticationTokenAudience", "audience is incorrect (expected https://ml.azure.com"),
        ("wrong-issuer", "InvalidAuthenticationTokenIssuer", "issuer is not accepted (expected https://sts."),
        ("no-issuer", "InvalidAuthenticationToken", "has no 'iss' claim"),
    ],
)
def test_server_refuses_bad_tokens_saying_why(
    token_kind: str, code: str, reason: str, entra_server: ReferenceServer, signing_key: tuple[rsa.RSAPrivateKey, Path]
) -> None:
    key = signing_key[0]
    token = {
        "forged": lambda: mint(new_key()),
        "expired": lambda: mint(key, lifetime=-30),
        "not-yet-valid": lambda: mint(key, nbf_offset=600),
        "wrong-audience": lambda: mint(key, aud="https://cognitiveservices.azure.com"),
        "wrong-issuer": lambda: mint(key, iss="https://login.example.com/evil/"),
        "no-issuer": lambda: mint(key, iss=None),
    }[token_kind]().token
    response = httpx.get(f"{entra_server.url}/info?api-version=2025-04-01",
                         headers={"authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == code
    assert reason in error["message"]
    assert token not in response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_token_in_the_api_key_header_is_refused_saying_where_it_belongs(
    entra_server: ReferenceServer, signing_key: tuple[rsa.RSAPrivateKey, Path]
) -> None:
    token = mint(signing_key[0]).token
    url = f"{entra_server.url}/info?api-version=2025-04-01"
    assert httpx.get(url, headers={"authorization": f"Bearer {token}"}, timeout=30).status_code == 200
    response = httpx.get(url, headers={"api-key": token}, timeout=30)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "TokenInApiKeyHeader"
    assert "api-key header" in error["message"] and "Authorization: Bearer" in error["message"]
    assert token not in response.text and token not in str(response.headers)
    # With a valid key beside it, the request is the key's.
    both = {"api-key": token, "authorization": f"Bearer {entra_server.api_key}"}
    assert httpx.get(url, headers=both, timeout=30).status_code == 200


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_token_auth_and_key_auth_side_by_side(
    kind: str, entra_server: ReferenceServer, signing_key: tuple[rsa.RSAPrivateKey, Path]
) -> None:
    good = ScriptedCredential(mint(signing_key[0]))
    for credential in (good, entra_server.api_key):
        client = make_client(kind, entra_server.url, credential)
        async with closing_all(client):
            assert (await call(client.get_model_info())).model_name


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_401_on_a_cached_token_drops_it_fetches_again_and_retries_once(
    kind: str, entra_server: ReferenceServer, signing_key: tuple[rsa.RSAPrivateKey, Path]
) -> None:
    credential = ScriptedCredential(mint(new_key()), mint(signing_key[0]))  # a forged token, then a good one
    client = make_client(kind, entra_server.url, credential, max_retries=0)
    async with closing_all(client):
        info = await call(client.get_model_info())
        assert info.model_name
        assert credential.calls == 2
        assert credential.scopes == (ML_SCOPE,)
        await call(client.get_model_info())
        assert credential.calls == 2, "the good token is cached"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_the_resend_with_a_new_token_is_not_a_retry_nor_a_second_pacing_turn(
    kind: str, stream: bool, entra_server: ReferenceServer, signing_key: tuple[rsa.RSAPrivateKey, Path]
) -> None:
    """The credential handles its 401 inside the attempt: the refused request never reached the quota, so the
    resend keeps the call's pacing turn (a second turn would wait out this 60 s window), and on_retry is not told."""
    credential = ScriptedCredential(mint(new_key()), mint(signing_key[0]))  # a forged token, then a good one
    retries: list[tuple[int, BaseException, float]] = []
    client = make_client(kind, entra_server.url, credential, rate_limit=RateLimit(requests=1, window=60),
                         total_timeout=20, on_retry=lambda *retry: retries.append(retry))
    async with closing_all(client):
        create = client.chat.completions.with_raw_response.create
        raw = await call(create(messages=HI, max_tokens=1, stream=True) if stream
                         else create(messages=HI, max_tokens=1))
        if stream:
            chunks = raw.parse()
            assert [chunk async for chunk in chunks] if kind == "async" else list(chunks)
    assert raw.status_code == 200 and credential.calls == 2
    assert raw.retries_taken == 1  # two requests were sent
    assert retries == []


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_second_401_raises_naming_the_scope_and_no_secret(kind: str, entra_server: ReferenceServer) -> None:
    forged = mint(new_key())
    credential = ScriptedCredential(forged)
    client = make_client(kind, entra_server.url, credential)
    async with closing_all(client):
        with pytest.raises(AuthenticationError) as caught:
            await call(client.get_model_info())
    error = caught.value
    assert credential.calls == 2
    assert error.attempts == 2
    assert "signature is invalid" in str(error)
    assert f"requested for scope {ML_SCOPE}" in str(error)
    for text in (str(error), repr(error), repr(client), str(error.body)):
        assert forged.token not in text


def test_key_401_keeps_the_key_hint(entra_server: ReferenceServer) -> None:
    with LlamaClient(entra_server.url, "not-the-key", max_retries=0) as client, \
            pytest.raises(AuthenticationError) as caught:
        client.get_model_info()
    assert "check the key" in str(caught.value).lower()
    assert "scope" not in str(caught.value)


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_with_options_copies_share_the_token_cache(
    kind: str, entra_server: ReferenceServer, signing_key: tuple[rsa.RSAPrivateKey, Path]
) -> None:
    credential = ScriptedCredential(mint(signing_key[0]))
    client = make_client(kind, entra_server.url, credential, max_retries=0)
    async with closing_all(client):
        await call(client.get_model_info())
        copy = client.with_options(timeout=30.0)
        await call(copy.get_model_info())
        await call(copy.with_options(max_retries=1, model="default").get_model_info())
        assert copy._auth is client._auth
    assert credential.calls == 1  # one token, fetched by the original, used by its copies


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_debug_logs_never_show_tokens_or_the_identity_header(
    kind: str, entra_server: ReferenceServer, identity_env: IdentityEnv, caplog: pytest.LogCaptureFixture
) -> None:
    env = identity_env(entra_server)
    caplog.set_level(logging.DEBUG)  # every logger: ours, httpx/httpcore, azure-identity, msal
    credential = make_credential(kind, "default")
    client = make_client(kind, entra_server.url, credential)
    async with closing_all(client, credential):
        await call(client.chat.completions.create(messages=HI, max_tokens=2))
        token = client._auth._cache.token.token  # type: ignore[attr-defined]
    assert any(r.name == "llama_azure" for r in caplog.records)
    assert "<redacted>" in caplog.text
    assert token not in caplog.text
    assert token[-40:] not in caplog.text
    assert env["IDENTITY_HEADER"] not in caplog.text
