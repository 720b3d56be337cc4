"""A client's settings, checked: ``ClientConfig`` (the endpoint and its options) and the check of each option.

The constructor, ``with_options`` and the deployments' clients build their ``ClientConfig`` here; a call's own
options (``timeout=``, ``extra_headers=``, ``max_retries=``, ...) go through the same checks when ``prepare``
prepares the call.
"""

from __future__ import annotations

import math
import os
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import httpx

from .._exceptions import ConfigurationError, ParameterError
from .._http.origins import check_plain_http
from .._request.routes import (
    DEFAULT_API_VERSION,
    ApiStyle,
    Operation,
    api_version_from_url,
    base_url_for_style,
    check_api_style,
    infer_api_style,
    needs_api_version,
    route_path,
)
from .._streaming.body import check_max_response_bytes
from .._version import __version__
from .options import DEFAULT_OPTIONS, ClientOptions

ENV_ENDPOINT = "LLAMA_AZURE_ENDPOINT"
DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=5.0)
USER_AGENT = f"llama-azure/{__version__} python/{platform.python_version()} httpx/{httpx.__version__}"
# What an HTTP header value may hold here: visible ASCII and spaces (no CR/LF, no control characters).
_SENDABLE_VALUE = re.compile(r"[\x20-\x7e]*")
_TOKEN_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
REQUEST_ID_HEADER = "x-ms-client-request-id"
# Headers httpx adds to a request with a body: a call whose headers name one has them made by httpx.
AUTO_HEADERS = frozenset({"host", "content-length", "transfer-encoding"})
EncodedHeaders = tuple[tuple[bytes, bytes], ...]


def check_headers(headers: object, name: str, error: type[ParameterError | ConfigurationError]) -> dict[str, str]:
    """A plain dict of sendable headers; the message names the header, never its value."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise _make(error, f"{name} must be a mapping of header names to strings, got {type(headers).__name__}",
                    name)
    checked: dict[str, str] = {}
    for key, value in headers.items():
        if not isinstance(key, str) or not _TOKEN_NAME.fullmatch(key):
            raise _make(error, f"{name} has an invalid header name {str(key)[:40]!r}", name)
        if not isinstance(value, str) or not _SENDABLE_VALUE.fullmatch(value):
            raise _make(error, f"{name}[{key!r}] must be a string of printable ASCII characters (no line breaks); "
                        f"got a {type(value).__name__} that is not (its value is not shown, it may be a secret)",
                        name)
        checked[key] = value
    return checked


def _make(error: type[ParameterError | ConfigurationError], message: str, name: str) -> Exception:
    return ParameterError(message, param=name) if error is ParameterError else ConfigurationError(message)


def _finite_seconds(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def to_timeout(value: float | httpx.Timeout | None) -> httpx.Timeout:
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, httpx.Timeout):
        for part, seconds in value.as_dict().items():
            if seconds is not None and not (_finite_seconds(seconds) and seconds > 0):
                raise ParameterError(f"timeout's {part} must be None or a finite number of seconds > 0, "
                                     f"got {seconds!r}", param="timeout")
        return value
    if not (_finite_seconds(value) and value > 0) or value > 10**9:
        raise ParameterError(f"timeout must be a finite number of seconds > 0 or an httpx.Timeout, got {value!r}",
                             param="timeout")
    return httpx.Timeout(float(value), connect=min(5.0, float(value)))


def check_max_retries(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParameterError(f"max_retries must be an int >= 0, got {value!r}", param="max_retries")
    return value


def check_seconds(value: object, name: str) -> float | None:
    """None, or a finite positive number of seconds (``stream_idle_timeout``, ``total_timeout``)."""
    if value is None:
        return None
    if not (_finite_seconds(value) and value > 0):  # type: ignore[operator]
        raise ConfigurationError(f"{name} must be a finite number of seconds > 0, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def check_flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be True or False, got {value!r}")
    return value


def check_max_retry_wait(value: object) -> float:
    """The cap on a service-requested wait: finite and >= 0 (NaN would let a 24 h Retry-After through)."""
    if not (_finite_seconds(value) and value >= 0):  # type: ignore[operator]
        raise ConfigurationError(f"max_retry_wait must be a finite number of seconds >= 0, got {value!r}")
    return float(value)  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """Everything a client knows besides its credential and its HTTP connection pool: the endpoint, and its
    options (``options.ClientOptions``) checked."""

    base_url: str
    api: ApiStyle
    api_version: str = DEFAULT_API_VERSION
    deployment: str | None = None
    # The options, checked (their defaults are ClientOptions'; on_retry is the shells' alone).
    default_headers: Mapping[str, str] = field(repr=False)  # may hold a secret
    max_retries: int
    max_retry_wait: float
    timeout: httpx.Timeout
    stream_idle_timeout: float | None
    total_timeout: float | None
    allow_insecure_http: bool
    max_response_bytes: int
    model: str | None
    """The default ``model`` of the body (the deployment name on Foundry Models and ``openai-v1``)."""

    @classmethod
    def create(
        cls,
        endpoint: str | None,
        *,
        api: str | None,
        api_version: str | None,
        deployment: str | None,
        options: ClientOptions = DEFAULT_OPTIONS,
        default_timeout: httpx.Timeout | None = None,
    ) -> ClientConfig:
        """The config of ``endpoint`` with ``options``; ``default_timeout`` applies when ``options.timeout``
        is None (an injected client's own timeout), else 600 s."""
        endpoint = endpoint or os.environ.get(ENV_ENDPOINT)
        if not endpoint:
            raise ConfigurationError(
                f"no endpoint: pass endpoint='https://<name>.<region>.models.ai.azure.com' or set {ENV_ENDPOINT}"
            )
        if not isinstance(endpoint, str):
            raise ConfigurationError(f"endpoint must be a URL string, got {type(endpoint).__name__}")
        if api_version is None:  # an ?api-version= pasted with the endpoint wins over the default
            api_version = api_version_from_url(endpoint) or DEFAULT_API_VERSION
        if not isinstance(api_version, str) or not _TOKEN_NAME.fullmatch(api_version):
            raise ConfigurationError(f"api_version must look like '2024-05-01-preview', got {api_version!r}")
        if deployment is not None and (not isinstance(deployment, str) or not _SENDABLE_VALUE.fullmatch(deployment)):
            raise ConfigurationError("deployment must be a deployment name (a string of printable ASCII characters)")
        style = check_api_style(api) if api is not None else infer_api_style(endpoint)
        return cls(base_url=base_url_for_style(endpoint, style), api=style, api_version=api_version,
                   deployment=deployment, **_checked(options, default_timeout))

    def with_options(self, options: ClientOptions, default_timeout: httpx.Timeout | None = None) -> ClientConfig:
        """The same endpoint with ``options`` (all of them: see ``ClientOptions.updated`` for a change)."""
        return replace(self, **_checked(options, default_timeout))

    # What every call of this config (a client, or a with_options copy: ``replace`` makes new caches) shares,
    # computed at its first use instead of per call.

    @cached_property
    def _routes(self) -> dict[Operation, tuple[httpx.URL, str]]:
        return {}

    @cached_property
    def _header_templates(self) -> dict[tuple[bool, bool], dict[str, str]]:
        return {}

    @cached_property
    def _json_headers(self) -> dict[tuple[bool, bool], tuple[EncodedHeaders, EncodedHeaders] | None]:
        return {}

    def json_headers(self, stream: bool, pass_through: bool) -> tuple[EncodedHeaders, EncodedHeaders] | None:
        """For a call with a JSON body and no ``extra_headers``: :meth:`header_template` encoded as sent (names
        in lower case), the headers before the request id (made per call) and those after it. None where the
        call's headers are built the general way (``prepare._headers``): ``default_headers`` fix the request id,
        set a content-type or name a header httpx adds itself."""
        key = (stream, pass_through)
        if key not in self._json_headers:
            template = self.header_template(stream, pass_through)
            if (REQUEST_ID_HEADER in self.default_headers or "content-type" in template
                    or any(name.lower() in AUTO_HEADERS for name in template)):
                self._json_headers[key] = None
            else:
                encoded = [(name.lower().encode(), value.encode()) for name, value in template.items()]
                at = list(template).index(REQUEST_ID_HEADER)
                self._json_headers[key] = (tuple(encoded[:at]), tuple(encoded[at + 1:]))
        return self._json_headers[key]

    def route(self, operation: Operation) -> tuple[httpx.URL, str]:
        """The URL of ``operation`` (with ``api-version`` where the route needs it), checked against
        ``allow_insecure_http``, and its ``host/path`` for messages."""
        known = self._routes.get(operation)
        if known is None:
            url = _url(self, operation, None)
            check_plain_http(url, self.allow_insecure_http)
            known = self._routes[operation] = (url, f"{url.host}{url.path}")
        return known

    def header_template(self, stream: bool, pass_through: bool) -> dict[str, str]:
        """The headers every such call sends, in their order; the request id is a placeholder (see
        ``prepare._headers``). Not to be changed: copy it."""
        key = (stream, pass_through)
        template = self._header_templates.get(key)
        if template is None:
            template = {
                "user-agent": USER_AGENT,
                "accept": "text/event-stream" if stream else "application/json",
                REQUEST_ID_HEADER: "",
            }
            if self.deployment:
                template["azureml-model-deployment"] = self.deployment
            if pass_through:
                template["extra-parameters"] = "pass-through"
            template.update(self.default_headers)
            self._header_templates[key] = template
        return template


def _checked(options: ClientOptions, default_timeout: httpx.Timeout | None) -> dict[str, Any]:
    """``ClientConfig``'s option fields: each of ``options`` checked (a ConfigurationError or ParameterError
    saying what to pass)."""
    model = options.model
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise ConfigurationError(f"model must be a deployment name (a non-empty string), got {model!r}")
    return dict(
        model=model,
        stream_idle_timeout=check_seconds(options.stream_idle_timeout, "stream_idle_timeout"),
        total_timeout=check_seconds(options.total_timeout, "total_timeout"),
        default_headers=check_headers(options.default_headers, "default_headers", ConfigurationError),
        max_retries=check_max_retries(options.max_retries),
        max_retry_wait=check_max_retry_wait(options.max_retry_wait),
        timeout=to_timeout(options.timeout if options.timeout is not None else default_timeout),
        allow_insecure_http=check_flag(options.allow_insecure_http, "allow_insecure_http"),
        max_response_bytes=check_max_response_bytes(options.max_response_bytes),
    )


def _url(config: ClientConfig, operation: Operation, extra_query: Mapping[str, str] | None) -> httpx.URL:
    params: dict[str, str] = {}
    if needs_api_version(config.api, operation):
        params["api-version"] = config.api_version
    if extra_query:
        params.update(extra_query)
    return httpx.URL(config.base_url + route_path(config.api, operation), params=params or None)
