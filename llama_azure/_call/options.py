"""The client options, each written once with its default: what ``with_options`` changes in a copy, and what
every deployment of a ``deployments=`` client takes from it.

``BaseClient.__init__`` lists them again as explicit keyword parameters (what users and type checkers see)
and ``OptionChanges`` types ``with_options(**changes)``; tests/sdk/test_client_options.py checks that the
three agree, and that ``ClientConfig`` (their checked form, ``_call/config.py``) and ``RequestOptions`` (the
per-call ones, ``_request/params.py``) do too. To add an option: a field here, the same keyword in
``BaseClient.__init__`` and in ``OptionChanges``, and its check in ``ClientConfig.with_options``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import httpx
from typing_extensions import TypedDict

from .._exceptions import ConfigurationError
from .._streaming.body import DEFAULT_MAX_RESPONSE_BYTES

DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_RETRY_WAIT = 60.0
OnRetry = Callable[[int, BaseException, float], object]


@dataclass(frozen=True)
class ClientOptions:
    """A client's defaults for its calls, as given (``ClientConfig.with_options`` checks them).

    Attributes:
        timeout: Seconds (or an ``httpx.Timeout``) for each network operation; None: 600 s (connect 5 s), or
            the timeout an injected ``http_client`` was given.
        max_retries: Retries of a call (408, 429, 5xx, connection errors, timeouts).
        max_retry_wait: The longest wait a ``Retry-After`` may ask for; a longer one is not waited for.
        stream_idle_timeout: Seconds a stream may go without a chunk; None: no limit.
        total_timeout: Seconds for a whole call (attempts, waits and stream); None: no limit.
        default_headers: Headers sent with every call.
        allow_insecure_http: Send the key or token over ``http://`` to a host that is not loopback.
        max_response_bytes: The largest non-streamed answer read (decoded), and the most a stream keeps for
            ``until_done()``.
        model: The body's ``model`` when a call names none (the deployment name on Foundry Models, openai-v1).
        on_retry: Called before each retry wait as ``on_retry(attempt, error, wait)``.
    """

    timeout: float | httpx.Timeout | None = None
    max_retries: int = DEFAULT_MAX_RETRIES
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT
    stream_idle_timeout: float | None = None
    total_timeout: float | None = None
    default_headers: Mapping[str, str] | None = field(default=None, repr=False)  # may hold a subscription key
    allow_insecure_http: bool = False
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    model: str | None = None
    on_retry: OnRetry | None = None

    def updated(self, changes: Mapping[str, Any]) -> ClientOptions:
        """``dataclasses.replace`` for ``with_options``: the options named change, the others stay, and
        ``default_headers`` are added to the current ones (a header named again takes the new value)."""
        unknown = sorted(set(changes) - set(OPTION_NAMES))
        if unknown:
            raise ConfigurationError(
                f"with_options takes no option {unknown[0]!r}: it changes {', '.join(OPTION_NAMES)}; the "
                f"endpoint, credential, http_client, rate_limit and deployments of a copy are its original's "
                f"(make a new client for others)")
        # None is the constructor's default, also for an option whose default is not None (max_retries=None: 2).
        changes = {name: getattr(DEFAULT_OPTIONS, name) if value is None else value for name, value in changes.items()}
        headers = changes.get("default_headers")
        if isinstance(headers, Mapping) and isinstance(self.default_headers, Mapping):
            changes["default_headers"] = {**self.default_headers, **headers}
        elif "default_headers" in changes and headers is None:  # None adds nothing
            del changes["default_headers"]
        return replace(self, **changes)

    def as_kwargs(self) -> dict[str, Any]:
        """The options as keyword arguments of ``LlamaClient(...)`` (not copied: ``on_retry`` stays itself)."""
        return {name: getattr(self, name) for name in OPTION_NAMES}


class OptionChanges(TypedDict, total=False):
    """What ``with_options(**changes)`` takes: any of :class:`ClientOptions`, with the constructor's meaning."""

    timeout: float | httpx.Timeout | None
    max_retries: int
    max_retry_wait: float
    stream_idle_timeout: float | None
    total_timeout: float | None
    default_headers: Mapping[str, str] | None
    allow_insecure_http: bool
    max_response_bytes: int
    model: str | None
    on_retry: OnRetry | None


OPTION_NAMES = tuple(f.name for f in fields(ClientOptions))
DEFAULT_OPTIONS = ClientOptions()
