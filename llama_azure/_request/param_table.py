"""The one table of request parameters: each parameter's range, the service's default, and the routes that have it.

A route is ``"<route style>/<operation>"`` (``"model-inference/chat"``; Foundry Models is ``model-inference``).
The SDK builds its validation from it (``params.py``: the ranges; ``route_params.py``: which routes have a
parameter, and the ranges that differ by route); the reference server's request schemas are checked against
it by tests/server/test_param_table.py. Sources: docs/azure-llama-wire.md and the Azure Llama API tables
(``frequency_penalty`` is not in the Llama API's tables: only the Model Inference and OpenAI chat routes have it).
To add a parameter: a row here, the field in ``params.py``'s TypedDict, and the server schema of each route.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

STYLES = ("llama", "model-inference", "score", "openai-v1")
OPERATIONS = ("chat", "completions")
ROUTES = tuple(f"{style}/{op}" for style in STYLES for op in OPERATIONS)


@dataclass(frozen=True)
class Bounds:
    """A numeric range; ``None`` is no bound on that side."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None

    def kwargs(self) -> dict[str, float]:
        """As pydantic ``Field`` keyword arguments."""
        return {k: v for k, v in (("ge", self.ge), ("gt", self.gt), ("le", self.le)) if v is not None}

    def contains(self, value: float) -> bool:
        return ((self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
                and (self.le is None or value <= self.le))

    def __str__(self) -> str:
        if self.ge is not None and self.le is not None:
            return f"{self.ge:g}..{self.le:g}"
        parts = [f">= {self.ge:g}" if self.ge is not None else "", f"> {self.gt:g}" if self.gt is not None else "",
                 f"<= {self.le:g}" if self.le is not None else ""]
        return " and ".join(part for part in parts if part)


@dataclass(frozen=True)
class Param:
    name: str
    routes: frozenset[str]
    bounds: Bounds | None = None
    default: Any = None
    by_route: Mapping[str, tuple[Bounds | None, Any]] = field(default_factory=dict)
    """Routes whose range and default differ from ``bounds`` and ``default``."""
    server_cap: int | None = None
    """The reference server's own upper limit, below the API's (one request must not tie up the model)."""
    score_name: str | None = None
    """The name in the ``/score`` route's ``parameters`` (``None``: the same name)."""

    def bounds_on(self, route: str) -> Bounds | None:
        return self.by_route[route][0] if route in self.by_route else self.bounds

    def default_on(self, route: str) -> Any:
        return self.by_route[route][1] if route in self.by_route else self.default


def _on(*styles: str, ops: tuple[str, ...] = OPERATIONS) -> frozenset[str]:
    return frozenset(f"{style}/{op}" for style in styles for op in ops)


_ALL = frozenset(ROUTES)
_GENERATION = _on("llama", "model-inference", "openai-v1")  # every route but the legacy /score
_EXTRAS = _on("model-inference", "openai-v1", ops=("chat",))  # the Model Inference (and OpenAI) chat extras
_PENALTY = Bounds(ge=-2, le=2)
_LOGPROBS = Bounds(ge=0, le=20)

PARAMS: Mapping[str, Param] = {p.name: p for p in (
    Param("max_tokens", _ALL, Bounds(ge=1), 16, score_name="max_new_tokens"),
    Param("max_completion_tokens", _on("openai-v1", ops=("chat",)), Bounds(ge=1)),  # OpenAI's max_tokens
    Param("temperature", _ALL, Bounds(ge=0, le=2), 1.0,
          by_route={"model-inference/chat": (Bounds(ge=0, le=1), 0.7)}),
    Param("top_p", _ALL, Bounds(gt=0, le=1), 1.0),
    Param("seed", _ALL, Bounds(ge=-(2**63), le=2**64 - 1), by_route={"score/chat": (None, None),
                                                                     "score/completions": (None, None)}),
    Param("n", _ALL, Bounds(ge=1, le=128), 1, server_cap=16),  # /score: 1 only (one answer per input)
    Param("stop", _GENERATION),
    Param("best_of", _GENERATION, Bounds(ge=1), server_cap=16),
    Param("logprobs", _GENERATION, _LOGPROBS),  # an int; True (OpenAI's chat form) on the _EXTRAS routes
    Param("presence_penalty", _GENERATION, _PENALTY, 0.0),
    Param("frequency_penalty", _EXTRAS, _PENALTY, 0.0),
    Param("ignore_eos", _GENERATION, default=False),
    Param("use_beam_search", _GENERATION, default=False),
    Param("stop_token_ids", _GENERATION),
    Param("skip_special_tokens", _GENERATION, default=True),
    Param("model", _GENERATION),
    Param("tools", _EXTRAS),
    Param("tool_choice", _EXTRAS),
    Param("parallel_tool_calls", _EXTRAS),
    Param("response_format", _EXTRAS),
    Param("top_logprobs", _EXTRAS, _LOGPROBS),
)}
"""Every body parameter the SDK types (``messages``, ``prompt`` and ``stream`` aside)."""

CHAT_FORM_LOGPROBS = _EXTRAS
"""Routes where chat ``logprobs=True`` (OpenAI's chat form, with ``top_logprobs``) exists."""


def route_of(api: str, operation: str) -> str:
    return f"{api}/{operation}"


def bounds(name: str) -> dict[str, float]:
    """The widest range of ``name`` over its routes, as ``Field`` keyword arguments (the narrower ranges of
    some routes are checked by ``route_params.check_route_ranges``)."""
    param = PARAMS[name]
    ranges = [param.bounds_on(route) for route in param.routes]
    if not ranges or any(r is None for r in ranges):
        return {}
    widest: dict[str, float] = {}
    for side, pick in (("ge", min), ("gt", min), ("le", max)):
        values = [getattr(r, side) for r in ranges]
        if all(v is not None for v in values):
            widest[side] = pick(values)
    return widest
