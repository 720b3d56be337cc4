"""Data-only SSE as the real service sends it; disconnects stop generation; concurrent requests queue fairly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import httpx

COUNT = "Count: one, two, three,"
LONG = {"prompt": COUNT, "max_tokens": 1500, "temperature": 0, "ignore_eos": True, "stream": True}


def sse_payloads(response: httpx.Response) -> list:  # type: ignore[type-arg]
    payloads: list = []  # type: ignore[type-arg]
    for block in response.text.split("\n\n"):
        if block.strip():
            assert block.startswith("data: "), block
            data = block[len("data: ") :]
            payloads.append(data if data == "[DONE]" else json.loads(data))
    return payloads


def stream(client: httpx.Client, path: str, body: dict) -> tuple[httpx.Response, list]:  # type: ignore[type-arg]
    r = client.post(path, json={**body, "stream": True})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.text.endswith("data: [DONE]\n\n")
    return r, sse_payloads(r)


def test_chat_stream_sequence(client: httpx.Client) -> None:
    body = {"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 6, "temperature": 0}
    _, events = stream(client, "/v1/chat/completions", body)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")
    assert all("usage" not in c for c in chunks[:-1])
    usage = chunks[-1]["usage"]
    content_chunks = [c for c in chunks[1:-1]]
    # One chunk per generated token (the final token of a "stop" answer is the end-of-turn token).
    assert len(content_chunks) in (usage["completion_tokens"], usage["completion_tokens"] - 1)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    non_stream = client.post("/v1/chat/completions", json=body).json()
    assert text == non_stream["choices"][0]["message"]["content"]
    assert usage == non_stream["usage"]


def test_completion_stream_sequence(client: httpx.Client) -> None:
    _, events = stream(client, "/v1/completions", {"prompt": COUNT, "max_tokens": 5, "temperature": 0})
    chunks = events[:-1]
    assert all(c["object"] == "text_completion" for c in chunks)
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * 5 + ["length"]
    assert "".join(c["choices"][0]["text"] for c in chunks) == " four, five, six"
    assert chunks[-1]["usage"]["completion_tokens"] == 5


def test_inference_chat_stream(client: httpx.Client) -> None:
    r = client.post(
        "/chat/completions",
        params={"api-version": "2024-05-01-preview"},
        json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3, "stream": True},
    )
    events = sse_payloads(r)
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert events[-1] == "[DONE]"


def test_stream_with_stop_sequence(client: httpx.Client) -> None:
    _, events = stream(client, "/v1/completions", {"prompt": COUNT, "max_tokens": 12, "temperature": 0, "stop": " six"})
    chunks = events[:-1]
    assert "".join(c["choices"][0]["text"] for c in chunks) == " four, five,"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_stream_with_n(client: httpx.Client) -> None:
    _, events = stream(client, "/v1/completions", {"prompt": COUNT, "max_tokens": 3, "temperature": 0, "n": 2})
    chunks = events[:-1]
    by_index: dict[int, str] = {0: "", 1: ""}
    finishes = {}
    for c in chunks:
        choice = c["choices"][0]
        by_index[choice["index"]] += choice["text"]
        if choice["finish_reason"] is not None:
            finishes[choice["index"]] = choice["finish_reason"]
    assert by_index[0] == by_index[1] == " four, five"
    assert finishes == {0: "length", 1: "length"}
    assert chunks[-1]["usage"]["completion_tokens"] == 6


def test_stream_logprobs_match_the_non_streamed_ones(client: httpx.Client) -> None:
    body = {"prompt": COUNT, "max_tokens": 8, "temperature": 0, "logprobs": 2, "stop": " six"}
    _, events = stream(client, "/v1/completions", body)
    tokens: list[str] = []
    for c in events[:-1]:
        lp = c["choices"][0]["logprobs"]
        if lp is not None:
            tokens += lp["tokens"]
    whole = client.post("/v1/completions", json=body).json()["choices"][0]
    assert whole["text"] == " four, five,"
    assert tokens == whole["logprobs"]["tokens"] == [" four", ",", " five", ","]


def test_stream_logprobs(client: httpx.Client) -> None:
    _, events = stream(client, "/v1/completions", {"prompt": COUNT, "max_tokens": 3, "temperature": 0, "logprobs": 1})
    token_chunks = [c for c in events[:-1] if c["choices"][0]["text"]]
    for c in token_chunks:
        lp = c["choices"][0]["logprobs"]
        assert lp["tokens"] == [c["choices"][0]["text"]]
        assert lp["token_logprobs"][0] < 0


def test_first_chunk_arrives_before_generation_ends(client: httpx.Client) -> None:
    body = {**LONG, "max_tokens": 200}
    start = time.monotonic()
    first = None
    with client.stream("POST", "/v1/completions", json=body) as r:
        for line in r.iter_lines():
            if line.startswith("data: {") and first is None:
                first = time.monotonic() - start
        total = time.monotonic() - start
    assert first is not None
    assert first < total / 4, (first, total)


def stats(client: httpx.Client) -> dict:  # type: ignore[type-arg]
    return client.get("/_server/stats").json()  # type: ignore[no-any-return]


def wait_for_cancellation(client: httpx.Client, before: dict) -> dict:  # type: ignore[type-arg]
    """Poll the stats (10 s at most) until one more generation was cancelled and none is running."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = stats(client)
        if now["generations_cancelled"] > before["generations_cancelled"] and now["active_generations"] == 0:
            return now
        time.sleep(0.05)
    raise AssertionError(f"generation still running: {now}")


def test_disconnect_stops_generation(client: httpx.Client) -> None:
    before = stats(client)
    with client.stream("POST", "/v1/completions", json=LONG) as r:
        seen = 0
        for line in r.iter_lines():
            if line.startswith("data: {"):
                seen += 1
                if seen == 3:
                    break
    # The response is closed: the server must notice within a token or two.
    now = wait_for_cancellation(client, before)
    generated = now["tokens_generated"] - before["tokens_generated"]
    assert generated < 200, generated  # far from the 1500 requested
    time.sleep(0.3)
    assert stats(client)["tokens_generated"] == now["tokens_generated"]  # nothing generates in the background
    # And the server answers the next request promptly.
    t = time.monotonic()
    r2 = client.post("/v1/completions", json={"prompt": "Hi", "max_tokens": 2})
    assert r2.status_code == 200
    assert time.monotonic() - t < 10


def test_non_streaming_disconnect_cancels_too(client: httpx.Client) -> None:
    before = stats(client)
    body = {**LONG, "stream": False}
    with contextlib.suppress(httpx.TimeoutException):
        httpx.post(f"{client.base_url}/v1/completions", json=body, headers={"api-key": "test-key"}, timeout=1.0)
    wait_for_cancellation(client, before)


async def test_concurrent_streams_are_queued_and_both_complete(client: httpx.Client) -> None:
    body = {"prompt": COUNT, "max_tokens": 12, "temperature": 0, "stream": True}

    async def run(ac: httpx.AsyncClient) -> tuple[str, int]:
        text = ""
        usage = 0
        async with ac.stream("POST", "/v1/completions", json=body) as r:
            assert r.status_code == 200
            async for line in r.aiter_lines():
                if line.startswith("data: {"):
                    chunk = json.loads(line[6:])
                    text += chunk["choices"][0]["text"]
                    usage = chunk.get("usage", {}).get("completion_tokens", usage)
        return text, usage

    async with httpx.AsyncClient(base_url=str(client.base_url), headers={"api-key": "test-key"}, timeout=60) as ac:
        results = await asyncio.gather(*(run(ac) for _ in range(3)))
    assert [r[1] for r in results] == [12, 12, 12]
    assert len({r[0] for r in results}) == 1  # queued, not mixed: each got the whole answer


async def test_many_candidates_do_not_starve_a_single_answer(client: httpx.Client) -> None:
    big = {"prompt": COUNT, "max_tokens": 16, "temperature": 0, "ignore_eos": True, "n": 6}
    small = {"prompt": COUNT, "max_tokens": 4, "temperature": 0}
    finished: list[str] = []

    async def run(ac: httpx.AsyncClient, name: str, body: dict, delay: float) -> None:  # type: ignore[type-arg]
        await asyncio.sleep(delay)
        r = await ac.post("/v1/completions", json=body)
        assert r.status_code == 200, r.text
        finished.append(name)

    async with httpx.AsyncClient(base_url=str(client.base_url), headers={"api-key": "test-key"}, timeout=60) as ac:
        await asyncio.gather(run(ac, "big", big, 0.0), run(ac, "small", small, 0.3))
    # Served round-robin one candidate at a time: the single answer does not wait for all six candidates.
    assert finished == ["small", "big"]
