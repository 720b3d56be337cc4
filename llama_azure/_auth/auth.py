"""Credentials: API keys and Microsoft Entra ID tokens, with a token cache shared by both shells.

Every attempt asks the auth object for headers again, so a rotated key or a refreshed token is used
on retries. Nothing here ever formats a key or token into a message or ``repr``.
"""

from __future__ import annotations

import inspect
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from .._exceptions import ConfigurationError, CredentialError, LlamaAzureError

if TYPE_CHECKING:  # azure.core (its whole pipeline) and asyncio load at first use, not at import
    import asyncio

    from azure.core.credentials import AccessToken, TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

    from .credentials import KeyCredential

ENV_API_KEY = "LLAMA_AZURE_API_KEY"
DEFAULT_SCOPE = "https://ml.azure.com/.default"
DEFAULT_REFRESH_MARGIN = 300.0
# A token refused with 401 that the credential hands back again: waited out (so that the credential fetches a
# new one) when it expires within this many seconds, plus a grace so the credential's clock sees it expired.
REFUSED_TOKEN_MAX_WAIT = 5.0
REFUSED_TOKEN_GRACE = 0.05
_ASYNC_CREDENTIAL_IN_SYNC_CLIENT = (
    "an async credential (azure.identity.aio) needs AsyncLlamaClient; "
    "use the sync credential from azure.identity with LlamaClient"
)

COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"
# Which Entra ID audience a host wants; the wrong one is the "audience is incorrect" 401.
_SCOPES_BY_HOST_SUFFIX = (
    (".openai.azure.com", COGNITIVE_SERVICES_SCOPE),
    (".cognitiveservices.azure.com", COGNITIVE_SERVICES_SCOPE),
    (".services.ai.azure.com", "https://ai.azure.com/.default"),
)
_AI_SERVICES_HOSTS = tuple(suffix for suffix, _ in _SCOPES_BY_HOST_SUFFIX)
_COGNITIVE_SERVICES_PATHS = ("/models", "/openai/v1")


def _key_of(credential: object) -> str | None:
    """The key of a ``KeyCredential`` (an ``AzureKeyCredential``, or any object with a ``key`` string and no
    ``get_token``), else None. Read by attribute: a plain key string never imports azure.core."""
    if isinstance(credential, str) or callable(getattr(credential, "get_token", None)):
        return None
    key = getattr(credential, "key", None)
    return key if isinstance(key, str) else None


def scope_for_endpoint(endpoint: str) -> str:
    """The Entra ID scope a host expects. Foundry Models (``/models``) and the OpenAI v1 surface
    (``/openai/v1``) take the Cognitive Services scope on every AI Services host.

    >>> scope_for_endpoint("https://my-res.openai.azure.com")
    'https://cognitiveservices.azure.com/.default'
    >>> scope_for_endpoint("https://my-res.services.ai.azure.com/models")
    'https://cognitiveservices.azure.com/.default'
    """
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if host.endswith(_AI_SERVICES_HOSTS) and parts.path.rstrip("/").endswith(_COGNITIVE_SERVICES_PATHS):
        return COGNITIVE_SERVICES_SCOPE
    for suffix, scope in _SCOPES_BY_HOST_SUFFIX:
        if host.endswith(suffix):
            return scope
    return DEFAULT_SCOPE


class Auth(Protocol):
    """What the shells need from a credential."""

    kind: str

    def sync_headers(self) -> dict[str, str]: ...

    async def async_headers(self) -> dict[str, str]: ...

    def invalidate(self, sent: str | None) -> bool:
        """After a 401 to a request whose ``Authorization`` header was ``sent``: forget that token if it is still
        cached; True when sending again with fresh headers makes sense (``_call.attempt.attempt_flow`` does, once)."""
        ...

    def describe_failure(self) -> str: ...


class KeyAuth:
    """An API key sent as ``Authorization: Bearer`` and ``api-key`` (each endpoint reads one of them)."""

    kind = "key"

    def __init__(self, key: str | KeyCredential) -> None:
        self._key = key

    def _current(self) -> str:
        key = self._key if isinstance(self._key, str) else _key_of(self._key) or ""
        if not key or not key.strip():
            raise ConfigurationError("the API key is empty: pass credential='<key>' or set LLAMA_AZURE_API_KEY")
        return key.strip()

    def sync_headers(self) -> dict[str, str]:
        key = self._current()
        return {"authorization": f"Bearer {key}", "api-key": key}

    async def async_headers(self) -> dict[str, str]:
        return self.sync_headers()

    def invalidate(self, sent: str | None) -> bool:
        return False

    def describe_failure(self) -> str:
        return "the API key was refused: check the key belongs to this endpoint (and deployment)"

    def __repr__(self) -> str:
        return "KeyAuth(key=<redacted>)"


@dataclass
class TokenCache:
    """Sans-IO token cache: reuse a token until ``margin`` seconds before it expires.

    ``generation`` counts stores: a caller that waited for a lock while another refreshed sees it change
    and uses that fresh token (if not expired) instead of fetching again. So N concurrent callers with a
    stale token cause one fetch. A token that lives less than twice the margin is refreshed at half its
    remaining life instead, so short-lived tokens are still reused.
    """

    margin: float = DEFAULT_REFRESH_MARGIN
    token: AccessToken | None = None
    clock: Callable[[], float] = time.time
    generation: int = 0
    stale_at: float = 0.0
    refused: str | None = field(default=None, repr=False)  # the token the service last answered 401 to

    def usable(self) -> AccessToken | None:
        token = self.token
        if token is not None and self.stale_at > self.clock():
            return token
        return None

    def usable_since(self, generation: int) -> AccessToken | None:
        """A usable token, or one stored after ``generation`` that has not expired yet."""
        token = self.usable()
        latest = self.token
        if token is None and self.generation != generation and latest is not None and latest.expires_on > self.clock():
            token = latest
        return token

    def store(self, token: AccessToken) -> None:
        if not isinstance(token.token, str) or not token.token:
            raise ConfigurationError("the credential returned an empty access token")
        self.token = token
        self.generation += 1
        now = self.clock()
        self.stale_at = max(token.expires_on - self.margin, now + (token.expires_on - now) / 2)

    def invalidate(self, refused: str) -> bool:
        """The service answered 401 to ``refused``: forget it if it is still the cached token. True either way:
        when several calls sent it at once, the first forgets it and the others find it gone (or replaced);
        each sends again with the current token instead of failing."""
        self.refused = refused
        if self.token is not None and self.token.token == refused:
            self.token = None
        return True

    def wait_out_refused(self, token: AccessToken) -> float:
        """Seconds to wait before asking the credential again, when it handed back the token just refused.

        A credential's own cache (azure-identity's aio credentials) returns its token until the very moment
        it expires: one refused for expiring in flight comes back again, and would be refused again. If it
        expires within ``REFUSED_TOKEN_MAX_WAIT`` seconds, wait that out so the credential fetches a new one;
        a token refused for another reason (wrong audience) is not waited on.
        """
        if self.refused is None or token.token != self.refused:
            return 0.0
        left = token.expires_on - self.clock()
        return max(left, 0.0) + REFUSED_TOKEN_GRACE if left <= REFUSED_TOKEN_MAX_WAIT else 0.0

    def __repr__(self) -> str:
        expires = self.token.expires_on if self.token else None
        return f"TokenCache(margin={self.margin}, expires_on={expires})"


class _TokenAuthBase:
    kind = "entra"

    def __init__(self, scope: str, refresh_margin: float) -> None:
        if isinstance(refresh_margin, bool) or not isinstance(refresh_margin, (int, float)) or refresh_margin < 0:
            raise ConfigurationError(f"token_refresh_margin must be a number of seconds >= 0, got {refresh_margin!r}")
        self.scope = scope
        self._cache = TokenCache(margin=float(refresh_margin))
        self._alock: asyncio.Lock | None = None
        self._alock_loop: asyncio.AbstractEventLoop | None = None

    def _async_lock(self) -> asyncio.Lock:
        """One lock per event loop (an asyncio.Lock must not be shared between loops)."""
        import asyncio

        loop = asyncio.get_running_loop()
        if self._alock is None or self._alock_loop is not loop:
            self._alock = asyncio.Lock()
            self._alock_loop = loop
        return self._alock

    @staticmethod
    def _headers(token: AccessToken) -> dict[str, str]:
        return {"authorization": f"Bearer {token.token}"}

    async def async_headers(self) -> dict[str, str]:
        token = self._cache.usable()
        if token is None:
            generation = self._cache.generation
            async with self._async_lock():  # one refresh for all waiting tasks
                token = self._cache.usable_since(generation)
                if token is None:
                    token = await self._fetch_async(generation)
        return self._headers(token)

    async def _fetch_async(self, generation: int) -> AccessToken:
        """Get a new token from the credential and cache it (called under the async lock)."""
        raise NotImplementedError

    def invalidate(self, sent: str | None) -> bool:
        scheme, _, token = (sent or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False  # not our token (a redirect to another origin drops it): nothing to renew
        return self._cache.invalidate(token)

    def describe_failure(self) -> str:
        return (
            f"the Entra ID token was refused; it was requested for scope {self.scope}. "
            f"If the service says the audience is incorrect, pass scope=... for this host"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scope={self.scope!r})"


class TokenAuth(_TokenAuthBase):
    """A sync ``TokenCredential`` (e.g. ``DefaultAzureCredential``); usable from both shells.

    The async shell calls it in a worker thread, so the event loop never blocks on a token fetch.
    """

    def __init__(self, credential: TokenCredential, scope: str, refresh_margin: float) -> None:
        super().__init__(scope, refresh_margin)
        self._credential = credential
        self._lock = threading.Lock()  # one fetch at a time, whichever thread or loop asks

    def _refresh(self, generation: int) -> AccessToken:
        with self._lock:
            token = self._cache.usable_since(generation)
            if token is None:
                token = self._get_token()
                wait = self._cache.wait_out_refused(token)
                if wait:
                    time.sleep(wait)
                    token = self._get_token()
                self._cache.store(token)
            return token

    def _get_token(self) -> AccessToken:
        try:
            return self._credential.get_token(self.scope)
        except LlamaAzureError:
            raise
        except Exception as error:  # azure-identity's ClientAuthenticationError and kin, or anything
            raise CredentialError.from_exception(error, self.scope) from error

    def sync_headers(self) -> dict[str, str]:
        token = self._cache.usable()
        if token is None:
            token = self._refresh(self._cache.generation)
        return self._headers(token)

    async def _fetch_async(self, generation: int) -> AccessToken:
        # A sync credential blocks: run it in a worker thread, never on the event loop.
        import asyncio

        return await asyncio.to_thread(self._refresh, generation)


class AsyncTokenAuth(_TokenAuthBase):
    """An ``azure.core.credentials_async.AsyncTokenCredential`` (``azure.identity.aio``); async shell only."""

    def __init__(self, credential: AsyncTokenCredential, scope: str, refresh_margin: float) -> None:
        super().__init__(scope, refresh_margin)
        self._credential = credential

    def sync_headers(self) -> dict[str, str]:
        raise ConfigurationError(_ASYNC_CREDENTIAL_IN_SYNC_CLIENT)

    async def _fetch_async(self, generation: int) -> AccessToken:
        import asyncio

        token = await self._get_token()
        wait = self._cache.wait_out_refused(token)
        if wait:
            await asyncio.sleep(wait)
            token = await self._get_token()
        self._cache.store(token)
        return token

    async def _get_token(self) -> AccessToken:
        try:
            return await self._credential.get_token(self.scope)
        except LlamaAzureError:
            raise
        except Exception as error:  # azure-identity's ClientAuthenticationError and kin, or anything
            raise CredentialError.from_exception(error, self.scope) from error


def _is_async_credential(credential: object) -> bool:
    get_token = getattr(credential, "get_token", None)
    return get_token is not None and inspect.iscoroutinefunction(get_token)


def resolve_auth(
    credential: object,
    *,
    endpoint: str,
    scope: str | None,
    refresh_margin: float,
    is_async: bool,
) -> Auth:
    """Turn the ``credential`` argument (or ``LLAMA_AZURE_API_KEY``) into an auth object."""
    if credential is None:
        credential = os.environ.get(ENV_API_KEY)
        if not credential:
            raise ConfigurationError(
                "no credential: pass credential='<key>', an AzureKeyCredential or an azure-identity "
                f"credential, or set {ENV_API_KEY}"
            )
    if isinstance(credential, str) or _key_of(credential) is not None:
        return KeyAuth(credential)  # type: ignore[arg-type]
    chosen_scope = scope or scope_for_endpoint(endpoint)
    if _is_async_credential(credential):
        if not is_async:
            raise ConfigurationError(_ASYNC_CREDENTIAL_IN_SYNC_CLIENT)
        return AsyncTokenAuth(credential, chosen_scope, refresh_margin)  # type: ignore[arg-type]
    if callable(getattr(credential, "get_token", None)):
        return TokenAuth(credential, chosen_scope, refresh_margin)  # type: ignore[arg-type]
    raise ConfigurationError(
        f"credential must be a key string, a KeyCredential (an AzureKeyCredential), a TokenCredential or an "
        f"AsyncTokenCredential, got {type(credential).__name__}"
    )
