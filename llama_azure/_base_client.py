"""What the sync and the async client share: settings, credential, retry bookkeeping, copies, repr.

Everything here is free of I/O; ``LlamaClient`` and ``AsyncLlamaClient`` add sending and waiting.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

import httpx
from typing_extensions import Self, Unpack

from ._auth.auth import DEFAULT_REFRESH_MARGIN, Auth, resolve_auth
from ._auth.credentials import AsyncTokenCredential, KeyCredential, TokenCredential
from ._call.attempt import Streamed, attempt_flow
from ._call.config import ClientConfig
from ._call.failover import CoolDown, Deployment, Router, check_deployments, make_router
from ._call.options import DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_WAIT, ClientOptions, OptionChanges
from ._call.prepared import CallOutcome, PreparedCall
from ._call.retry import RetryPolicy, RetryRun, call_flow
from ._exceptions import ConfigurationError
from ._pacing.pacer import Pacer, is_rate_limit
from ._streaming.body import DEFAULT_MAX_RESPONSE_BYTES

if TYPE_CHECKING:
    from ._pacing.rate_limit import RateLimit
    from ._streaming.streams import AsyncStream, Stream

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
    _stream_class: ClassVar[type[Stream[Any, Any]] | type[AsyncStream[Any, Any]]]

    def __init__(
        self,
        endpoint: str | None = None,
        credential: str | KeyCredential | TokenCredential | AsyncTokenCredential | None = None,
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
        _shared: _Shared | None = None,
    ) -> None:
        """Make a client; it sends nothing until the first call.

        Args:
            endpoint: The endpoint URL (``https://<name>.<region>.models.ai.azure.com``, a managed endpoint, a
                Foundry ``.../models`` or an ``.../openai/v1`` URL); default ``$LLAMA_AZURE_ENDPOINT``. A route
                pasted with it (``/v1/chat/completions``) is dropped, and its ``?api-version=`` kept.
            credential: An API key string, a ``KeyCredential`` (azure-core's ``AzureKeyCredential``: rotate it
                with ``update()``), or a Microsoft Entra ID ``TokenCredential`` (azure-identity) or
                ``AsyncTokenCredential`` (``AsyncLlamaClient`` only); default ``$LLAMA_AZURE_API_KEY``.
            api: The route style, when the URL does not say it: ``llama`` (``/v1/chat/completions``),
                ``model-inference`` (``/chat/completions?api-version=``), ``score`` (managed endpoints' scoring
                script) or ``openai-v1``.
            deployment: A managed online endpoint's deployment, sent as the ``azureml-model-deployment`` header
                (not the body's ``model``).
            api_version: The ``api-version`` of the Model Inference routes (default: the one in the URL, else
                the SDK's).
            max_retries: Retries of a failed attempt (408, 429, 5xx, connection errors, time-outs); default 2.
            max_retry_wait: The longest wait before a retry, in seconds (default 60): a service that asks for a
                longer one gets its error raised at once.
            timeout: Seconds (or an ``httpx.Timeout``) for each network operation of an attempt; default 600.
            stream_idle_timeout: Seconds a stream may go without a chunk (default: no limit).
            total_timeout: Seconds for a whole call: every attempt, the waits between them and the whole stream
                (default: no limit).
            http_client: Your own ``httpx.Client`` (``httpx.AsyncClient`` for ``AsyncLlamaClient``): proxies,
                event hooks, pool limits. It stays yours to close.
            default_headers: Headers added to every request.
            scope: The Entra ID scope (audience) to ask tokens for (default: the one the host expects, see
                ``scope_for_endpoint``).
            token_refresh_margin: Seconds before its expiry that a cached Entra ID token is refreshed
                (default 300).
            allow_insecure_http: Allow an ``http://`` endpoint that is not on this machine (the key would cross
                the network in clear).
            max_response_bytes: The largest non-streamed answer read, decoded (default 64 MiB):
                ``ResponseTooLargeError`` beyond.
            model: The deployment name sent as the body's ``model`` when a call names none (needed on Foundry
                Models and ``openai-v1`` endpoints).
            rate_limit: A ``RateLimit``: calls wait for room in the deployment's quota instead of collecting 429s.
            on_retry: Called as ``on_retry(attempt, error, wait)`` before each retry's wait.
            deployments: Several ``Deployment`` s behind this one client, with failover between them (then
                ``endpoint``, ``model`` and ``rate_limit`` are each deployment's).
            cool_down: With ``deployments``: how long a deployment that failed is left alone (``CoolDown``).
        """
        options = ClientOptions(
            timeout=timeout, max_retries=max_retries, max_retry_wait=max_retry_wait,
            stream_idle_timeout=stream_idle_timeout, total_timeout=total_timeout,
            default_headers=dict(default_headers) if isinstance(default_headers, Mapping) else default_headers,
            allow_insecure_http=allow_insecure_http, max_response_bytes=max_response_bytes, model=model,
            on_retry=on_retry)
        if on_retry is not None and not callable(on_retry):
            raise ConfigurationError(f"on_retry must be a callable(attempt, error, wait), "
                                     f"got {type(on_retry).__name__}")
        if _shared is None:  # a new client; a with_options copy gets its original's
            _shared, options = self._setup(endpoint, credential, options, api=api, deployment=deployment,
                                           api_version=api_version, http_client=http_client, scope=scope,
                                           token_refresh_margin=token_refresh_margin, rate_limit=rate_limit,
                                           deployments=deployments, cool_down=cool_down)
            self._config, self._owns_http = _shared.config, http_client is None
        else:  # closing a copy leaves the shared pool open
            self._config, self._owns_http = _shared.config.with_options(options, _shared.default_timeout), False
        self._shared = _shared
        self._options = options
        self._on_retry = on_retry
        self._auth, self._pacer, self._router = _shared.auth, _shared.pacer, _shared.router
        self._http: HttpT = _shared.http  # type: ignore[assignment]
        self._pool = _shared.pool
        self._bind_resources()

    def _setup(self, endpoint: str | None, credential: object, options: ClientOptions, *,
               api: Literal["llama", "model-inference", "score", "openai-v1"] | None, deployment: str | None,
               api_version: str | None, http_client: HttpT | None, scope: str | None,
               token_refresh_margin: float, rate_limit: RateLimit | None, deployments: Sequence[Deployment] | None,
               cool_down: CoolDown | None) -> tuple[_Shared, ClientOptions]:
        """What a new client and its copies share (its config, credential, pool, pacer, deployments), and its
        options (with ``deployments=``, the first one's ``model``)."""
        default_credential = credential
        if deployments is not None:  # this client's own settings are the first deployment's
            first = check_deployments(deployments)[0]
            if endpoint is not None or rate_limit is not None or options.model is not None:
                raise ConfigurationError("with deployments=, pass endpoint=, model= and rate_limit= on each "
                                         "Deployment")
            endpoint, api, deployment = first.endpoint, first.api, first.deployment
            credential = credential if first.credential is None else first.credential
            options = replace(options, model=first.model)
        default_timeout = chosen_timeout_of(http_client)
        config = ClientConfig.create(endpoint, api=api, api_version=api_version, deployment=deployment,
                                     options=options, default_timeout=default_timeout)
        auth = resolve_auth(credential, endpoint=config.base_url, scope=scope,
                            refresh_margin=token_refresh_margin, is_async=self._is_async)
        if rate_limit is not None and not is_rate_limit(rate_limit):
            raise ConfigurationError(f"rate_limit must be a RateLimit(requests=..., tokens=...), "
                                     f"got {type(rate_limit).__name__}")
        pacer = Pacer(rate_limit, config) if rate_limit is not None else None
        http = http_client or self._http_class(limits=DEFAULT_LIMITS, timeout=config.timeout)
        router = None if deployments is None else make_router(
            deployments, default_credential, cool_down, options, is_async=self._is_async, api_version=api_version,
            scope=scope, token_refresh_margin=token_refresh_margin, default_timeout=default_timeout)
        pool = _PoolOwner(os.getpid(), http if http_client is None else None)
        return _Shared(config, default_timeout, auth, pacer, http, pool, router), options

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

    def with_options(self, **changes: Unpack[OptionChanges]) -> Self:
        """A copy with new defaults: ``client.with_options(timeout=30, max_retries=0).chat.completions.create(...)``.

        It takes the constructor's options, with their meaning there: ``timeout``, ``max_retries``,
        ``max_retry_wait``, ``stream_idle_timeout``, ``total_timeout``, ``default_headers`` (added to the
        current ones), ``allow_insecure_http``, ``max_response_bytes``, ``model`` and ``on_retry``. The options
        not named keep their value; one named as None takes the constructor's default (``stream_idle_timeout=None``:
        no idle limit). The copy shares this client's connection pool (closing it leaves the pool open), its
        credential and token cache, its ``rate_limit`` budget and, with ``deployments=``, the deployments and their
        cool-downs (whose ``model`` is each Deployment's: ``model=`` is refused there; with ``rate_limit=`` too, as
        the budget is the deployment's).
        """
        if "model" in changes and self._router is not None:
            raise ConfigurationError("with deployments=, model= is each Deployment's: with_options cannot change it")
        if "model" in changes and self._pacer is not None and changes["model"] != self._options.model:
            raise ConfigurationError(
                "with rate_limit=, model= cannot change in a copy: the copy shares the budget of this client's "
                f"deployment ({self._options.model!r}), and another deployment has its own quota; make a new "
                "client with its own RateLimit")
        options = self._options.updated(changes)
        shared = replace(self._shared, http=self._http)  # the pool renewed by a fork, if any
        return type(self)(**options.as_kwargs(), _shared=shared)

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

    def _call_flow(self, call: PreparedCall[Any], outcome: CallOutcome) -> Generator[Any, Any, Any]:
        """The one flow of ``call``, which the shell drives: its attempts and retries, or with ``deployments=``
        the router's."""
        self._check_fork()  # every attempt sends through this client's pool: renewed after a fork
        if self._router is not None:
            return self._router.flow(call, outcome, self._config, self._http, self._on_retry)
        return call_flow(partial(attempt_flow, call, outcome, self._pacer, self._http, self._auth),
                         partial(self._retry_run, call, outcome))

    def _answer(self, result: Any, call: PreparedCall[Any], outcome: CallOutcome) -> Any:
        """What a call returns: its result, or for a stream the shell's stream class around the response."""
        if not isinstance(result, Streamed):
            return result
        stream = self._stream_class(result.response, result.chunk_type, where=result.where, timer=call.timer,
                                    finish=call.finish, on_usage=self._on_stream_usage(result),
                                    max_response_bytes=call.max_response_bytes)
        stream._deployment = outcome.deployment
        return stream

    def _on_stream_usage(self, streamed: Streamed) -> Callable[[Any], None] | None:
        """What a stream tells its answer's usage (pacing); the async shell keeps a round trip off the loop."""
        return streamed.on_usage

    def _retry_run(self, call: PreparedCall[Any], outcome: CallOutcome) -> RetryRun:
        return RetryRun(RetryPolicy(call.max_retries, self._config.max_retry_wait), call, outcome, self._on_retry)

    def __repr__(self) -> str:
        if self._router is not None:  # deployments=: each one by its name (no query or user info: no secret)
            names = [member.deployment.name for member in self._router.members]
            return f"{type(self).__name__}(deployments={names!r}, auth={self._auth.kind})"
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, api={self.api!r}, auth={self._auth.kind})"


@dataclass(frozen=True)
class _Shared:
    """What a client hands to its ``with_options`` copies (``BaseClient(..., _shared=)``): its endpoint's config
    (the copy puts its own options in), the injected client's timeout, the credential's auth (and token cache),
    the pacer (and its budget), the pool and the deployments' router."""

    config: ClientConfig
    default_timeout: httpx.Timeout | None
    auth: Auth
    pacer: Pacer | None
    http: httpx.Client | httpx.AsyncClient
    pool: _PoolOwner
    router: Router | None


class _PoolOwner:
    """The pool this client (and its ``with_options`` copies) made itself, and the process it belongs to."""

    def __init__(self, pid: int, http: httpx.Client | httpx.AsyncClient | None) -> None:
        self.pid = pid
        self.http = http
