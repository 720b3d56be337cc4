"""Fixtures for the SDK tests: each client feature runs through both shells.

The ``shell`` fixture is parametrized over the sync and the async client, so every test that takes it
is one sync test and one async test against the same real reference server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from support.shells import Shell, ShellFactory, make_client

from llama_azure.server.process import ReferenceServer

if TYPE_CHECKING:
    from support.telemetry import Telemetry


@pytest.fixture(params=["sync", "async"])
def shell_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def shell_factory(shell_kind: str) -> AsyncIterator[ShellFactory]:
    """Build more shells of the current kind: ``shell_factory(url, key, api="score")``; closed after the test."""
    made: list[Shell] = []

    def make(url: str, key: str, **kwargs: Any) -> Shell:
        s = Shell(make_client(shell_kind, url, key, **kwargs))
        made.append(s)
        return s

    yield make
    for s in made:
        await s.close()


@pytest.fixture(scope="session")
def fault_server() -> Iterator[ReferenceServer]:
    """A reference server started with ``--faults none``: each request may carry ``x-llama-azure-fault``."""
    with ReferenceServer(api_key="fault-key", args=["--faults", "none", "--n-ctx", "512"]) as srv:
        yield srv


@pytest.fixture
def shell(shell_factory: ShellFactory, server: ReferenceServer) -> Shell:
    """A sync or async client on the shared reference server (key auth, Llama API routes)."""
    return shell_factory(server.url, server.api_key)


@pytest.fixture
def fault_shell(shell_factory: ShellFactory, fault_server: ReferenceServer) -> Shell:
    """A sync or async client on the fault-injecting server (no retries by default: tests set them)."""
    return shell_factory(fault_server.url, fault_server.api_key)


@pytest.fixture
def telemetry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Telemetry]:
    """Tracing on, into in-memory providers, for this test only (skipped without the ``otel`` extra)."""
    pytest.importorskip("opentelemetry.sdk")
    from support.telemetry import Telemetry

    from llama_azure.tracing import CAPTURE_CONTENT_ENV

    monkeypatch.delenv(CAPTURE_CONTENT_ENV, raising=False)
    t = Telemetry()
    t.instrument()
    yield t
    t.instrumentor.uninstrument()
