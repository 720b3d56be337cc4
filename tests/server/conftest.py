"""Helpers for the reference server tests: an httpx client on the session server, and an SSE reader."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from support.wire import sse_payloads

from llama_azure.server.process import ReferenceServer


@pytest.fixture(scope="session")
def client(server: ReferenceServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"api-key": server.api_key}, timeout=60) as c:
        yield c


@pytest.fixture(scope="session")
def sse() -> Callable[[httpx.Response], list[Any]]:
    """The :func:`sse_payloads` parser, as a fixture (test modules here are not a package)."""
    return sse_payloads
