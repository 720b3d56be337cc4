"""Fixtures for the Entra ID tests: a reference server started with ``--entra`` and a signing key we hold.

The server signs its tokens with a key written here, so tests can also mint tokens it accepts (or not:
expired, not yet valid, wrong audience); a token signed by any other key is a forgery.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from support.entra import IdentityEnv, new_key, start_entra_server

from llama_azure.server.process import ReferenceServer


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[rsa.RSAPrivateKey, Path]:
    key = new_key()
    path = tmp_path_factory.mktemp("entra") / "signing-key.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return key, path


@pytest.fixture(scope="module")
def entra_server(signing_key: tuple[rsa.RSAPrivateKey, Path]) -> Iterator[ReferenceServer]:
    """``llama-azure serve --entra`` with hour-long tokens; key auth (``entra-test-key``) still works."""
    with start_entra_server(signing_key) as srv:
        yield srv


@pytest.fixture
def identity_env(monkeypatch: pytest.MonkeyPatch) -> IdentityEnv:
    """Point azure-identity's managed identity at a server, and hide every other credential source."""

    def use(server: ReferenceServer) -> dict[str, str]:
        import os

        for name in list(os.environ):
            if name.startswith(("AZURE_", "MSI_", "IDENTITY_", "IMDS_")):
                monkeypatch.delenv(name)
        assert set(server.identity_env) == {"IDENTITY_ENDPOINT", "IDENTITY_HEADER"}, server.output
        for name, value in server.identity_env.items():
            monkeypatch.setenv(name, value)
        return server.identity_env

    return use
