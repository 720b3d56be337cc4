"""Shared fixtures: the reference server, started once per test session as a real subprocess."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llama_azure.server.process import ReferenceServer

TEST_KEY = "test-key"
BLOCKED_WORD = "forbiddenword"


@pytest.fixture(scope="session")
def server() -> Iterator[ReferenceServer]:
    """A reference server with api key "test-key", `--blocklist forbiddenword` and default quotas."""
    with ReferenceServer(api_key=TEST_KEY, args=["--blocklist", BLOCKED_WORD]) as srv:
        yield srv
