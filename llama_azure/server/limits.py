"""Limits on reading a request (no dependencies: ``llama-azure serve --help`` shows them without the server extra).

docs/server.md, "Limits", lists them with the rest of the server's caps.
"""

from __future__ import annotations

HEAD_TIMEOUT_S = 10.0  # request line and headers, from the connection's start or the previous answer
BODY_TIMEOUT_S = 30.0  # the whole body, from the end of the head
KEEP_ALIVE_S = 5  # an idle kept-alive connection is closed after this (uvicorn's timeout_keep_alive)
MAX_HEAD_BYTES = 16 * 1024  # request line and headers (h11's limit; larger answers 400)
MAX_BODY_BYTES = 4 * 1024 * 1024

# A JSON schema (response_format, a tool's parameters) becomes a grammar that llama.cpp compiles on the prompt
# thread; the converter writes each repetition out, so these bound its size and the time it takes (worst case
# under all of them together: tens of milliseconds, docs/server.md "Limits").
MAX_SCHEMA_REPEAT = 1000  # one minLength / maxLength / minItems / maxItems, or a pattern's {m,n} counts multiplied
MAX_SCHEMA_REPEATS_TOTAL = 10_000  # those counts summed over the whole schema
MAX_SCHEMA_PROPERTIES = 1000  # object properties, over the whole schema
MAX_SCHEMA_OPTIONAL_PROPERTIES = 32  # optional properties of one object (the converter writes a rule per suffix)
MAX_SCHEMA_DEPTH = 32  # nested schemas
MAX_GRAMMAR_BYTES = 512 * 1024  # the grammar text built from the schema (large enums and consts)
