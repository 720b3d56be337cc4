"""The common shape of call parameters, checked without pydantic: a few scalars of the exact type, in range.

A call usually passes nothing or a few numbers (``max_tokens=64, temperature=0.2``); running pydantic's
validator for them cost more than the rest of the check. :func:`plain_params` returns what the validator
would return for such parameters (the keys in the TypedDict's order, an int given for a float field as a
float), or None for anything else: a value pydantic would convert or refuse (``True`` for an int, ``"5"``,
out of range), a tool, a response format, an unknown name. None sends the call down the pydantic path,
which gives the result or the error (tests/unit/test_plain_params.py checks both paths agree).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .param_table import Bounds, bounds

_INT, _FLOAT, _BOOL, _STR, _STOP, _LOGPROBS = range(6)
_KINDS: dict[str, int] = {
    "max_tokens": _INT, "max_completion_tokens": _INT, "n": _INT, "best_of": _INT, "seed": _INT,
    "top_logprobs": _INT,
    "temperature": _FLOAT, "top_p": _FLOAT, "presence_penalty": _FLOAT, "frequency_penalty": _FLOAT,
    "ignore_eos": _BOOL, "use_beam_search": _BOOL, "skip_special_tokens": _BOOL, "parallel_tool_calls": _BOOL,
    "model": _STR, "stop": _STOP, "logprobs": _LOGPROBS,
}
# The widest range of each, as the TypedDicts' Field(...) has it (the routes' own ranges are checked later).
_RANGES: dict[str, Bounds | None] = {name: Bounds(**bounds(name)) if bounds(name) else None for name in _KINDS}
_EXACT_FLOAT = 2**53  # an int up to this is the same number as a float (pydantic turns it into one)


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
        kind = _KINDS.get(name)
        if kind is None or name not in ranks:
            return None
        plain = _plain_value(kind, value, _RANGES[name])
        if plain is _NOT_PLAIN:
            return None
        out[name] = plain
    if len(out) > 1:
        out = dict(sorted(out.items(), key=lambda item: ranks[item[0]]))
    return out


_NOT_PLAIN = object()


def _plain_value(kind: int, value: Any, limits: Bounds | None) -> Any:
    kind_of = type(value)
    if kind == _FLOAT:
        if kind_of is int and -_EXACT_FLOAT <= value <= _EXACT_FLOAT:
            value = float(value)
        elif kind_of is not float:
            return _NOT_PLAIN
    elif kind in (_INT, _LOGPROBS):
        if kind == _LOGPROBS and (value is None or kind_of is bool):
            return value
        if kind_of is not int:
            return _NOT_PLAIN
    elif kind == _BOOL:
        return value if kind_of is bool else _NOT_PLAIN
    elif kind == _STR:
        return value if kind_of is str else _NOT_PLAIN
    else:  # stop: a string, a list of strings (a copy, as pydantic makes), or None
        if value is None or kind_of is str:
            return value
        if kind_of is list and all(type(item) is str for item in value):
            return list(value)
        return _NOT_PLAIN
    return value if limits is None or limits.contains(value) else _NOT_PLAIN
