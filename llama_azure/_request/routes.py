"""Route styles: where each operation lives on each kind of endpoint.

- ``llama``: the serverless Llama API, ``/v1/chat/completions`` and ``/v1/completions``.
- ``model-inference``: the Azure AI Model Inference API, ``/chat/completions``, ``/completions``, ``/info``,
  each with ``?api-version=``.
- ``score``: a managed online endpoint's legacy ``/score`` route with the ``input_data`` body.
- ``openai-v1``: the OpenAI-compatible v1 surface of Azure OpenAI and Foundry resources,
  ``/openai/v1/chat/completions`` and ``/openai/v1/completions``, with no api-version.

Foundry Models (``https://<resource>.services.ai.azure.com/models``) is ``model-inference`` under the
``/models`` base path. There, and on ``openai-v1``, the body's ``model`` (the deployment name) picks the
model, so a call without one is refused before sending (:func:`requires_model`).
"""

from __future__ import annotations

from typing import Literal, get_args
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from .._exceptions import ConfigurationError

ApiStyle = Literal["llama", "model-inference", "score", "openai-v1"]
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
    "openai-v1": {"chat": "/chat/completions", "completions": "/completions"},  # no /info on this surface
}
OPENAI_V1_PATH = "/openai/v1"
FOUNDRY_MODELS_PATH = "/models"
_OPENAI_V1_ROUTES = ("/chat/completions", "/completions", "/models", "")
_OPENAI_HOST = ".openai.azure.com"
_FOUNDRY_HOSTS = (".services.ai.azure.com", ".cognitiveservices.azure.com")


def infer_api_style(endpoint: str) -> ApiStyle:
    """Guess the route style from the URL: ``/score`` or a managed-endpoint host means ``score``,
    ``/openai/v1`` (or a bare ``*.openai.azure.com``) ``openai-v1``, a ``/models`` base ``model-inference``.

    >>> infer_api_style("https://my-ep.eastus2.inference.ml.azure.com/score")
    'score'
    >>> infer_api_style("https://my-res.services.ai.azure.com/models")
    'model-inference'
    """
    parts = urlsplit(endpoint.strip())
    path = parts.path.rstrip("/")
    host = (parts.hostname or "").lower()
    if path.endswith("/score") or host.endswith(".inference.ml.azure.com"):
        return "score"
    base = _strip_route(path)
    if base.endswith(OPENAI_V1_PATH) or (host.endswith(_OPENAI_HOST) and base in ("", "/openai")):
        return "openai-v1"  # a bare Azure OpenAI host serves Llama only on the OpenAI surfaces
    if base.endswith(FOUNDRY_MODELS_PATH):
        return "model-inference"
    if host.endswith(_FOUNDRY_HOSTS) and base == "" and "@" not in parts.netloc:  # normalize_endpoint refuses "@"
        origin = f"{parts.scheme}://{parts.netloc}"
        raise ConfigurationError(
            f"{origin} serves two APIs; paste the one your deployment shows: {origin}/models (Foundry Models, "
            f"the Azure AI Model Inference API) or {origin}/openai/v1 (the OpenAI-compatible v1 surface)"
        )
    if path.endswith(("/chat/completions", "/completions")) and not path.startswith("/v1"):
        return "model-inference"
    return "llama"


def _strip_route(path: str) -> str:
    """``path`` without a route pasted at its end (``/openai/v1`` itself is kept: it is the base)."""
    for route in _OPENAI_V1_ROUTES:
        if path.endswith(OPENAI_V1_PATH + route):
            return path[: len(path) - len(route)]
    for suffix in _KNOWN_SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


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
    path = _strip_route(parts.path.rstrip("/"))
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


def base_url_for_style(endpoint: str, api: ApiStyle) -> str:
    """The base URL of ``endpoint`` for ``api``: ``openai-v1`` keeps a ``.../v1`` prefix and completes a bare
    host with ``/openai/v1``; ``model-inference`` on a bare Foundry host gets ``/models``.

    >>> base_url_for_style("https://my-res.openai.azure.com", "openai-v1")
    'https://my-res.openai.azure.com/openai/v1'
    """
    base = normalize_endpoint(endpoint)
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}"
    if api == "openai-v1":
        path = urlsplit(endpoint.strip()).path.rstrip("/")
        for route in _OPENAI_V1_ROUTES:
            if path.endswith("/v1" + route):  # any OpenAI-style prefix, not only /openai/v1
                return origin + path[: len(path) - len(route)]
        if parts.path in ("", "/openai"):
            return origin + OPENAI_V1_PATH
    host = (parts.hostname or "").lower()
    if api == "model-inference" and parts.path == "" and host.endswith(_FOUNDRY_HOSTS):
        return origin + FOUNDRY_MODELS_PATH
    return base


def requires_model(api: ApiStyle, base_url: str) -> bool:
    """True where the body's ``model`` (the deployment name) picks the model: ``openai-v1``, and
    ``model-inference`` under a Foundry ``/models`` base path."""
    return api == "openai-v1" or (api == "model-inference" and urlsplit(base_url).path.endswith(FOUNDRY_MODELS_PATH))


def has_route(api: ApiStyle, operation: Operation) -> bool:
    return operation in _PATHS[api]


def route_path(api: ApiStyle, operation: Operation) -> str:
    return _PATHS[api][operation]


def needs_api_version(api: ApiStyle, operation: Operation) -> bool:
    """The Model Inference routes (and ``/info`` everywhere) take ``?api-version=``; ``openai-v1`` never does."""
    return api == "model-inference" or (operation == "info" and api != "openai-v1")
