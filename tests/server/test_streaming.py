"""Data-only SSE as the real service sends it; disconnects stop generation; concurrent requests queue fairly."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
from support.server_stats import settled_stats, stats
from support.waiting import eventually, wait_until
from support.wire import sse_payloads

COUNT = "Count: one, two, three,"
LONG = {"prompt": COUNT, "max_tokens": 1500, "temperature": 0, "ignore_eos": True, "stream": True}


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
    # Seen from the server's counters, not a stopwatch (benchmarks/server_throughput.py prints the times).
    body = {**LONG, "max_tokens": 200}
    before = settled_stats(client)
    with client.stream("POST", "/v1/completions", json=body) as r:
        lines = r.iter_lines()
        assert any(line.startswith("data: {") for line in lines)  # stops at the first chunk
        at_first = stats(client)
        for _ in lines:
            pass
    after = stats(client)
    # When the first chunk is read, its generation is still running: chunks are sent as tokens are made.
    assert at_first["generations_completed"] == before["generations_completed"], at_first
    assert at_first["tokens_generated"] - before["tokens_generated"] < 200, at_first
    assert after["generations_completed"] == before["generations_completed"] + 1
    assert after["tokens_generated"] - before["tokens_generated"] == 200


def wait_for_cancellation(client: httpx.Client, before: dict) -> dict:  # type: ignore[type-arg]
    """Read the stats (10 s at most) until one more generation was cancelled and none is running."""
    def cancelled() -> dict | None:  # type: ignore[type-arg]
        now = stats(client)
        done = now["generations_cancelled"] > before["generations_cancelled"] and now["active_generations"] == 0
        return now if done else None

    return wait_until(cancelled, what="the cancelled generation stopped")


def test_disconnect_stops_generation(client: httpx.Client) -> None:
    before = settled_stats(client)
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
    # And the server answers the next request promptly ...
    r2 = client.post("/v1/completions", json={"prompt": "Hi", "max_tokens": 2}, timeout=10)
    assert r2.status_code == 200
    # ... and, from the cancellation until that answer, generated only that answer's tokens: nothing ran on in
    # the background.
    assert stats(client)["tokens_generated"] == now["tokens_generated"] + r2.json()["usage"]["completion_tokens"]


def test_non_streaming_disconnect_cancels_too(client: httpx.Client) -> None:
    before = settled_stats(client)
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

    async def run(ac: httpx.AsyncClient, name: str, body: dict) -> None:  # type: ignore[type-arg]
        r = await ac.post("/v1/completions", json=body)
        assert r.status_code == 200, r.text
        finished.append(name)

    async with httpx.AsyncClient(base_url=str(client.base_url), headers={"api-key": "test-key"}, timeout=60) as ac:
        before = settled_stats(client)["tokens_generated"]
        big_task = asyncio.ensure_future(run(ac, "big", big))

        async def big_is_generating() -> bool:
            return bool((await ac.get("/_server/stats")).json()["tokens_generated"] > before)

        await eventually(big_is_generating, what="the six-candidate request generating")
        await asyncio.gather(big_task, run(ac, "small", small))
    # Served round-robin one candidate at a time: the single answer does not wait for all six candidates.
    assert finished == ["small", "big"]
