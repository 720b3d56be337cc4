"""Route styles: where each operation lives on each kind of endpoint.

- ``llama``: the serverless Llama API, ``/v1/chat/completions`` and ``/v1/completions``.
- ``model-inference``: the Azure AI Model Inference API, ``/chat/completions``, ``/completions``, ``/info``,
  each with ``?api-version=``.
- ``score``: a managed online endpoint's legacy ``/score`` route with the ``input_data`` body.
"""

from __future__ import annotations

from typing import Literal, get_args
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from ._exceptions import ConfigurationError

ApiStyle = Literal["llama", "model-inference", "score"]
Operation = Literal["chat", "completions", "info"]

API_STYLES: tuple[str, ...] = get_args(ApiStyle)
DEFAULT_API_VERSION = "2024-05-01-preview"

# Paths users paste as part of the endpoint; the base URL is what comes before them.
_KNOWN_SUFFIXES = ("/v1/chat/completions", "/v1/completions", "/chat/completions", "/completions",
                   "/score", "/info", "/v1")

_PATHS: dict[ApiStyle, dict[Operation, str]] = {
    "llama": {"chat": "/v1/chat/completions", "completions": "/v1/completions", "info": "/info"},
    "model-inference": {"chat": "/chat/completions", "completions": "/completions", "info": "/info"},
    "score": {"chat": "/score", "completions": "/score", "info": "/info"},
}


def infer_api_style(endpoint: str) -> ApiStyle:
    """Guess the route style from the URL: ``/score`` or a managed-endpoint host means ``score``.

    >>> infer_api_style("https://my-ep.eastus2.inference.ml.azure.com/score")
    'score'
    """
    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/")
    host = (parts.hostname or "").lower()
    if path.endswith("/score") or host.endswith(".inference.ml.azure.com"):
        return "score"
    if path.endswith(("/chat/completions", "/completions")) and not path.startswith("/v1"):
        return "model-inference"
    return "llama"


def normalize_endpoint(endpoint: str) -> str:
    """The endpoint's base URL: scheme and host plus any prefix, without a trailing route."""
    text = endpoint.strip()
    parts = urlsplit(text)
    if "@" in parts.netloc:  # checked first: the error must not echo a password
        raise ConfigurationError(
            "endpoint must not contain a user name or password; pass the key as credential= instead"
        )
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"endpoint must be an http(s) URL such as 'https://my-llama.eastus2.models.ai.azure.com', "
            f"got {text[:200]!r}"
        )
    path = parts.path.rstrip("/")
    for suffix in _KNOWN_SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return urlunsplit((parts.scheme, parts.netloc, path, "", "")).rstrip("/")


def api_version_from_url(endpoint: str) -> str | None:
    """The ``api-version`` an endpoint URL carries in its query, or None (``normalize_endpoint`` drops the query).

    >>> api_version_from_url("https://x.services.ai.azure.com/models/chat/completions?api-version=2025-04-01")
    '2025-04-01'
    >>> api_version_from_url("https://my-llama.eastus2.models.ai.azure.com") is None
    True
    """
    try:
        query = urlsplit(endpoint.strip()).query
    except ValueError:  # a malformed URL: normalize_endpoint reports it
        return None
    found: str | None = None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name.strip().lower() == "api-version" and value.strip():
            found = value.strip()  # the last one wins, as most servers read a repeated parameter
    return found


def check_api_style(api: str) -> ApiStyle:
    if api not in API_STYLES:
        raise ConfigurationError(f"api must be one of {', '.join(API_STYLES)}; got {api!r}")
    return api  # type: ignore[return-value]


def route_path(api: ApiStyle, operation: Operation) -> str:
    return _PATHS[api][operation]


def needs_api_version(api: ApiStyle, operation: Operation) -> bool:
    """The Model Inference routes (and ``/info`` everywhere) take ``?api-version=``."""
    return api == "model-inference" or operation == "info"
