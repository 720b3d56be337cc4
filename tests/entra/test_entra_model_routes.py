"""Entra ID on Foundry Models (``/models``) and the OpenAI v1 surface (``/openai/v1``): a real managed-identity
token for the Cognitive Services audience, checked by ``llama-azure serve --entra``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from support.closing import closing_all
from support.entra import HI, make_credential, start_entra_server
from support.shells import call, make_client

from llama_azure import AuthenticationError
from llama_azure._auth.auth import COGNITIVE_SERVICES_SCOPE
from llama_azure.server.process import ReferenceServer

AUDIENCE = "https://cognitiveservices.azure.com"


@pytest.fixture(scope="module")
def cognitive_server(signing_key: tuple[rsa.RSAPrivateKey, Path]) -> Iterator[ReferenceServer]:
    """An AI Services resource stand-in: tokens must be for the Cognitive Services audience."""
    with start_entra_server(signing_key, "--entra-audience", AUDIENCE, "--deployment", "llama") as srv:
        yield srv


@pytest.mark.parametrize("path", ["/models", "/openai/v1"])
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_entra_token_for_the_cognitive_services_scope(kind: str, path: str, cognitive_server: ReferenceServer,
                                                            identity_env: Any) -> None:
    identity_env(cognitive_server)
    credential = make_credential(kind, "managed_identity")
    # 127.0.0.1 is no Azure host, so the scope the client would infer for <resource>.openai.azure.com is given
    client = make_client(kind, cognitive_server.url + path, credential, model="llama", scope=COGNITIVE_SERVICES_SCOPE)
    wrong = make_client(kind, cognitive_server.url + path, credential, model="llama")  # ml.azure.com: refused
    async with closing_all(client, wrong, credential):
        reply = await call(client.chat.completions.create(messages=HI, max_tokens=2))
        assert reply.choices[0].message.content is not None
        stream = await call(client.completions.create(prompt="Hi", max_tokens=2, stream=True))
        assert [chunk async for chunk in stream] if kind == "async" else list(stream)
        with pytest.raises(AuthenticationError) as caught:
            await call(wrong.chat.completions.create(messages=HI, max_tokens=2))
        assert "audience" in str(caught.value)
