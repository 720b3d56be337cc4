"""The sans-IO stream core: any split of a valid chat stream gives the same chunks and final text;
the idle and total limits of :class:`CallTimer` on an injected clock."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.clock import FakeClock
from support.wire import DONE, delta_chunk, event

from llama_azure import APIConnectionError, APITimeoutError
from llama_azure._http.timeouts import CallTimer
from llama_azure._streaming.streams import StreamCore
from llama_azure.types.chat import ChatCompletion, ChatCompletionChunk


def _response() -> httpx.Response:
    return httpx.Response(200, headers={"x-request-id": "req-1"},
                          request=httpx.Request("POST", "https://x.test/v1/chat/completions"))


pieces = st.lists(st.text(st.characters(exclude_categories=["Cs"]), max_size=12), max_size=12)


def _stream(texts: list[str], eols: list[str], comments: list[bool], done: bool) -> bytes:
    out = [event(delta_chunk("", role="assistant"))]
    for i, text in enumerate(texts):
        eol = eols[i % len(eols)]
        if comments[i % len(comments)]:
            out.append((": keep-alive" + eol + eol + "id: 7" + eol + "retry: 100" + eol + eol).encode())
        out.append(event(delta_chunk(text), eol))
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    out.append(event(delta_chunk(None, "stop", usage=usage), "\r\n"))
    if done:
        out.append(DONE)
    return b"".join(out)


def _run(data: bytes, cuts: list[int]) -> tuple[list[dict[str, Any]], str | None]:
    core = StreamCore(_response(), ChatCompletionChunk, "x.test")
    chunks: list[ChatCompletionChunk] = []
    edges = sorted({0, len(data), *cuts})
    for start, end in itertools.pairwise(edges):
        chunks.extend(core.feed(data[start:end]))
    if not core.done:
        chunks.extend(core.finish())
    result = core.accumulator.result()
    assert isinstance(result, ChatCompletion)
    return [c.model_dump() for c in chunks], result.content


@settings(max_examples=200, deadline=None)
@given(
    texts=pieces,
    eols=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1, max_size=3),
    comments=st.lists(st.booleans(), min_size=1, max_size=3),
    done=st.booleans(),
    data=st.data(),
)
def test_any_split_of_a_chat_stream_gives_the_same_chunks_and_text(
    texts: list[str], eols: list[str], comments: list[bool], done: bool, data: st.DataObject
) -> None:
    stream = _stream(texts, eols, comments, done)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=30), label="cuts")
    whole_chunks, whole_text = _run(stream, [])
    split_chunks, split_text = _run(stream, cuts)
    assert split_chunks == whole_chunks
    assert len(whole_chunks) == len(texts) + 2
    assert split_text == whole_text == "".join(texts)  # the role delta carries "": no text at all is ""


def test_a_cut_stream_without_finish_reason_or_done_raises() -> None:
    stream = _stream(["a", "b"], ["\n"], [False], done=False)
    cut = stream[: stream.rindex(b"data: ")]  # drop the finishing chunk
    core = StreamCore(_response(), ChatCompletionChunk, "x.test")
    assert len(core.feed(cut)) == 3
    with pytest.raises(APIConnectionError, match="incomplete"):
        core.finish()



def test_keepalive_comments_do_not_reset_the_idle_timer() -> None:
    clock = FakeClock(100.0)
    timer = CallTimer(idle_timeout=5.0, clock=clock)
    core = StreamCore(_response(), ChatCompletionChunk, "x.test", timer)
    assert len(core.feed(event(delta_chunk("", role="assistant")))) == 1
    for _ in range(4):
        clock.now += 1.0
        assert core.feed(b": keep-alive\n\n") == []
    assert core.read_budget() == pytest.approx(1.0)
    clock.now += 1.5
    with pytest.raises(APITimeoutError, match=r"stream_idle_timeout=5 s"):
        core.feed(b": keep-alive\n\n")


def test_each_parsed_chunk_resets_the_idle_timer_but_not_the_total() -> None:
    clock = FakeClock(100.0)
    timer = CallTimer(total_timeout=10.0, idle_timeout=3.0, clock=clock)
    core = StreamCore(_response(), ChatCompletionChunk, "x.test", timer)
    for _ in range(4):
        clock.now += 2.0
        assert len(core.feed(event(delta_chunk("x")))) == 1
    assert core.read_budget() == pytest.approx(2.0)  # total: 10 - 8 left; idle: 3 left
    clock.now += 2.5
    with pytest.raises(APITimeoutError, match=r"total_timeout=10 s"):
        core.feed(event(delta_chunk("x")))


def test_clamp_cuts_every_phase_to_the_time_left() -> None:
    clock = FakeClock(100.0)
    timer = CallTimer(total_timeout=2.0, clock=clock)
    clock.now += 0.5
    cut = timer.clamp(httpx.Timeout(600.0, connect=5.0))
    assert (cut.connect, cut.read, cut.write, cut.pool) == pytest.approx((1.5, 1.5, 1.5, 1.5))
    assert CallTimer().clamp(httpx.Timeout(7.0)) == httpx.Timeout(7.0)
