"""The text of each token, as generation writes it: pieces longer than 32 bytes keep their text.

llama-cpp-python's ``detokenize`` reads a piece into 32 bytes and returns nothing for a longer one; SmolLM2 has
47 such tokens (runs of ``#``, ``=``, ``-`` or spaces), whose text a generation silently lost.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llama_azure.server.engine import Engine
from llama_azure.server.limits import MAX_GRAMMAR_BYTES
from llama_azure.server.model_path import bundled_model_path
from llama_azure.server.schema_limits import SchemaTooLarge


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    engine = Engine(bundled_model_path(), n_ctx=512, n_threads=1)
    yield engine
    engine.close()


@pytest.mark.parametrize("text", ["#" * 80, "x = 1\n" + "=" * 66 + "\n", "\n" + " " * 80 + "end", "héllo 🦙"])
def test_the_tokens_of_a_text_give_back_the_text(engine: Engine, text: str) -> None:
    tokens = engine.tokenize(text)
    assert b"".join(engine.token_bytes(t, special=False) for t in tokens) == text.encode()


def test_the_longest_token_is_measured_whole(engine: Engine) -> None:
    assert engine.max_token_bytes == 81  # "\n" and 80 spaces, in SmolLM2's vocabulary
    assert engine.max_prompt_bytes == (engine.n_ctx - 1) * 81


def test_a_json_string_in_a_grammar_cannot_hold_a_raw_control_character(engine: Engine) -> None:
    """JSON forbids raw control characters in strings; llama-cpp-python's converter allowed them (a newline in
    "city" made a structured answer unparseable). The grammar llama.cpp accepts has the JSON rule."""
    grammar = engine.grammar({"type": "object", "properties": {"city": {"type": "string", "maxLength": 16}}})
    rules = dict(line.split(" ::= ", 1) for line in grammar._grammar.splitlines() if " ::= " in line)
    assert rules["char"].startswith(r'[^"\\\x7F\x00-\x1F] |')


def test_a_grammar_over_the_size_limit_is_refused_before_llama_cpp_parses_it(engine: Engine) -> None:
    # Optional properties with long names: the converter writes a rule per suffix of them (~580 KB here).
    objects = {f"o{k}": {"type": "object", "properties": {f"{'x' * 200}_{k}_{i}": {"type": "string"}
                                                          for i in range(32)}} for k in range(12)}
    with pytest.raises(SchemaTooLarge, match=f"over this server's limit of {MAX_GRAMMAR_BYTES}"):
        engine.grammar({"type": "object", "properties": objects, "required": list(objects)})
