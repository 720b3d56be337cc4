"""The common shape of call parameters, checked without pydantic: a few scalars of the exact type, in range.

A call usually passes nothing or a few numbers (``max_tokens=64, temperature=0.2``); running pydantic's
validator for them cost more than the rest of the check. :func:`plain_params` returns what the validator
would return for such parameters (the keys in the TypedDict's order, an int given for a float field as a
float), or None for anything else: a value pydantic would convert or refuse (``True`` for an int, ``"5"``,
out of range), a tool, a response format, an unknown name. None sends the call down the pydantic path,
which gives the result or the error (tests/unit/test_plain_params.py checks both paths agree).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .param_table import bounds

_INT, _FLOAT, _BOOL, _STR, _STOP, _LOGPROBS = range(6)
_KINDS: dict[str, int] = {
    "max_tokens": _INT, "max_completion_tokens": _INT, "n": _INT, "best_of": _INT, "seed": _INT,
    "top_logprobs": _INT,
    "temperature": _FLOAT, "top_p": _FLOAT, "presence_penalty": _FLOAT, "frequency_penalty": _FLOAT,
    "ignore_eos": _BOOL, "use_beam_search": _BOOL, "skip_special_tokens": _BOOL, "parallel_tool_calls": _BOOL,
    "model": _STR, "stop": _STOP, "logprobs": _LOGPROBS,
}
_EXACT_FLOAT = 2**53  # an int up to this is the same number as a float (pydantic turns it into one)


def _limits(name: str) -> tuple[float, float, float]:
    """The widest range of ``name``, as the TypedDicts' ``Field(...)`` has it: (ge, gt, le), infinite where
    there is no bound (the routes' own ranges are checked later, ``route_params.check_route_ranges``)."""
    found = bounds(name)
    return found.get("ge", -math.inf), found.get("gt", -math.inf), found.get("le", math.inf)


_CHECKS: dict[str, tuple[int, float, float, float]] = {name: (kind, *_limits(name)) for name, kind in _KINDS.items()}


def field_ranks(names: Mapping[str, Any]) -> dict[str, int]:
    """Each field's position in its TypedDict (``ChatParams.__annotations__``): pydantic's output order."""
    return {name: rank for rank, name in enumerate(names)}


def plain_params(params: Mapping[str, Any], ranks: Mapping[str, int]) -> dict[str, Any] | None:
    """``params`` as the validator of the TypedDict whose fields are ``ranks`` returns them, or None when
    they are not all plain scalars of the exact type, in range (pydantic then decides)."""
    if not params:
        return {}
    out: dict[str, Any] = {}
    for name, value in params.items():
        check = _CHECKS.get(name)
        if check is None or name not in ranks:
            return None
        kind, ge, gt, le = check
        kind_of = type(value)
        if kind == _FLOAT:
            if kind_of is int and -_EXACT_FLOAT <= value <= _EXACT_FLOAT:
                value = float(value)
            elif kind_of is not float:
                return None
        elif kind == _INT or (kind == _LOGPROBS and value is not None and kind_of is not bool):
            if kind_of is not int:
                return None
        elif kind == _BOOL:
            if kind_of is not bool:
                return None
        elif kind == _STR:
            if kind_of is not str:
                return None
        elif kind == _STOP:  # a string, a list of strings (a copy, as pydantic makes), or None
            if kind_of is list and all(type(item) is str for item in value):
                value = list(value)
            elif value is not None and kind_of is not str:
                return None
        numeric = kind <= _FLOAT or (kind == _LOGPROBS and kind_of is int)
        if numeric and not (ge <= value <= le and value > gt):  # NaN is in no range
            return None
        out[name] = value
    if len(out) > 1:
        out = {name: out[name] for name in sorted(out, key=ranks.__getitem__)}
    return out
