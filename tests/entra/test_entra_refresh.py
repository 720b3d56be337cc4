"""Tokens that expire mid-run: a server issuing 3-second tokens, real azure-identity credentials.

azure-identity's sync ManagedIdentityCredential (MSAL) does not cache a token with under 5 minutes left,
so each refresh by our client is a new token from the server; the aio credential hands back its cached
token until it has expired, and may hand back one with milliseconds left: a 401 the client absorbs by
dropping the token and fetching again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.identity import ManagedIdentityCredential
from azure.identity.aio import ManagedIdentityCredential as AsyncManagedIdentityCredential
from cryptography.hazmat.primitives.asymmetric import rsa
from support.closing import closing_all
from support.entra import IdentityEnv, start_entra_server
from support.server_stats import stats
from support.shells import call

from llama_azure import AsyncLlamaClient, LlamaClient
from llama_azure.server.process import ReferenceServer
from llama_azure.types import ChatMessageParam

LIFETIME = 3
HI: list[ChatMessageParam] = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def short_lived_server(signing_key: tuple[rsa.RSAPrivateKey, Path]) -> Iterator[ReferenceServer]:
    with start_entra_server(signing_key, "--token-lifetime", str(LIFETIME)) as srv:
        yield srv


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_sync_credential_refreshes_mid_run_and_every_request_succeeds(
    kind: str, short_lived_server: ReferenceServer, identity_env: IdentityEnv
) -> None:
    identity_env(short_lived_server)
    credential = ManagedIdentityCredential()
    cls = AsyncLlamaClient if kind == "async" else LlamaClient
    client = cls(short_lived_server.url, credential, max_retries=0)
    before = stats(short_lived_server)["tokens_issued"]
    requests = 0
    async with closing_all(client, credential):
        deadline = time.monotonic() + 2.2 * LIFETIME  # outlives two tokens
        while time.monotonic() < deadline:
            assert (await call(client.get_model_info())).model_name
            requests += 1
            await asyncio.sleep(0.3)
        reply = await call(client.chat.completions.create(messages=HI, max_tokens=1))
        assert reply.choices
    issued = stats(short_lived_server)["tokens_issued"] - before
    assert issued >= 3, "tokens were refreshed before they expired"
    assert issued < requests, "a token is reused while fresh (refresh at half its life when it is short)"


async def test_aio_credential_across_expiry_every_request_succeeds(
    short_lived_server: ReferenceServer, identity_env: IdentityEnv
) -> None:
    identity_env(short_lived_server)
    credential = AsyncManagedIdentityCredential()
    before = stats(short_lived_server)["tokens_issued"]
    async with closing_all(credential), AsyncLlamaClient(short_lived_server.url, credential, max_retries=0) as client:
        deadline = time.monotonic() + 2.2 * LIFETIME
        while time.monotonic() < deadline:
            infos = await asyncio.gather(*(client.get_model_info() for _ in range(5)))
            assert all(i.model_name for i in infos)
            await asyncio.sleep(0.2)
    assert stats(short_lived_server)["tokens_issued"] - before >= 2, "expired tokens were replaced"
