"""Which chat parameters each route style lacks: the one table to extend when a route style is added.

The Llama API routes (``/v1/chat/completions``) and the legacy ``/score`` route have no tools or
structured output; the Azure AI Model Inference routes have them. A parameter the chosen route lacks is
refused before anything is sent (sending it with ``extra_body`` would be silently ignored by the model).
A route style not listed here has every parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ._exceptions import ParameterError
from ._routes import API_STYLES

_STRUCTURED = frozenset({"tools", "tool_choice", "response_format", "parallel_tool_calls", "top_logprobs"})

LACKS: Mapping[str, frozenset[str]] = {
    "llama": _STRUCTURED,
    "score": _STRUCTURED,
}
"""Route style -> chat parameters it does not have."""

_HAS_THEM = "the model-inference route (/chat/completions?api-version=...)"
_HOW = "LlamaClient(endpoint, credential, api='model-inference')"


def routes_with(param: str) -> list[str]:
    """The route styles known to have ``param``."""
    return [style for style in API_STYLES if param not in LACKS.get(style, frozenset())]


def check_route_params(api: str, names: Iterable[str], logprobs: object = None) -> None:
    """Refuse a parameter the route style ``api`` lacks, naming the route that has it (``logprobs=True``, the
    chat form, goes with ``top_logprobs``)."""
    lacking = LACKS.get(api)
    if not lacking:
        return
    if logprobs is True and "top_logprobs" in lacking:
        raise ParameterError(
            f"logprobs=True (the chat form) is not available on the {api} route: it is on {_HAS_THEM}; on the "
            f"{api} route pass logprobs=N, the number of alternatives per token", param="logprobs")
    for name in names:
        if name in lacking:
            others = ", ".join(repr(style) for style in routes_with(name))
            raise ParameterError(
                f"{name} is not available on the {api} route: it is on {_HAS_THEM}; if your deployment "
                f"serves it, use {_HOW} (route styles with {name}: {others})",
                param=name,
            )
