"""What ``credential=`` takes, as protocols: an API key string, or an object that fits one of these.

azure-core's ``AzureKeyCredential`` and azure-identity's credentials (``DefaultAzureCredential``,
``ManagedIdentityCredential``, ... and their ``azure.identity.aio`` twins) fit them, and so does any object of
your own with the same attribute or method: mypy refuses anything else.
"""

from __future__ import annotations

from typing import Protocol, TypeAlias


class KeyCredential(Protocol):
    """An API key that can be rotated: its ``key`` is read again at every attempt.

    azure-core's ``AzureKeyCredential`` fits (``credential.update(new_key)`` rotates it).
    """

    @property
    def key(self) -> str:
        """The current key."""
        ...


class AccessTokenLike(Protocol):
    """What ``get_token`` returns: azure-core's ``AccessToken`` fits."""

    @property
    def token(self) -> str:
        """The bearer token."""
        ...

    @property
    def expires_on(self) -> int:
        """When it expires, in seconds since the epoch."""
        ...


class TokenCredential(Protocol):
    """A Microsoft Entra ID credential for ``LlamaClient`` (and ``AsyncLlamaClient``, which calls it in a worker
    thread): azure-identity's sync credentials fit. Tokens are cached and refreshed before they expire."""

    def get_token(self, *scopes: str) -> AccessTokenLike:
        """A token for ``scopes`` (the client asks for one scope: ``scope=``, or the endpoint's)."""
        ...


class AsyncTokenCredential(Protocol):
    """A Microsoft Entra ID credential for ``AsyncLlamaClient`` only: azure-identity's ``azure.identity.aio``
    credentials fit."""

    async def get_token(self, *scopes: str) -> AccessTokenLike:
        """A token for ``scopes`` (the client asks for one scope: ``scope=``, or the endpoint's)."""
        ...


Credential: TypeAlias = str | KeyCredential | TokenCredential | AsyncTokenCredential
"""Every form ``credential=`` takes (an ``AsyncTokenCredential`` with ``AsyncLlamaClient`` only)."""
