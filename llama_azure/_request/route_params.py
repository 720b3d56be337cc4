"""Which parameters each route has, and the ranges that differ by route, read from the one parameter table
(``param_table.py``, the table to extend when a route style or a parameter is added).

The Llama API routes (``/v1/chat/completions``) and the legacy ``/score`` route have no tools, structured
output or ``frequency_penalty``; ``/score`` takes only ``temperature``, ``top_p``, ``max_tokens`` and
``seed``. A parameter the chosen route lacks is refused before anything is sent (sending it with
``extra_body`` would be silently ignored by the model), and so is a value outside the route's range
(``temperature`` is 0..1 in Model Inference chat).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from .._exceptions import ParameterError
from .param_table import CHAT_FORM_LOGPROBS, PARAMS, STYLES, Bounds, route_of

_HAS_THEM = "the model-inference route (/chat/completions?api-version=...)"
_HOW = "LlamaClient(endpoint, credential, api='model-inference')"


def routes_with(param: str, operation: str = "chat") -> list[str]:
    """The route styles known to have ``param`` (all of them for a parameter the table does not list)."""
    found = PARAMS.get(param)
    return [style for style in STYLES if found is None or route_of(style, operation) in found.routes]


def check_route_params(api: str, names: Iterable[str], logprobs: object = None, operation: str = "chat") -> None:
    """Refuse a parameter the route style ``api`` lacks for ``operation``, naming the routes that have it
    (``logprobs=True``, the chat form, goes with ``top_logprobs``)."""
    route = route_of(api, operation)
    if logprobs is True and operation == "chat" and route not in CHAT_FORM_LOGPROBS:
        raise ParameterError(
            f"logprobs=True (the chat form) is not available on the {api} route: it is on {_HAS_THEM}; on the "
            f"{api} route pass logprobs=N, the number of alternatives per token", param="logprobs")
    for name in names:
        param = PARAMS.get(name)
        if param is None or route in param.routes:
            continue
        if name == "max_completion_tokens":
            raise ParameterError(
                f"max_completion_tokens is not available for {operation} on the {api} route, which limits the "
                f"answer with max_tokens: pass max_tokens instead (max_completion_tokens, OpenAI's name of it, "
                f"is taken by chat on the openai-v1 route)", param=name)
        if api == "score" and route_of("llama", operation) in param.routes:
            continue  # the score route's own check says what it takes (score.score_parameters)
        styles = routes_with(name, operation)
        others = ", ".join(repr(style) for style in styles)
        where = _HAS_THEM if "model-inference" in styles else f"the {others} route"
        raise ParameterError(
            f"{name} is not available on the {api} route: it is on {where}; if your deployment "
            f"serves it, use {_HOW} (route styles with {name}: {others})",
            param=name,
        )


@cache
def _ranges_on(route: str) -> dict[str, Bounds]:
    """The parameters with a range on ``route``, and the range (read once per route, not per call)."""
    return {name: found for name, param in PARAMS.items() if (found := param.bounds_on(route)) is not None}


def check_route_ranges(api: str, operation: str, body: Mapping[str, Any]) -> None:
    """Refuse a number outside the range the route has for it (the SDK's types allow the widest range)."""
    ranges = _ranges_on(route_of(api, operation))
    for name, value in body.items():
        found = ranges.get(name)
        if found is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not found.contains(value):
            raise ParameterError(
                f"invalid {name}: {operation} on the {api} route takes {name} {found} (got {value!r})", param=name)
