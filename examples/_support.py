"""Shared by the examples: use a real Azure endpoint when configured, else the bundled reference server.

Set LLAMA_AZURE_ENDPOINT and LLAMA_AZURE_API_KEY to run an example against your own deployment;
otherwise the example starts the reference server (a real SmolLM2 model on 127.0.0.1) for itself.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    endpoint: str
    api_key: str
    local: bool


@contextlib.contextmanager
def endpoint(server_args: Sequence[str] = (), *, force_local: bool = False) -> Iterator[Target]:
    """Yield where to send requests: the configured Azure endpoint, or a freshly started local server."""
    configured = os.environ.get("LLAMA_AZURE_ENDPOINT")
    key = os.environ.get("LLAMA_AZURE_API_KEY")
    if configured and key and not force_local:
        yield Target(configured, key, local=False)
        return
    from llama_azure.server.process import ReferenceServer, ReferenceServerCrashed, ReferenceServerError

    why = "this example needs it" if force_local else "LLAMA_AZURE_ENDPOINT / LLAMA_AZURE_API_KEY are not set"
    print(f"(starting the bundled reference server: {why})", file=sys.stderr, flush=True)
    server = ReferenceServer(api_key="example-key", args=list(server_args))
    try:
        server.start()
    except ReferenceServerError as error:  # e.g. no server extra: pip install 'llama-azure[server]'
        raise SystemExit(f"could not start the reference server:\n{error}") from None
    try:
        yield Target(server.url, server.api_key, local=True)
    finally:
        try:
            server.stop()
        except ReferenceServerCrashed as crash:  # the real cause of whatever the example saw (connection refused)
            raise SystemExit(f"error: {crash}") from None
