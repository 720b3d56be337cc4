"""Bounds on a JSON schema before it becomes a grammar, so a 200-byte body cannot ask for gigabytes.

llama-cpp-python's converter writes ``"minLength": 20000000`` out as twenty million rule references (seconds
and hundreds of megabytes on the prompt thread, before llama.cpp gives up). :func:`check_schemas` walks the
schemas of a request once, counting what makes the grammar large, and raises :class:`SchemaTooLarge` naming
the limit; the answer is a 400, as OpenAI's structured outputs refuse a schema over their fixed limits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .limits import (
    MAX_SCHEMA_DEPTH,
    MAX_SCHEMA_OPTIONAL_PROPERTIES,
    MAX_SCHEMA_PROPERTIES,
    MAX_SCHEMA_REPEAT,
    MAX_SCHEMA_REPEATS_TOTAL,
)

REPEAT_KEYWORDS = ("minLength", "maxLength", "minItems", "maxItems")
# {m}, {m,} or {m,n} in a regular expression
_QUANTIFIER = re.compile(r"\{\s*(\d+)\s*(?:,\s*(\d*)\s*)?\}")


class SchemaTooLarge(ValueError):
    """A schema over one of this server's limits; the message names the limit and where it was passed."""


class _Count:
    def __init__(self) -> None:
        self.repeats = 0
        self.properties = 0


# Keywords whose value maps names to schemas, and those that hold values, not schemas.
_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties", "dependentSchemas"})
_VALUES = frozenset({"enum", "const", "default", "examples", "required"})


def check_schemas(schemas: Sequence[tuple[str, Any]]) -> None:
    """Raises :class:`SchemaTooLarge` when the ``(where, schema)`` pairs of one request, counted together,
    pass a limit: their grammars are compiled as one."""
    count = _Count()
    for where, schema in schemas:
        _walk(schema, where, 0, count)


def _walk(node: Any, where: str, depth: int, count: _Count) -> None:
    if depth > MAX_SCHEMA_DEPTH:
        raise SchemaTooLarge(f"the schema nests deeper than this server's limit of {MAX_SCHEMA_DEPTH} levels "
                             f"(at {where})")
    if isinstance(node, list):
        for index, item in enumerate(node):
            _walk(item, f"{where}.{index}", depth + 1, count)
        return
    if not isinstance(node, dict):
        return
    for keyword in REPEAT_KEYWORDS:
        if keyword in node:
            _repeat(count, node[keyword], f"{keyword} {node[keyword]!r}", where)
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        product = 1
        for low, high in _QUANTIFIER.findall(pattern):
            product *= max(int(low), int(high or 0))
            if product > MAX_SCHEMA_REPEAT:
                break
        _repeat(count, product, "the pattern's repetition counts multiplied", where)
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            if key == "properties":
                _properties(node, value, where, count)
            for name, schema in value.items():
                _walk(schema, f"{where}.{key}.{name}", depth + 1, count)
        elif key not in _VALUES and isinstance(value, (dict, list)):
            _walk(value, f"{where}.{key}", depth + 1, count)


def _repeat(count: _Count, value: Any, what: str, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return  # the converter refuses what is not a number
    if value > MAX_SCHEMA_REPEAT:
        raise SchemaTooLarge(f"{what} at {where} is over this server's limit of {MAX_SCHEMA_REPEAT} for "
                             f"{', '.join(REPEAT_KEYWORDS)} and pattern repetitions")
    count.repeats += int(value)
    if count.repeats > MAX_SCHEMA_REPEATS_TOTAL:
        raise SchemaTooLarge(f"the {', '.join(REPEAT_KEYWORDS)} and pattern repetitions of the request's schemas "
                             f"add up to more than this server's limit of {MAX_SCHEMA_REPEATS_TOTAL} (passed at "
                             f"{where})")


def _properties(node: dict[str, Any], properties: dict[str, Any], where: str, count: _Count) -> None:
    count.properties += len(properties)
    if count.properties > MAX_SCHEMA_PROPERTIES:
        raise SchemaTooLarge(f"the request's schemas have more than this server's limit of "
                             f"{MAX_SCHEMA_PROPERTIES} properties in all (passed at {where})")
    required = node.get("required")
    listed = {name for name in required if isinstance(name, str)} if isinstance(required, list) else set()
    optional = len(set(properties) - listed)
    if optional > MAX_SCHEMA_OPTIONAL_PROPERTIES:
        raise SchemaTooLarge(f"the object at {where} has {optional} optional properties, over this server's "
                             f"limit of {MAX_SCHEMA_OPTIONAL_PROPERTIES} for one object (list the others in "
                             f"'required')")
