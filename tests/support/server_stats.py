"""The reference server's counters (``GET /_server/stats``: generations, tokens, prompts tokenized, tokens issued)."""

from __future__ import annotations

from typing import Any

import httpx

from llama_azure.server.process import ReferenceServer


def stats(where: httpx.Client | ReferenceServer) -> dict[str, Any]:
    """The counters, read through an httpx client on the server (with its key) or from the server itself."""
    if isinstance(where, ReferenceServer):
        response = httpx.get(f"{where.url}/_server/stats", headers={"api-key": where.api_key}, timeout=30)
    else:
        response = where.get("/_server/stats")
    assert response.status_code == 200, response.text
    return dict(response.json())
