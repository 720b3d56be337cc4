"""Client-side pacing (``rate_limit=RateLimit(...)``) against a real server with a small quota.

The server (``quota_server``) allows 4 requests and 300 tokens per 3 s window. Each burst is larger than
that; with pacing and ``max_retries=0`` no call sees a 429, without pacing the same burst does (against a
server whose window outlasts the test: a loaded machine cannot spread the burst over two windows).
A test whose point is that the budget is full keeps it full with a long window or a hand-moved clock.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from support.bursts import HI, burst, count_429, unexpected
from support.clock import FakeClock
from support.quota import QUOTA_RPM, QUOTA_TPM, QUOTA_WINDOW, QuotaLimits, long_quota_window
from support.shells import Shell, ShellFactory, make_client, mock_shell
from support.waiting import eventually
from support.wire import CHAT_OK, DONE, delta_chunk, event

from llama_azure import (
    AsyncLlamaClient,
    BadRequestError,
    LlamaClient,
    ParameterError,
    QuotaStoreError,
    QuotaTimeoutError,
    RateLimit,
)
from llama_azure._call.prepare import prepare_chat
from llama_azure._pacing.ledger import LocalLedger
from llama_azure._pacing.token_estimate import estimate_tokens
from llama_azure.server.process import ReferenceServer
from llama_azure.types import ChatMessageParam

# Each answer holds ~32 tokens with max_tokens=1 (the request limit bites), 79 with max_tokens=48 and ignore_eos
# (tokens bite: a window holds at most three such answers, never the four requests the server allows; an answer
# that stopped early would hold fewer tokens and let a fifth request into the window, a 429 for requests).
SHORT, LONG = 1, 48


@pytest.fixture
def make_shell(shell_factory: ShellFactory, quota_server: ReferenceServer, quota_deployment: str,
               quota_limits: QuotaLimits) -> Callable[[RateLimit | None], Shell]:
    """Shells on one fresh deployment of the quota server, paced by the given RateLimit, without retries."""
    assert (quota_limits.rpm, quota_limits.tpm) == (QUOTA_RPM, QUOTA_TPM)

    def make(rate_limit: RateLimit | None) -> Shell:
        return shell_factory(quota_server.url, quota_server.api_key, deployment=quota_deployment, max_retries=0,
                             rate_limit=rate_limit)
    return make


def chat(max_tokens: int, stream: bool = False) -> Any:
    def call(client: Any) -> Any:
        return client.chat.completions.create(messages=HI, max_tokens=max_tokens, stream=stream,
                                              ignore_eos=True, temperature=0)
    return call


async def test_an_image_costs_a_bounded_estimate_not_its_base64_length(shell_kind: str,
                                                                       server: ReferenceServer) -> None:
    """A 300 KB image fits a 200k-token budget: it is sent (and this text-only model answers 400 for it)."""
    image = "data:image/png;base64," + base64.b64encode(bytes(300_000)).decode()
    messages: Any = [{"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                                  {"type": "image_url", "image_url": {"url": image}}]}]
    async with Shell(make_client(shell_kind, server.url, server.api_key, max_retries=0,
                                 rate_limit=RateLimit(tokens=200_000))) as shell:
        with pytest.raises(BadRequestError, match="images are not supported"):
            await shell.run(lambda c: c.chat.completions.create(messages=messages, max_tokens=1))


async def test_burst_over_the_request_quota_gets_no_429_when_paced(make_shell: Any) -> None:
    shell = make_shell(RateLimit(requests=QUOTA_RPM, window=QUOTA_WINDOW))
    results = await burst(shell, 2 * QUOTA_RPM + 1, chat(SHORT))
    assert unexpected(results) == []
    assert count_429(results) == 0
    assert all(r.choices for r in results)


@long_quota_window
async def test_the_same_request_burst_without_pacing_gets_429s(make_shell: Any) -> None:
    results = await burst(make_shell(None), 2 * QUOTA_RPM + 1, chat(SHORT))
    assert unexpected(results) == []
    assert count_429(results) > 0


async def test_burst_over_the_token_quota_gets_no_429_when_paced(make_shell: Any) -> None:
    shell = make_shell(RateLimit(tokens=QUOTA_TPM, window=QUOTA_WINDOW))
    results = await burst(shell, 7, chat(LONG))
    assert unexpected(results) == []
    assert count_429(results) == 0


@long_quota_window
async def test_the_same_token_burst_without_pacing_gets_429s(make_shell: Any) -> None:
    results = await burst(make_shell(None), 7, chat(LONG))
    assert unexpected(results) == []
    assert count_429(results) > 0


async def test_streams_are_paced(make_shell: Any) -> None:
    shell = make_shell(RateLimit(requests=QUOTA_RPM, tokens=QUOTA_TPM, window=QUOTA_WINDOW))

    def read(client: Any) -> Any:
        stream = chat(SHORT, stream=True)(client)
        return stream

    streams = await burst(shell, 2 * QUOTA_RPM + 1, read)
    assert count_429(streams) == 0 and unexpected(streams) == []
    for stream in streams:
        assert (await shell.until_done(stream)).choices


async def test_a_streams_usage_gives_back_what_its_estimate_held(make_shell: Any) -> None:
    rate_limit = RateLimit(tokens=QUOTA_TPM, window=600)  # a long window: nothing leaves it during the test
    shell = make_shell(rate_limit)
    stream = await shell.run(chat(SHORT, stream=True))
    estimate = rate_limit.usage().tokens  # held while the answer streams: the prompt estimated from its bytes
    reply = await shell.until_done(stream)
    assert reply.usage is not None and reply.usage.total_tokens < estimate
    assert rate_limit.usage().tokens == reply.usage.total_tokens  # the last chunk's usage settled the budget


@long_quota_window
async def test_with_options_copies_share_the_budget(make_shell: Any, quota_limits: QuotaLimits) -> None:
    rate_limit = RateLimit(requests=QUOTA_RPM, window=quota_limits.window)
    shell = make_shell(rate_limit)
    copy = Shell(shell.client.with_options(timeout=30))
    assert copy.client.rate_limit is rate_limit
    results = await burst(shell, QUOTA_RPM, chat(SHORT))
    assert count_429(results) == 0 and unexpected(results) == []
    with pytest.raises(QuotaTimeoutError, match="nothing was sent"):  # the original spent the quota
        await copy.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=SHORT, total_timeout=0.5))


async def test_a_call_whose_turn_is_beyond_its_timeout_fails_fast_and_holds_nothing(make_shell: Any) -> None:
    rate_limit = RateLimit(requests=1, window=600)  # however slow the first call, its request is still held
    shell = make_shell(rate_limit)
    await shell.run(chat(SHORT))
    with pytest.raises(QuotaTimeoutError, match="nothing was sent"):
        await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=SHORT, total_timeout=0.5))
    usage = rate_limit.usage()
    assert (usage.requests, usage.waiting) == (1, 0)


async def test_a_cancelled_waiting_call_gives_its_place_back(
    quota_server: ReferenceServer, quota_deployment: str
) -> None:
    rate_limit = RateLimit(requests=1, window=QUOTA_WINDOW)
    clock = rate_limit._clock = FakeClock()  # the window moves only when the test says so
    async with AsyncLlamaClient(quota_server.url, quota_server.api_key, deployment=quota_deployment,
                                max_retries=0, rate_limit=rate_limit) as client:
        await client.chat.completions.create(messages=HI, max_tokens=SHORT)
        waiting = asyncio.ensure_future(client.chat.completions.create(messages=HI, max_tokens=SHORT))
        for _ in range(1000):  # let the task reach its place in line (no I/O before it)
            if rate_limit.usage().waiting:
                break
            await asyncio.sleep(0)
        assert rate_limit.usage().waiting == 1
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert rate_limit.usage().waiting == 0
        # The next call is not stuck behind the cancelled one: it goes when the window frees room.
        clock.now += QUOTA_WINDOW + 1
        reply = await client.chat.completions.create(messages=HI, max_tokens=SHORT)
        assert reply.choices


async def test_a_request_larger_than_the_whole_budget_is_refused_before_sending(shell_kind: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    async with mock_shell(shell_kind, handler, rate_limit=RateLimit(tokens=100, window=60)) as shell:
        with pytest.raises(ParameterError, match=r"more than rate_limit allows in a whole window \(100 tokens"):
            await shell.run(chat(200))
        assert shell.client.rate_limit is not None and shell.client.rate_limit.usage().waiting == 0


@pytest.mark.parametrize("value", ["1000/min", {"requests": 5}])
def test_rate_limit_must_be_a_rate_limit(value: object) -> None:
    from llama_azure import ConfigurationError, LlamaClient

    with pytest.raises(ConfigurationError, match="rate_limit must be a RateLimit"):
        LlamaClient("https://x.eastus2.models.ai.azure.com", "k", rate_limit=value)  # type: ignore[arg-type]


@long_quota_window  # the 2 requests of the other client stay in the server's window to the end
async def test_what_another_client_used_is_learned_from_the_remaining_headers(
        make_shell: Any, quota_limits: QuotaLimits) -> None:
    other = make_shell(None)  # another program on the same deployment, not pacing
    for _ in range(2):
        await other.run(chat(SHORT))
    rate_limit = RateLimit(requests=QUOTA_RPM, window=quota_limits.window)
    shell = make_shell(rate_limit)
    await shell.run(chat(SHORT))  # its answer says only 1 request is left in the window
    assert rate_limit.usage().requests == 3  # its own, and the 2 it did not send
    assert (await shell.run(chat(SHORT))).choices  # the last one the quota allows
    # One more would be a 429 (the server counts 4); the budget knows it, and sends nothing.
    with pytest.raises(QuotaTimeoutError, match="nothing was sent"):
        await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=SHORT, total_timeout=0.5))


def usage(total: int) -> dict[str, int]:
    return {"prompt_tokens": 1, "completion_tokens": total - 1, "total_tokens": total}


def streamed(*usages: int) -> httpx.Response:
    """A stream saying "Hello": ``streamed(40)`` has usage on its last chunk; ``streamed(7, 40)`` a running
    total on the one before too (as some gateways send)."""
    *running, last = usages
    events = [event(delta_chunk("Hel", role="assistant")),
              event(delta_chunk("lo", usage=usage(running[0])) if running else delta_chunk("lo")),
              event(delta_chunk(None, "stop", usage=usage(last))), DONE]
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b"".join(events))


async def test_a_stream_settles_once_with_its_last_usage(shell_kind: str) -> None:
    rate_limit = RateLimit(tokens=1000, window=600)
    async with mock_shell(shell_kind, lambda request: streamed(7, 40), rate_limit=rate_limit) as shell:
        reply = await shell.until_done(await shell.run(chat(SHORT, stream=True)))
    assert reply.content == "Hello"
    assert rate_limit.usage().tokens == 40  # not 7, the first running total


async def test_a_store_that_fails_after_the_answer_costs_the_caller_nothing(
        shell_kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer came: recording it (Redis down) is best effort; the budget keeps its estimate, the caller
    gets the answer, whole."""
    def store_down(*args: Any) -> None:
        raise QuotaStoreError("redis://127.0.0.1:1 is unreachable")

    monkeypatch.setattr(LocalLedger, "answered", store_down)
    monkeypatch.setattr(LocalLedger, "settle", store_down)
    answers = iter([httpx.Response(200, json={**CHAT_OK, "usage": usage(12)}), streamed(12)])
    rate_limit = RateLimit(tokens=1000, window=600)
    async with mock_shell(shell_kind, lambda request: next(answers), rate_limit=rate_limit) as shell:
        assert (await shell.run(chat(SHORT))).content == "fine"
        assert (await shell.until_done(await shell.run(chat(SHORT, stream=True)))).content == "Hello"
    assert rate_limit.usage().tokens > 2 * 12  # the estimates, held as sent



async def test_a_call_waits_for_what_an_answer_out_gives_back_instead_of_failing_at_once(
        shell_kind: str, server: ReferenceServer) -> None:
    """Two calls whose estimates do not fit together in the budget, though the first one's real usage (a fraction
    of its estimate) leaves room: the second waits for that usage, instead of failing at once on the 60 s window
    the first one's estimate would be held for."""
    prompt: list[ChatMessageParam] = [{"role": "user", "content": "hello " * 60}]
    with LlamaClient(server.url, server.api_key) as plain:
        estimate = estimate_tokens(prepare_chat(plain._config, prompt, False, {"max_tokens": 1}).request.content)
    rate_limit = RateLimit(tokens=estimate * 3 // 2)  # one estimate fits, two do not; one + real usage does
    async with Shell(make_client(shell_kind, server.url, server.api_key, rate_limit=rate_limit)) as shell:
        first = await shell.run(lambda c: c.chat.completions.create(messages=prompt, max_tokens=1, stream=True))

        def second_call(client: Any) -> Any:  # its answer started: its usage comes with the stream's end
            return client.chat.completions.create(messages=prompt, max_tokens=1, total_timeout=30)

        second = asyncio.ensure_future(second_call(shell.client) if shell.is_async
                                       else asyncio.to_thread(second_call, shell.client))

        async def waiting_or_done() -> bool:
            return rate_limit.usage().waiting == 1 or second.done()

        await eventually(waiting_or_done, what="the second call in line")
        used = (await shell.until_done(first)).usage
        reply = await second
    assert used is not None and (used.total_tokens or estimate) < estimate // 2  # what made room
    assert reply.choices


async def test_a_call_that_waited_for_room_in_vain_says_so_when_its_time_is_up(
        shell_kind: str, server: ReferenceServer) -> None:
    """The first call's usage could have made room in time (so the second waits), but its stream is not read."""
    rate_limit = RateLimit(tokens=1000)
    async with Shell(make_client(shell_kind, server.url, server.api_key, rate_limit=rate_limit)) as shell:
        first = await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=600, stream=True))
        with pytest.raises(QuotaTimeoutError, match=r"had no room for this call within the 0\.5 s it allows"):
            await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=600, total_timeout=0.5))
        await shell.close(first)
