"""Fuzz the reference server from its own OpenAPI document (schemathesis, live subprocess, key auth).

Every answer must be: not a 5xx, and when it is an error, an Azure-shaped JSON body (nested
``{"error": {"code", "message"}}`` or the documented flat ``{"code", "message", ...}``). Generation is
kept cheap: ``max_tokens``/``max_new_tokens`` are clamped to 4 and ``n``/``best_of`` to 2 before
sending (everything else is as generated), on a server with a 256-token context.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from llama_azure.server.process import ReferenceServer

schemathesis = pytest.importorskip("schemathesis")

KEY = "fuzz-key"
MAX_EXAMPLES = 30


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[ReferenceServer]:
    args = ["--n-ctx", "256", "--rpm", "100000", "--tpm", "100000000"]
    with ReferenceServer(api_key=KEY, args=args) as srv:
        yield srv


@pytest.fixture(scope="module")
def api_schema(fuzz_server: ReferenceServer) -> Any:
    return schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")


OPERATIONS = [
    ("POST", "/v1/completions"),
    ("POST", "/v1/chat/completions"),
    ("POST", "/completions"),
    ("POST", "/chat/completions"),
    ("POST", "/score"),
    ("GET", "/info"),
]


def _clamp(body: Any) -> None:
    """Keep generation small: the fuzzer's job is the edges of validation, not long answers."""
    if not isinstance(body, dict):
        return
    for name, cap in (("max_tokens", 4), ("n", 2), ("best_of", 2)):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > cap:
            body[name] = cap
    data = body.get("input_data")
    params = data.get("parameters") if isinstance(data, dict) else None
    if isinstance(params, dict):
        value = params.get("max_new_tokens")
        if isinstance(value, int) and not isinstance(value, bool) and value > 4:
            params["max_new_tokens"] = 4


def _azure_shaped(payload: Any) -> bool:
    if not isinstance(payload, dict):
        return False
    error = payload.get("error")
    if isinstance(error, dict):
        return isinstance(error.get("code"), str) and isinstance(error.get("message"), str)
    return isinstance(payload.get("message"), str) and ("code" in payload or "status" in payload)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_fuzzed_requests_get_no_5xx_and_azure_shaped_errors(method: str, path: str, mode: str, api_schema: Any) -> None:
    """Positive cases fit the schema (mostly answered 200); negative ones do not (answered 4xx)."""
    operation = api_schema[path][method]
    strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(case=strategy)
    def check(case: Any) -> None:
        _clamp(case.body)
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in ("authorization", "api-key")}
        case.headers = {**headers, "api-key": KEY}
        response = case.call(timeout=60)
        assert response.status_code < 500, (response.status_code, response.text[:500])
        if response.status_code >= 400:
            try:
                payload = json.loads(response.text)
            except ValueError:
                pytest.fail(f"{response.status_code} with a non-JSON body: {response.text[:200]!r}")
            assert _azure_shaped(payload), (response.status_code, payload)

    check()


def test_the_server_survived_the_fuzzing(fuzz_server: ReferenceServer) -> None:
    assert fuzz_server.running
    reply = httpx.get(f"{fuzz_server.url}/info", params={"api-version": "2024-05-01-preview"},
                      headers={"api-key": KEY}, timeout=30)
    assert reply.status_code == 200


@pytest.mark.parametrize("stream", [False, True])
def test_an_empty_prompt_is_answered_not_500(fuzz_server: ReferenceServer, stream: bool) -> None:
    """Found by the fuzzer: an empty prompt is zero tokens, which llama.cpp cannot sample from."""
    reply = httpx.post(f"{fuzz_server.url}/v1/completions", headers={"api-key": KEY}, timeout=60,
                       json={"prompt": "", "max_tokens": 2, "stream": stream})
    assert reply.status_code == 200
    assert "error" not in reply.text
