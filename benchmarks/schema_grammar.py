"""How long the reference server takes to build a grammar from a JSON schema at its limits (server/limits.py).

Each case is the worst a request can ask for under one limit (all of them allowed by the others); the time
is ``Engine.grammar`` on this thread, converter and llama.cpp's parse together. Run it with the server extra:

    .venv/bin/python benchmarks/schema_grammar.py
"""

from __future__ import annotations

import os
import resource
import sys
import time
from typing import Any

from llama_azure.server.engine import Engine
from llama_azure.server.limits import (
    MAX_SCHEMA_OPTIONAL_PROPERTIES,
    MAX_SCHEMA_PROPERTIES,
    MAX_SCHEMA_REPEAT,
    MAX_SCHEMA_REPEATS_TOTAL,
)
from llama_azure.server.model_path import bundled_model_path
from llama_azure.server.schema_limits import SchemaTooLarge, check_schemas


def _strings(count: int, keyword: str) -> dict[str, Any]:
    names = [f"s{i}" for i in range(count)]
    return {"type": "object", "properties": {n: {"type": "string", keyword: MAX_SCHEMA_REPEAT} for n in names},
            "required": names}


def _optional_objects(width: int) -> dict[str, Any]:
    objects = {f"o{k}": {"type": "object", "properties": {f"{'x' * width}_{i}": {"type": "string"}
                                                          for i in range(MAX_SCHEMA_OPTIONAL_PROPERTIES)}}
               for k in range(MAX_SCHEMA_PROPERTIES // (MAX_SCHEMA_OPTIONAL_PROPERTIES + 1))}
    return {"type": "object", "properties": objects, "required": list(objects)}


CASES: dict[str, dict[str, Any]] = {
    "one maxLength at the limit": {"type": "string", "maxLength": MAX_SCHEMA_REPEAT},
    "maxLength summed to the total": _strings(MAX_SCHEMA_REPEATS_TOTAL // MAX_SCHEMA_REPEAT, "maxLength"),
    "minItems summed to the total": {"type": "object", "properties": {
        f"a{i}": {"type": "array", "items": {"type": "integer"}, "minItems": MAX_SCHEMA_REPEAT}
        for i in range(MAX_SCHEMA_REPEATS_TOTAL // MAX_SCHEMA_REPEAT)}},
    "optional properties, short names": _optional_objects(8),
    "optional properties, 200-character names": _optional_objects(200),
}


def main() -> None:
    stderr = os.dup(2)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # llama.cpp prints a refused grammar whole
    engine = Engine(bundled_model_path(), n_ctx=512, n_threads=1)
    try:
        for name, schema in CASES.items():
            check_schemas([("schema", schema)])
            started = time.perf_counter()
            try:
                engine.grammar(schema)
                outcome = "built"
            except SchemaTooLarge:
                outcome = "refused (grammar bytes)"
            except ValueError as exc:
                outcome = f"refused by llama.cpp ({exc})"
            took = (time.perf_counter() - started) * 1000
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            os.write(stderr, f"{name:45s} {took:8.1f} ms  {outcome}  (peak RSS {rss} MB)\n".encode())
    finally:
        engine.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
