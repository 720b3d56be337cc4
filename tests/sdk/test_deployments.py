"""Many deployments behind one client (``deployments=[Deployment(...), ...]``) against real reference servers.

Each server is a real process: one is killed mid-run, one has a tiny quota (2 requests per 60 s window per
deployment), one answers every request 503, one breaks each stream after its first chunks. Requests are
counted on the client's own connection pool (an httpx event hook), so "not hammered" and "not replayed"
are counts of what was actually sent.
"""

from __future__ import annotations

import collections
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.shells import USER_HI, Shell

from llama_azure import (
    APIConnectionError,
    AsyncLlamaClient,
    AuthenticationError,
    CoolDown,
    Deployment,
    DeploymentsUnavailableError,
    InternalServerError,
    LlamaClient,
    ParameterError,
    RateLimit,
)
from llama_azure._auth.auth import resolve_auth
from llama_azure._call.config import ClientConfig
from llama_azure._call.failover import Member, Router
from llama_azure.server.process import ReferenceServer

KEY = "test-key"  # the session server's key (tests/conftest.py); the servers here use it too
THROTTLED_RPM = 2
HEAVY = 10**9  # a weight that takes every choice (the other's chance is one in a billion per call)


@pytest.fixture(scope="module")
def broken() -> Iterator[ReferenceServer]:
    """Answers every request 503."""
    with ReferenceServer(api_key=KEY, args=["--faults", "status:503", "--n-ctx", "512"]) as srv:
        yield srv


@pytest.fixture(scope="module")
def throttled() -> Iterator[ReferenceServer]:
    """2 requests per 60 s window per deployment (``sync``, ``async``: one per shell), then 429s."""
    args = ["--rpm", str(THROTTLED_RPM), "--quota-window", "60", "--n-ctx", "512",
            "--deployment", "sync", "--deployment", "async"]
    with ReferenceServer(api_key=KEY, args=args) as srv:
        yield srv


@pytest.fixture(scope="module")
def breaks_streams() -> Iterator[ReferenceServer]:
    """Breaks every stream off after its first two events (JSON answers are whole)."""
    with ReferenceServer(api_key=KEY, args=["--faults", "reset-mid:2", "--n-ctx", "512"]) as srv:
        yield srv


class Counted:
    """A deployments client over a counting connection pool: ``sent["127.0.0.1:PORT"]`` requests."""

    def __init__(self, kind: str, deployments: list[Deployment], **kwargs: Any) -> None:
        self.sent: collections.Counter[str] = collections.Counter()
        self.moves: list[tuple[int, BaseException, float]] = []
        self.requests: list[httpx.Request] = []

        def count(request: httpx.Request) -> None:
            self.sent[f"{request.url.host}:{request.url.port}"] += 1
            self.requests.append(request)

        async def acount(request: httpx.Request) -> None:
            count(request)

        http: Any = (httpx.AsyncClient(event_hooks={"request": [acount]}) if kind == "async"
                     else httpx.Client(event_hooks={"request": [count]}))
        cls = AsyncLlamaClient if kind == "async" else LlamaClient
        self.shell = Shell(cls(deployments=deployments, credential=KEY, http_client=http,
                               on_retry=lambda *move: self.moves.append(move), **kwargs))
        self.http = http

    async def __aenter__(self) -> Counted:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shell.close()
        if isinstance(self.http, httpx.AsyncClient):
            await self.http.aclose()
        else:
            self.http.close()


def where(srv: ReferenceServer) -> str:
    return f"127.0.0.1:{srv.port}"


def chat(**kwargs: Any) -> Any:
    return lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2, **kwargs)


async def test_a_deployment_killed_mid_run_leaves_every_call_answered(shell_kind: str, server: ReferenceServer) -> None:
    with ReferenceServer(api_key=KEY, args=["--n-ctx", "512"]) as doomed:
        deployments = [Deployment(doomed.url, weight=HEAVY), Deployment(server.url)]
        async with Counted(shell_kind, deployments) as counted:
            before = [await counted.shell.run(chat()) for _ in range(3)]
            assert {r.deployment.endpoint for r in before} == {doomed.url}  # HEAVY takes them all
            doomed.kill()  # on purpose: not reported as a crash
            doomed.stop()
            after = [await counted.shell.run(chat()) for _ in range(4)]
            assert all(r.choices[0].message.content for r in after)
            assert {r.deployment.endpoint for r in after} == {server.url}
            # the first call after the kill moved at once (no wait); the rest skipped the cooling deployment
            assert len(counted.moves) == 1 and isinstance(counted.moves[0][1], APIConnectionError)
            assert counted.moves[0][2] == 0.0
            assert counted.sent[where(server)] == 4


async def test_a_throttled_deployment_is_left_alone_during_its_cool_down(shell_kind: str, server: ReferenceServer,
                                                                         throttled: Any) -> None:
    async with Counted(shell_kind, [Deployment(throttled.url, deployment=shell_kind, weight=HEAVY),
                                     Deployment(server.url)]) as counted:
        replies = [await counted.shell.run(chat()) for _ in range(8)]
        assert all(r.choices[0].message.content for r in replies)
        by = collections.Counter(r.deployment.endpoint for r in replies)
        assert by == {throttled.url: THROTTLED_RPM, server.url: 8 - THROTTLED_RPM}
        # its quota's 2 answers and one 429; then nothing during the cool-down (Retry-After ~60 s)
        assert counted.sent[where(throttled)] == THROTTLED_RPM + 1
        assert [getattr(m[1], "status_code", None) for m in counted.moves] == [429]


async def test_a_failing_deployment_moves_calls_and_streams_before_their_first_chunk(
        shell_kind: str, server: ReferenceServer, broken: Any) -> None:
    # no cool-down: every call tries the broken one first
    async with Counted(shell_kind, [Deployment(broken.url, weight=HEAVY), Deployment(server.url)],
                       cool_down=CoolDown(server_error=0)) as counted:
        stream = await counted.shell.run(chat(stream=True))
        assert stream.deployment.endpoint == server.url
        chunks = await counted.shell.chunks(stream)
        assert chunks and chunks[-1].choices[0].finish_reason is not None
        raw = await counted.shell.run(
            lambda c: c.chat.completions.with_raw_response.create(messages=USER_HI, max_tokens=2))
        assert raw.deployment.endpoint == server.url and raw.retries_taken == 1
        assert raw.parse().deployment.endpoint == server.url
        assert counted.sent[where(broken)] == 2 and counted.sent[where(server)] == 2
        assert [getattr(m[1], "status_code", None) for m in counted.moves] == [503, 503]


async def test_a_stream_broken_after_its_first_chunk_is_never_replayed(shell_kind: str, server: ReferenceServer,
                                                                       breaks_streams: Any) -> None:
    deployments = [Deployment(breaks_streams.url, weight=HEAVY), Deployment(server.url)]
    async with Counted(shell_kind, deployments) as counted:
        stream = await counted.shell.run(chat(stream=True))
        assert stream.deployment.endpoint == breaks_streams.url
        with pytest.raises(APIConnectionError):
            await counted.shell.chunks(stream)
        assert counted.sent == {where(breaks_streams): 1}  # the other deployment never saw it
        assert counted.moves == []


async def test_when_all_fail_the_error_lists_each_deployments_last_failure(shell_kind: str, broken: Any) -> None:
    async with Counted(shell_kind, [Deployment(broken.url), Deployment("http://127.0.0.1:9")],  # nothing on port 9
                        max_retries=0) as counted:
        with pytest.raises(DeploymentsUnavailableError) as caught:
            await counted.shell.run(chat())
        failures = caught.value.failures
        assert set(failures) == {broken.url, "http://127.0.0.1:9"}
        assert "503" in failures[broken.url] and "APIConnectionError" in failures["http://127.0.0.1:9"]
        assert "max_retries=0" in str(caught.value) and KEY not in str(caught.value)


async def test_the_calls_own_errors_are_not_moved(shell_kind: str, server: ReferenceServer) -> None:
    async with Counted(shell_kind, [Deployment(server.url, credential="wrong-key", weight=HEAVY),
                                     Deployment(server.url, deployment="other")]) as counted:
        with pytest.raises(AuthenticationError):  # a 401 is this call's problem, not a deployment's health
            await counted.shell.run(chat())
        assert counted.moves == []
        with pytest.raises(ParameterError):
            await counted.shell.run(chat(temperature=9))


def test_bad_deployments_are_refused_with_what_to_fix() -> None:
    from llama_azure import ConfigurationError

    for bad in ([], ["https://a.eastus2.models.ai.azure.com"], "https://x"):
        with pytest.raises(ConfigurationError, match="Deployment"):
            LlamaClient(deployments=bad, credential=KEY)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="weight"):
        Deployment("https://a.eastus2.models.ai.azure.com", weight=0)
    with pytest.raises(ConfigurationError, match="on each Deployment"):
        LlamaClient("https://b.eastus2.models.ai.azure.com", credential=KEY,
                    deployments=[Deployment("https://a.eastus2.models.ai.azure.com")])
    with pytest.raises(ConfigurationError, match="server_error"):
        CoolDown(server_error=-1)
    secretive = Deployment("https://a.eastus2.models.ai.azure.com/score?code=secret", credential="secret")
    assert "secret" not in repr(secretive) and "secret" not in secretive.name


@pytest.mark.parametrize("client_class", [LlamaClient, AsyncLlamaClient])
def test_a_deployments_client_names_every_deployment_in_its_repr_and_no_secret(client_class: Any) -> None:
    client = client_class(deployments=[Deployment("https://a.eastus2.models.ai.azure.com"),
                                       Deployment("https://b.westus.models.ai.azure.com/score?code=secret",
                                                  deployment="blue")], credential="secret-key")
    text = repr(client)  # nothing was sent: the pool was never opened, nothing to close
    assert "a.eastus2.models.ai.azure.com" in text and "b.westus.models.ai.azure.com" in text and "blue" in text
    assert "secret" not in text


def member(weight: float) -> Member:
    """A deployment the router can choose (no pacing)."""
    endpoint = "https://a.eastus2.models.ai.azure.com"
    config = ClientConfig.create(endpoint, api=None, api_version=None, deployment=None)
    auth = resolve_auth(KEY, endpoint=endpoint, scope=None, refresh_margin=300, is_async=False)
    return Member(Deployment(endpoint, weight=weight), config, auth)


def test_the_router_chooses_by_weight_among_deployments_not_cooling_down() -> None:
    now = [0.0]
    draws = iter([0.0, 0.5, 0.99, 0.99])
    light, heavy = member(1), member(3)
    router = Router([light, heavy], CoolDown(), clock=lambda: now[0], rng=lambda: next(draws))
    assert [router.pick(router.free(set())) for _ in range(3)] == [light, heavy, heavy]
    light.cool_until = 5.0
    assert router.pick(router.free(set())) is heavy and router.pick(router.free({1})) is None
    assert router.shortest_cool_down() == 0.0
    heavy.cool_until = 3.0
    assert router.shortest_cool_down() == 3.0


async def test_with_pacing_a_call_goes_where_the_budget_lets_it_go_now(
    shell_kind: str, server: ReferenceServer
) -> None:
    paced = RateLimit(requests=1, window=600)  # one call per 10 minutes: the second would wait (or fail)
    async with Counted(shell_kind, [Deployment(server.url, deployment=f"paced-{shell_kind}", rate_limit=paced,
                                                weight=HEAVY),
                                     Deployment(server.url, deployment=f"free-{shell_kind}")],
                       timeout=5) as counted:  # a call that waited for the paced budget: QuotaTimeoutError
        first, second, third = [await counted.shell.run(chat()) for _ in range(3)]
        assert first.deployment.deployment == f"paced-{shell_kind}"
        assert second.deployment.deployment == third.deployment.deployment == f"free-{shell_kind}"
        assert counted.moves == []


async def test_with_options_copies_apply_to_every_deployment(shell_kind: str, server: ReferenceServer) -> None:
    deployments = [Deployment(server.url, deployment="one"), Deployment(server.url, model="two")]
    async with Counted(shell_kind, deployments) as counted:
        copy = Shell(counted.shell.client.with_options(default_headers={"x-team": "blue"}, max_retries=0))
        for _ in range(4):
            await copy.run(chat())
        assert {r.headers.get("x-team") for r in counted.requests} == {"blue"}
        assert {r.headers.get("azureml-model-deployment") for r in counted.requests} <= {"one", None}


async def test_a_with_options_copy_tells_its_own_on_retry_of_each_move(shell_kind: str, server: ReferenceServer,
                                                                        broken: Any) -> None:
    async with Counted(shell_kind, [Deployment(broken.url, weight=HEAVY), Deployment(server.url)],
                        cool_down=CoolDown(server_error=0)) as counted:
        mine: list[tuple[int, BaseException, float]] = []
        copy = Shell(counted.shell.client.with_options(on_retry=lambda *move: mine.append(move)))
        await copy.run(chat())
        assert [(attempt, type(error), wait) for attempt, error, wait in mine] == [(1, InternalServerError, 0.0)]
        assert counted.moves == []  # the original's on_retry


async def test_the_span_names_the_deployment_that_answered(shell_kind: str, server: ReferenceServer, broken: Any,
                                                           request: pytest.FixtureRequest) -> None:
    traced = request.getfixturevalue("telemetry")  # tests/sdk/conftest.py
    async with Counted(shell_kind, [Deployment(broken.url, weight=HEAVY), Deployment(server.url)],
                        cool_down=CoolDown(server_error=0)) as counted:
        await counted.shell.run(chat())
        (span,) = traced.spans()
        attributes = dict(span.attributes or {})
        assert (attributes["server.address"], attributes["server.port"]) == ("127.0.0.1", server.port)
        moves = [e for e in span.events if e.name == "llama_azure.retry"]
        assert [dict(e.attributes or {})["error.type"] for e in moves] == ["503"]


def closed_port_url() -> str:
    """A loopback URL nothing listens on (a port just freed): every request to it fails to connect."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


async def test_on_retry_and_the_attempt_counts_agree_across_a_move(shell_kind: str, server: ReferenceServer,
                                                                  broken: Any) -> None:
    """One retry loop per call: each move is a retry, told to on_retry with the numbers the call reports."""
    async with Counted(shell_kind, [Deployment(closed_port_url(), weight=HEAVY), Deployment(server.url)]) as counted:
        raw = await counted.shell.run(
            lambda c: c.chat.completions.with_raw_response.create(messages=USER_HI, max_tokens=2))
        assert [(attempt, type(error)) for attempt, error, _ in counted.moves] == [(1, APIConnectionError)]
        assert raw.retries_taken == len(counted.moves) == 1
    # the call's own error after a move: it counts both requests, and says so
    async with Counted(shell_kind, [Deployment(broken.url, weight=HEAVY),
                                     Deployment(server.url, credential="wrong-key")]) as counted:
        with pytest.raises(AuthenticationError) as refused:
            await counted.shell.run(chat())
        assert [(attempt, type(error)) for attempt, error, _ in counted.moves] == [(1, InternalServerError)]
        assert refused.value.attempts == 2 and "after 2 attempts" in str(refused.value)
    # no deployment left: on_retry told of the one retry made, the error of the two attempts
    async with Counted(shell_kind, [Deployment(broken.url, weight=HEAVY), Deployment(closed_port_url())],
                       max_retries=0) as counted:
        with pytest.raises(DeploymentsUnavailableError) as unavailable:
            await counted.shell.run(chat())
        assert [(attempt, type(error)) for attempt, error, _ in counted.moves] == [(1, InternalServerError)]
        assert unavailable.value.attempts == 2 and counted.sent[where(broken)] == 1
        assert [type(error) for error in unavailable.value.attempt_errors] == [InternalServerError,
                                                                             APIConnectionError]


async def test_a_wait_for_a_cool_down_is_a_retry_told_its_real_wait(shell_kind: str, broken: Any) -> None:
    async with Counted(shell_kind, [Deployment(broken.url)], cool_down=CoolDown(server_error=0.2),
                       max_retries=1) as counted:
        with pytest.raises(DeploymentsUnavailableError) as unavailable:
            await counted.shell.run(chat())
        ((attempt, error, wait),) = counted.moves  # the second failure is not a retry: the call gives up
        assert attempt == 1 and isinstance(error, InternalServerError) and 0 < wait <= 0.2
        assert unavailable.value.attempts == counted.sent[where(broken)] == 2
        assert unavailable.value.waited == wait and "max_retries=1" in str(unavailable.value)
