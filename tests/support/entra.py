"""Helpers for the Entra ID tests (fixtures live in tests/entra/conftest.py): keys, tokens, credentials."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
from azure.core.credentials import AccessToken
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.identity.aio import DefaultAzureCredential as AsyncDefaultAzureCredential
from azure.identity.aio import ManagedIdentityCredential as AsyncManagedIdentityCredential
from cryptography.hazmat.primitives.asymmetric import rsa

from llama_azure.server.identity import ISSUER
from llama_azure.server.process import ReferenceServer
from llama_azure.types import ChatMessageParam

ENTRA_KEY = "entra-test-key"
ML_SCOPE = "https://ml.azure.com/.default"
HI: list[ChatMessageParam] = [{"role": "user", "content": "Say hi."}]
# The identity_env fixture: point managed identity at a server, answer the variables it set.
IdentityEnv = Callable[[ReferenceServer], dict[str, str]]


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def start_entra_server(signing_key: tuple[rsa.RSAPrivateKey, Path], *extra: str) -> ReferenceServer:
    """``llama-azure serve --entra`` signing with our key (so tests can mint tokens), key auth beside it."""
    return ReferenceServer(api_key=ENTRA_KEY, args=["--entra", "--entra-signing-key", str(signing_key[1]), *extra])


def default_credential_kwargs(aio: bool = False) -> dict[str, bool]:
    """DefaultAzureCredential limited to managed identity (no CLI, no developer tools on a CI box)."""
    kwargs = {
        "exclude_environment_credential": True,
        "exclude_workload_identity_credential": True,
        "exclude_shared_token_cache_credential": True,
        "exclude_cli_credential": True,
        "exclude_powershell_credential": True,
        "exclude_developer_cli_credential": True,
        "exclude_visual_studio_code_credential": True,
    }
    if not aio:  # the sync chain also has these two
        kwargs.update(exclude_interactive_browser_credential=True, exclude_broker_credential=True)
    return kwargs


def make_credential(kind: str, flavour: str) -> Any:
    """A real azure-identity credential, sync or async: ``flavour`` "default" (limited to managed identity)
    or "managed_identity"."""
    if flavour == "default":
        if kind == "async":
            return AsyncDefaultAzureCredential(**default_credential_kwargs(aio=True))
        return DefaultAzureCredential(**default_credential_kwargs())
    return AsyncManagedIdentityCredential() if kind == "async" else ManagedIdentityCredential()


def mint(key: rsa.RSAPrivateKey, *, aud: str = "https://ml.azure.com", lifetime: float = 3600,
         nbf_offset: float = 0, iss: str | None = ISSUER) -> AccessToken:
    """A token as the server would issue it, signed with ``key`` (``iss=None``: without an issuer)."""
    now = int(time.time())
    exp = int(now + lifetime)
    claims = {"aud": aud, "iss": iss, "sub": "test", "iat": now, "nbf": int(now + nbf_offset), "exp": exp}
    if iss is None:
        del claims["iss"]
    return AccessToken(jwt.encode(claims, key, algorithm="RS256"), exp)


class ScriptedCredential:
    """A minimal TokenCredential returning the given tokens in turn (the last one from then on).

    For tests of *our* retry logic only; azure-identity's own credentials are tested for real.
    """

    def __init__(self, *tokens: AccessToken) -> None:
        self.tokens = list(tokens)
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        self.scopes = scopes
        return self.tokens[min(self.calls, len(self.tokens)) - 1]
