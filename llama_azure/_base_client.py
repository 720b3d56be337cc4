"""What the sync and the async client share: settings, credential, retry bookkeeping, copies, repr.

Everything here is free of I/O; ``LlamaClient`` and ``AsyncLlamaClient`` add sending and waiting.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

import httpx
from typing_extensions import Self

from ._auth import DEFAULT_REFRESH_MARGIN, resolve_auth
from ._body import DEFAULT_MAX_RESPONSE_BYTES
from ._core import ClientConfig, PreparedCall
from ._deployments import CoolDown, Deployment, check_deployments, make_router
from ._exceptions import ConfigurationError
from ._pacer import Pacer, is_rate_limit
from ._retry import DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_WAIT, RetryPolicy, RetryRun

if TYPE_CHECKING:
    from tenacity import RetryCallState

    from ._rate_limit import RateLimit

HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)
# Generous, like openai-python: one shared client serves a whole application.
DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
HTTPX_DEFAULT_TIMEOUT = httpx.Timeout(5.0)


def chosen_timeout_of(http_client: httpx.Client | httpx.AsyncClient | None) -> httpx.Timeout | None:
    """An injected client's timeout if it was set on purpose; None (our 600 s default) for httpx's 5 s default.

    The timeout goes with each request, so it is ours that applies, not the pool's. As in openai-python, an
    injected client keeps a timeout it was given, but httpx's default must not cut a long answer short.
    """
    if http_client is None or http_client.timeout == HTTPX_DEFAULT_TIMEOUT:
        return None
    return http_client.timeout


class BaseClient(Generic[HttpT]):
    _is_async: ClassVar[bool]
    _http_class: ClassVar[type[httpx.Client] | type[httpx.AsyncClient]]

    def __init__(
        self,
        endpoint: str | None = None,
        credential: object = None,
        *,
        api: Literal["llama", "model-inference", "score", "openai-v1"] | None = None,
        deployment: str | None = None,
        api_version: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        timeout: float | httpx.Timeout | None = None,
        stream_idle_timeout: float | None = None,
        total_timeout: float | None = None,
        http_client: HttpT | None = None,
        default_headers: Mapping[str, str] | None = None,
        scope: str | None = None,
        token_refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        allow_insecure_http: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        model: str | None = None,
        rate_limit: RateLimit | None = None,
        on_retry: Callable[[int, BaseException, float], object] | None = None,
        deployments: Sequence[Deployment] | None = None,
        cool_down: CoolDown | None = None,
    ) -> None:
        shared = dict(api_version=api_version, max_retry_wait=max_retry_wait, timeout=timeout,
                      stream_idle_timeout=stream_idle_timeout, total_timeout=total_timeout,
                      default_headers=default_headers, scope=scope, token_refresh_margin=token_refresh_margin,
                      allow_insecure_http=allow_insecure_http, max_response_bytes=max_response_bytes)
        default_credential = credential
        if deployments is not None:  # this client's own settings are the first deployment's
            listed = check_deployments(deployments)
            if endpoint is not None or rate_limit is not None:
                raise ConfigurationError("with deployments=, pass endpoint= and rate_limit= on each Deployment")
            first = listed[0]
            endpoint, api, deployment, model = first.endpoint, first.api, first.deployment, first.model
            credential = credential if first.credential is None else first.credential
        self._config = ClientConfig.create(
            endpoint, api=api, api_version=api_version, deployment=deployment,
            default_headers=default_headers, max_retries=max_retries, max_retry_wait=max_retry_wait,
            timeout=timeout if timeout is not None else chosen_timeout_of(http_client),
            stream_idle_timeout=stream_idle_timeout, total_timeout=total_timeout, model=model,
            allow_insecure_http=allow_insecure_http, max_response_bytes=max_response_bytes,
        )
        self._auth = resolve_auth(credential, endpoint=self._config.base_url, scope=scope,
                                  refresh_margin=token_refresh_margin, is_async=self._is_async)
        if rate_limit is not None and not is_rate_limit(rate_limit):
            raise ConfigurationError(f"rate_limit must be a RateLimit(requests=..., tokens=...), "
                                     f"got {type(rate_limit).__name__}")
        self._pacer = Pacer(rate_limit, self._config) if rate_limit is not None else None
        if on_retry is not None and not callable(on_retry):
            raise ConfigurationError(f"on_retry must be a callable(attempt, error, wait), "
                                     f"got {type(on_retry).__name__}")
        self._on_retry = on_retry
        self._owns_http = http_client is None
        self._http: HttpT = http_client or self._http_class(  # type: ignore[assignment]
            limits=DEFAULT_LIMITS, timeout=self._config.timeout
        )
        self._pool = _PoolOwner(os.getpid(), self._http if self._owns_http else None)
        self._router = None if deployments is None else make_router(
            type(self), deployments, default_credential, cool_down, http_client=self._http, **shared)
        self._bind_resources()

    def _bind_resources(self) -> None:
        """Attach ``chat`` and ``completions`` (the shells' own resource classes)."""
        raise NotImplementedError

    @property
    def endpoint(self) -> str:
        """The endpoint's base URL, without a route."""
        return self._config.base_url

    @property
    def rate_limit(self) -> RateLimit | None:
        """The quota this client paces itself to (``rate_limit=``), or None."""
        return self._pacer.rate_limit if self._pacer is not None else None

    @property
    def api(self) -> str:
        """The route style: ``llama``, ``model-inference``, ``score`` or ``openai-v1``."""
        return self._config.api

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        max_retry_wait: float | None = None,
        stream_idle_timeout: float | None = None,
        default_headers: Mapping[str, str] | None = None,
        total_timeout: float | None = None,
        allow_insecure_http: bool | None = None,
        max_response_bytes: int | None = None,
    ) -> Self:
        """A copy with new defaults that shares this client's connections and credential.

        ``client.with_options(timeout=30, max_retries=0).chat.completions.create(...)``
        """
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy._config = self._config.with_options(
            timeout=timeout, max_retries=max_retries, max_retry_wait=max_retry_wait,
            stream_idle_timeout=stream_idle_timeout, default_headers=default_headers, total_timeout=total_timeout,
            allow_insecure_http=allow_insecure_http, max_response_bytes=max_response_bytes)
        copy._owns_http = False  # closing the copy leaves the shared pool open
        copy._bind_resources()
        return copy

    def _check_fork(self) -> None:
        """In a process forked after this client was made, use a new pool of our own.

        The inherited connections' sockets are shared with the parent: reusing them would cross answers
        between the processes. They are left alone (closing them could disturb the parent); the copies
        made by ``with_options`` share the new pool. An injected ``http_client`` is the caller's to renew.
        """
        pool = self._pool
        if pool.pid != os.getpid() and pool.http is not None:
            pool.pid = os.getpid()
            pool.http = self._http_class(limits=DEFAULT_LIMITS, timeout=self._config.timeout)
        if pool.http is not None:
            self._http = pool.http  # type: ignore[assignment]

    def _retry_run(self, call: PreparedCall[Any]) -> RetryRun:
        return RetryRun(RetryPolicy(call.max_retries, self._config.max_retry_wait), call)

    def _before_retry_wait(self, state: RetryCallState) -> None:
        """tenacity's ``before_sleep``: tell ``on_retry`` which attempt failed, why, and how long the wait is."""
        if self._on_retry is None or state.outcome is None:
            return
        error = state.outcome.exception()
        if error is not None:
            wait = state.next_action.sleep if state.next_action is not None else 0.0
            self._on_retry(state.attempt_number, error, wait)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, api={self.api!r}, auth={self._auth.kind})"


class _PoolOwner:
    """The pool this client (and its ``with_options`` copies) made itself, and the process it belongs to."""

    def __init__(self, pid: int, http: httpx.Client | httpx.AsyncClient | None) -> None:
        self.pid = pid
        self.http = http
