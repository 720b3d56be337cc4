"""Requests- and tokens-per-minute quotas per deployment, and the deployment header."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from support.clock import FakeClock

from llama_azure.server.process import ReferenceServer
from llama_azure.server.quota import QuotaExceeded, QuotaLimiter

PROMPT = {"prompt": "Count: one, two, three,", "temperature": 0}
TPM = 120


@pytest.fixture(scope="module")
def quota_server() -> Iterator[ReferenceServer]:
    args = ["--rpm", "3", "--tpm", str(TPM)]
    for name in ("blue", "green", "tokens", "exact", "score"):
        args += ["--deployment", name]
    with ReferenceServer(api_key="quota-key", args=args) as srv:
        yield srv


def post_to_deployment(srv: ReferenceServer, deployment: str | None, path: str = "/v1/completions",
                       **body: object) -> httpx.Response:
    headers = {"api-key": srv.api_key}
    if deployment is not None:
        headers["azureml-model-deployment"] = deployment
    return httpx.post(f"{srv.url}{path}", json={**PROMPT, "max_tokens": 1, **body}, headers=headers, timeout=60)


def test_rpm_429_with_retry_after(quota_server: ReferenceServer) -> None:
    remaining = [post_to_deployment(quota_server, "blue").headers["x-ratelimit-remaining-requests"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    r = post_to_deployment(quota_server, "blue")
    assert r.status_code == 429
    error = r.json()["error"]
    assert error["code"] == "429"
    assert error["status"] == 429
    assert error["message"].startswith("Rate limit is exceeded. Try again in")
    retry_after = int(r.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert 0 < int(r.headers["retry-after-ms"]) <= 60_000
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    # Rejected requests are not counted, and other deployments have their own quota.
    assert post_to_deployment(quota_server, "green").status_code == 200
    assert post_to_deployment(quota_server, "blue").status_code == 429


def test_tpm_reservation_and_exact_accounting(quota_server: ReferenceServer) -> None:
    first = post_to_deployment(quota_server, "tokens", max_tokens=5)
    assert first.status_code == 200
    used = first.json()["usage"]["total_tokens"]
    prompt = first.json()["usage"]["prompt_tokens"]
    remaining = int(first.headers["x-ratelimit-remaining-tokens"])
    assert remaining == TPM - used  # the reservation (prompt + 5) was corrected to the real use
    # A request whose reservation (prompt + max_tokens) does not fit is refused...
    over = post_to_deployment(quota_server, "tokens", max_tokens=remaining - prompt + 1)
    assert over.status_code == 429, over.text
    assert int(over.headers["retry-after"]) >= 1
    # ...one that fits exactly is admitted.
    fits = post_to_deployment(quota_server, "tokens", max_tokens=remaining - prompt, stop=" seven")
    assert fits.status_code == 200, fits.text
    assert int(fits.headers["x-ratelimit-remaining-tokens"]) == TPM - used - fits.json()["usage"]["total_tokens"]


def test_request_larger_than_tpm(quota_server: ReferenceServer) -> None:
    r = post_to_deployment(quota_server, "exact", max_tokens=TPM + 1)
    assert r.status_code == 429
    assert "tokens per minute" in r.json()["error"]["message"]


def test_streaming_usage_is_accounted(quota_server: ReferenceServer) -> None:
    r = post_to_deployment(quota_server, "exact", max_tokens=3, stream=True)
    assert r.status_code == 200
    # The headers of a stream show the reservation; the next answer shows the corrected figure.
    reserved = TPM - int(r.headers["x-ratelimit-remaining-tokens"])
    nxt = httpx.get(
        f"{quota_server.url}/_server/stats",
        headers={"api-key": quota_server.api_key, "azureml-model-deployment": "exact"},
    )
    corrected = TPM - int(nxt.headers["x-ratelimit-remaining-tokens"])
    assert corrected <= reserved
    assert '"completion_tokens": 3' in r.text


def test_deployment_header(quota_server: ReferenceServer) -> None:
    r = post_to_deployment(quota_server, "purple")
    assert r.status_code == 404
    assert "purple" in r.json()["error"]["message"]
    r = httpx.get(
        f"{quota_server.url}/info",
        params={"api-version": "2025-04-01"},
        headers={"api-key": quota_server.api_key, "azureml-model-deployment": "nope"},
    )
    assert r.status_code == 404
    r = post_to_deployment(quota_server, "score", path="/score")
    assert r.status_code == 422  # a /v1 body is not a /score body, but the deployment was accepted
    score = {"input_data": {"input_string": ["Hi"], "parameters": {"max_new_tokens": 1}}}
    r = httpx.post(
        f"{quota_server.url}/score",
        json=score,
        headers={"api-key": quota_server.api_key, "azureml-model-deployment": "nope"},
    )
    assert r.status_code == 404
    r = httpx.post(
        f"{quota_server.url}/score",
        json=score,
        headers={"api-key": quota_server.api_key, "azureml-model-deployment": "score"},
    )
    assert r.status_code == 200


def test_deployment_header_is_optional_without_deployments(client: httpx.Client) -> None:
    r = client.post(
        "/v1/completions", json={"prompt": "Hi", "max_tokens": 1}, headers={"azureml-model-deployment": "x"}
    )
    assert r.status_code == 200



def test_sliding_window_unit() -> None:
    clock = FakeClock()
    limiter = QuotaLimiter(rpm=2, tpm=100, clock=clock)
    a = limiter.admit("d", 50)
    clock.now += 10
    limiter.admit("d", 30)
    with pytest.raises(QuotaExceeded) as exc:
        limiter.admit("d", 1)
    assert exc.value.retry_after_s == pytest.approx(50)
    clock.now += 50  # the first request leaves the window
    assert limiter.remaining("d").requests == 1
    assert limiter.remaining("d").tokens == 70
    a.settle(10)  # settling an expired reservation changes nothing visible
    b = limiter.admit("d", 70)
    assert limiter.remaining("d").tokens == 0
    b.settle(20)
    assert limiter.remaining("d").tokens == 50
    with pytest.raises(QuotaExceeded) as exc:
        limiter.admit("d", 1)  # rpm
    assert exc.value.retry_after_s == pytest.approx(10)


def test_token_window_retry_after_unit() -> None:
    clock = FakeClock()
    limiter = QuotaLimiter(rpm=100, tpm=100, clock=clock)
    limiter.admit("d", 60)
    clock.now += 20
    limiter.admit("d", 30)
    with pytest.raises(QuotaExceeded) as exc:
        limiter.admit("d", 50)  # needs the first 60 to expire: 40 s from now
    assert exc.value.retry_after_s == pytest.approx(40)
    assert limiter.admit("d", 10).tokens == 10
