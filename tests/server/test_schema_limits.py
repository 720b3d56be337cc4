"""The bounds on a request's JSON schemas (``llama_azure.server.schema_limits``), one by one, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from llama_azure.server.limits import (
    MAX_SCHEMA_DEPTH,
    MAX_SCHEMA_OPTIONAL_PROPERTIES,
    MAX_SCHEMA_PROPERTIES,
    MAX_SCHEMA_REPEAT,
)
from llama_azure.server.schema_limits import SchemaTooLarge, check_schemas


def check(schema: Any) -> None:
    check_schemas([("schema", schema)])


@pytest.mark.parametrize("keyword", ["minLength", "maxLength", "minItems", "maxItems"])
def test_each_repetition_count_is_bounded(keyword: str) -> None:
    check({"type": "string", keyword: MAX_SCHEMA_REPEAT})
    over = rf"{keyword} {MAX_SCHEMA_REPEAT + 1} at schema\.properties\.a is over .* limit of "
    with pytest.raises(SchemaTooLarge, match=over):
        check({"type": "object", "properties": {"a": {keyword: MAX_SCHEMA_REPEAT + 1}}})


def test_a_patterns_counts_are_multiplied() -> None:
    check({"type": "string", "pattern": r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$"})
    with pytest.raises(SchemaTooLarge, match=r"pattern's repetition counts multiplied at schema\.properties\.p"):
        check({"properties": {"p": {"type": "string", "pattern": "^(a{100}){100}$"}}})


def test_the_counts_of_all_schemas_of_a_request_add_up() -> None:
    one = {"type": "string", "maxLength": MAX_SCHEMA_REPEAT}
    tools = [(f"tools.{i}.function.parameters", {"type": "object", "properties": {"a": one}, "required": ["a"]})
             for i in range(10)]
    check_schemas(tools)
    with pytest.raises(SchemaTooLarge, match=r"add up to more than .* \(passed at tools.10.function.parameters"):
        check_schemas([*tools, ("tools.10.function.parameters", one)])


def test_properties_optional_properties_and_depth_are_bounded() -> None:
    names = [f"p{i}" for i in range(MAX_SCHEMA_OPTIONAL_PROPERTIES + 1)]
    with pytest.raises(SchemaTooLarge, match=f"has {len(names)} optional properties"):
        check({"type": "object", "properties": {n: {"type": "string"} for n in names}})
    check({"type": "object", "properties": {n: {"type": "string"} for n in names}, "required": names})
    wide = [f"p{i}" for i in range(MAX_SCHEMA_PROPERTIES + 1)]
    with pytest.raises(SchemaTooLarge, match=f"limit of {MAX_SCHEMA_PROPERTIES} properties"):
        check({"type": "object", "properties": {n: {"type": "string"} for n in wide}, "required": wide})
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(MAX_SCHEMA_DEPTH + 1):
        deep = {"type": "array", "items": deep}
    with pytest.raises(SchemaTooLarge, match=f"limit of {MAX_SCHEMA_DEPTH} levels"):
        check(deep)


def test_values_are_not_read_as_schemas() -> None:
    check({"enum": [{"minLength": 10**9}], "const": {"maxItems": 10**9}, "default": {"minLength": 10**9},
           "properties": {"minLength": {"type": "integer"}}, "required": ["minLength"]})
