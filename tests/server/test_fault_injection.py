"""The reference server's fault injection, seen with raw httpx: what each fault does on the wire."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from llama_azure.server.faults import Fault, FaultPlan, FaultSpecError, parse_spec
from llama_azure.server.process import ReferenceServer, ReferenceServerError

KEY = "faults-key"
CHAT = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 6, "temperature": 0}


@pytest.fixture(scope="module")
def faulty() -> Iterator[ReferenceServer]:
    with ReferenceServer(api_key=KEY, args=["--faults", "status:502@1", "--n-ctx", "512"]) as srv:
        yield srv


def post(srv: ReferenceServer, spec: str | None, **body: Any) -> httpx.Response:
    headers = {"api-key": KEY, **({"x-llama-azure-fault": spec} if spec else {})}
    return httpx.post(f"{srv.url}/v1/chat/completions", json={**CHAT, **body}, headers=headers, timeout=60)


def test_a_server_wide_count_fails_only_the_first_requests(faulty: ReferenceServer) -> None:
    first = post(faulty, None)
    assert first.status_code == 502
    assert first.json()["error"]["code"] == "InjectedFault502"
    assert first.headers["x-llama-azure-fault"] == "injected"
    assert first.headers["x-request-id"]
    assert post(faulty, None).status_code == 200


@pytest.mark.parametrize(("spec", "headers"), [
    ("status:429", {"retry-after": "1", "retry-after-ms": "100"}),
    ("status:429-24h", {"retry-after": "86400"}),
    ("status:429-noheaders", {}),
])
def test_429_variants(faulty: ReferenceServer, spec: str, headers: dict[str, str]) -> None:
    reply = post(faulty, spec)
    assert reply.status_code == 429
    assert reply.json()["error"]["code"] == "429"
    for name in ("retry-after", "retry-after-ms"):
        assert reply.headers.get(name) == headers.get(name)


def test_reset_before_is_a_broken_connection(faulty: ReferenceServer) -> None:
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        post(faulty, "reset-before")


def test_reset_mid_stream_is_a_broken_connection(faulty: ReferenceServer) -> None:
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        post(faulty, "reset-mid:2", stream=True)


def test_truncate_ends_cleanly_without_done(faulty: ReferenceServer, sse: Any) -> None:
    reply = post(faulty, "truncate:2", stream=True)
    assert reply.status_code == 200
    payloads = sse(reply)
    assert len(payloads) == 2 and "[DONE]" not in payloads


def test_keepalive_adds_comments_and_dataless_events(faulty: ReferenceServer) -> None:
    reply = post(faulty, "keepalive", stream=True)
    assert ": keep-alive\n\n" in reply.text and "retry: 1000\n" in reply.text
    assert reply.text.endswith("data: [DONE]\n\n")


def test_a_bad_header_spec_is_a_400(faulty: ReferenceServer) -> None:
    reply = post(faulty, "explode")
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "BadFaultSpec"


@pytest.mark.parametrize("headers", [{}, {"api-key": "wrong"}], ids=["no-key", "wrong-key"])
def test_the_fault_header_needs_a_valid_key(faulty: ReferenceServer, headers: dict[str, str]) -> None:
    reply = httpx.post(f"{faulty.url}/v1/chat/completions", json=CHAT, timeout=30,
                       headers={**headers, "x-llama-azure-fault": "status:503"})
    assert reply.status_code == 401
    assert "x-llama-azure-fault header needs a valid API key" in reply.json()["error"]["message"]
    assert reply.headers["x-ms-error-code"] == "Unauthorized"
    assert "x-llama-azure-fault" not in reply.headers  # a refusal, not an injected fault


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("dribble:1e308", "dribble takes SECONDS between pieces from 0 to 1"),
        ("dribble:nan", "from 0 to 1"),
        ("stall:inf", "stall takes SECONDS from 0 to 300"),
        ("stall:301", "from 0 to 300"),
        ("huge:10000001", "huge takes CHARS characters from 0 to 10000000"),
        ("truncate:99999999999", "from 0 to 1000000"),
    ],
)
def test_out_of_range_values_are_a_400_that_gives_the_range(faulty: ReferenceServer, spec: str, says: str) -> None:
    reply = httpx.post(f"{faulty.url}/v1/chat/completions", json={**CHAT, "stream": True}, timeout=30,
                       headers={"api-key": KEY, "x-llama-azure-fault": spec})
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == "BadFaultSpec"
    assert says in error["message"]


def test_openapi_is_never_faulted(faulty: ReferenceServer) -> None:
    reply = httpx.get(f"{faulty.url}/openapi.json", headers={"x-llama-azure-fault": "status:500"}, timeout=30)
    assert reply.status_code == 200


def test_a_bad_faults_flag_stops_the_server_at_start() -> None:
    with pytest.raises(ReferenceServerError, match="unknown fault"):
        ReferenceServer(api_key=KEY, args=["--faults", "explode"]).start()


def test_parse_spec() -> None:
    assert parse_spec("none") == ()
    assert parse_spec("status:503@2, keepalive,dribble:0.1@0.5") == (
        Fault("status", "503", count=2),
        Fault("keepalive"),
        Fault("dribble", "0.1", probability=0.5),
    )
    assert parse_spec("stall:300,dribble:1,huge:10000000") == (
        Fault("stall", "300"), Fault("dribble", "1"), Fault("huge", "10000000")
    )
    for bad in ("status", "status:99", "status:abc", "stall", "reset-before:3", "truncate:-1", "x", "status:503@1.5",
                "status:503@-1", "keepalive@zz", "status:+503", "stall:-0.1", "dribble:inf", "huge:1e3", "bad-json:x"):
        with pytest.raises(FaultSpecError):
            parse_spec(bad)


def test_plan_counts_and_probabilities() -> None:
    plan = FaultPlan(parse_spec("status:503@2"))
    assert [bool(plan.pick()) for _ in range(4)] == [True, True, False, False]
    never = FaultPlan([Fault("keepalive", probability=1e-12)])
    assert not any(never.pick() for _ in range(100))
