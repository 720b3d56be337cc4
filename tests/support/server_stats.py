"""The reference server's counters (``GET /_server/stats``: generations, tokens, prompts tokenized, tokens issued)."""

from __future__ import annotations

from typing import Any

import httpx

from llama_azure.server.process import ReferenceServer
from support.waiting import wait_until


def stats(where: httpx.Client | ReferenceServer) -> dict[str, Any]:
    """The counters, read through an httpx client on the server (with its key) or from the server itself."""
    if isinstance(where, ReferenceServer):
        response = httpx.get(f"{where.url}/_server/stats", headers={"api-key": where.api_key}, timeout=30)
    else:
        response = where.get("/_server/stats")
    assert response.status_code == 200, response.text
    return dict(response.json())


def settled_stats(where: httpx.Client | ReferenceServer) -> dict[str, Any]:
    """The counters once no generation runs or waits: what an earlier test left going (a stream it broke off,
    which the server stops at its next token) cannot count in this test's differences."""
    def idle() -> dict[str, Any] | None:
        now = stats(where)
        return now if now["queued"] == 0 and now["active_generations"] == 0 else None

    return wait_until(idle, what="the server idle")
