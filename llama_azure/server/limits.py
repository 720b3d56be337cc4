"""Limits on reading a request (no dependencies: ``llama-azure serve --help`` shows them without the server extra).

docs/server.md, "Limits", lists them with the rest of the server's caps.
"""

from __future__ import annotations

HEAD_TIMEOUT_S = 10.0  # request line and headers, from the connection's start or the previous answer
BODY_TIMEOUT_S = 30.0  # the whole body, from the end of the head
KEEP_ALIVE_S = 5  # an idle kept-alive connection is closed after this (uvicorn's timeout_keep_alive)
MAX_HEAD_BYTES = 16 * 1024  # request line and headers (h11's limit; larger answers 400)
MAX_BODY_BYTES = 4 * 1024 * 1024
