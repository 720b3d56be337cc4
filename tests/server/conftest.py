"""Helpers for the reference server tests: an httpx client on the session server, and an SSE reader."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from llama_azure.server.process import ReferenceServer


def sse_payloads(response: httpx.Response) -> list[Any]:
    """The ``data:`` payloads of a data-only SSE response, JSON-decoded, with ``[DONE]`` kept as a string."""
    payloads: list[Any] = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        assert block.startswith("data: "), block
        data = block[len("data: ") :]
        payloads.append(data if data == "[DONE]" else json.loads(data))
    return payloads


@pytest.fixture(scope="session")
def client(server: ReferenceServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"api-key": server.api_key}, timeout=60) as c:
        yield c


def make_client(srv: ReferenceServer) -> httpx.Client:
    return httpx.Client(base_url=srv.url, headers={"api-key": srv.api_key}, timeout=60)


@pytest.fixture(scope="session")
def sse() -> Any:
    """The :func:`sse_payloads` parser, as a fixture (test modules here are not a package)."""
    return sse_payloads
