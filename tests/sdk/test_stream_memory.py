"""What a stream keeps for ``until_done()`` is bounded by the client's ``max_response_bytes`` (issue 19, item 10).

A stream read chunk by chunk while the caller keeps nothing must not grow the client without bound: past the
cap the fold lets go of its text and ``until_done()`` refuses with ``ResponseTooLargeError``; the chunks
themselves all arrive. The size counted is the decoded one, so a gzip-compressed stream counts as inflated.
"""

from __future__ import annotations

import gc
import json
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from support.memory import traced_peak
from support.shells import USER_HI, Shell, ShellFactory, mock_shell, sse
from support.wire import DONE, delta_chunk, event

from llama_azure import ResponseTooLargeError
from llama_azure._streaming.accumulate import ChatAccumulator, CompletionAccumulator
from llama_azure.server.process import ReferenceServer
from llama_azure.types.chat import ChatCompletionChunk
from llama_azure.types.completion import Completion

MIB = 1024 * 1024
PIECE = "llama " * 2731  # ~16 KiB of text per event


def long_stream_events(total_chars: int) -> Iterator[bytes]:
    """A chat stream carrying ``total_chars`` characters of text, made lazily (the test holds none of it)."""
    yield event(delta_chunk("", role="assistant"))
    for _ in range(total_chars // len(PIECE)):
        yield event(delta_chunk(PIECE))
    yield event(delta_chunk(None, "stop"))
    yield DONE


class _Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A network body produced as it is read: ``parts()`` is called anew for each read of it."""

    def __init__(self, parts: Any) -> None:
        self.parts = parts

    def __iter__(self) -> Iterator[bytes]:
        yield from self.parts()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts():
            yield part


def gzipped(parts: Iterator[bytes], piece: int) -> Iterator[bytes]:
    """``parts`` gzip-compressed on the fly, sent in network reads of ``piece`` compressed bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    pending = b""
    for part in parts:
        pending += packer.compress(part)
        while len(pending) >= piece:
            yield pending[:piece]
            pending = pending[piece:]
    pending += packer.flush()
    for start in range(0, len(pending), piece):
        yield pending[start:start + piece]


async def read_and_drop(shell: Shell, stream: Any) -> int:
    """Read every chunk, keeping none; returns how many there were."""
    count = 0
    if shell.is_async:
        async for _ in stream:
            count += 1
    else:
        for _ in stream:
            count += 1
    return count


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
async def test_a_long_stream_read_and_dropped_keeps_memory_within_the_cap(shell_kind: str, encoding: str) -> None:
    total = 32 * MIB  # characters of text the stream carries; the cap is 1 MiB
    if encoding == "gzip":
        def handler(request: httpx.Request) -> httpx.Response:
            headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
            return httpx.Response(200, headers=headers,
                                  stream=_Body(lambda: gzipped(long_stream_events(total), 65536)))
    else:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, headers={"content-type": "text/event-stream"},
                                  stream=_Body(lambda: long_stream_events(total)))
    async with mock_shell(shell_kind, handler, max_response_bytes=MIB) as shell:
        stream = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, stream=True))
        with traced_peak() as peak:
            count = await read_and_drop(shell, stream)
        assert count == total // len(PIECE) + 2  # every chunk arrived
        assert peak.bytes < 8 * MIB, f"reading a {total // MIB} MiB stream held {peak.bytes / MIB:.1f} MiB"
        with pytest.raises(ResponseTooLargeError, match=f"max_response_bytes={MIB}") as caught:
            await shell.until_done(stream)
        assert caught.value.limit == MIB


async def test_the_server_s_huge_stream_is_refused_whole_past_the_cap_and_read_whole_under_it(
    shell_factory: ShellFactory, fault_server: ReferenceServer
) -> None:
    options: dict[str, Any] = {"messages": USER_HI, "max_tokens": 4, "temperature": 0, "stream": True,
                               "extra_headers": {"x-llama-azure-fault": "huge:200000"}}
    tight = shell_factory(fault_server.url, fault_server.api_key, max_response_bytes=50_000)
    stream = await tight.run(lambda c: c.chat.completions.create(**options))
    chunks = await tight.chunks(stream)
    assert sum(len(c.choices[0].delta.content or "") for c in chunks if c.choices) >= 200_000  # all arrived
    with pytest.raises(ResponseTooLargeError, match="max_response_bytes=50000"):
        await tight.until_done(stream)
    roomy = shell_factory(fault_server.url, fault_server.api_key, max_response_bytes=MIB)
    reply = await roomy.until_done(await roomy.run(lambda c: c.chat.completions.create(**options)))
    assert len(reply.content or "") >= 200_000


def chunks_alive(stream_id: str) -> int:
    # Only this stream's chunks: a test run earlier in the same worker may leave its own alive (CI saw 6).
    return sum(isinstance(o, ChatCompletionChunk) and o.id == stream_id for o in gc.get_objects())


async def test_a_read_of_many_chunks_holds_one_parsed_chunk_at_a_time(shell_kind: str) -> None:
    # All 202 chunks come in one network read: they are parsed as they are handed out, not all at once (all
    # alive together, the garbage collector scanned and promoted them, a third of a streamed chunk's cost).
    sid = f"chatcmpl-one-at-a-time-{shell_kind}"
    body = b"".join([event(delta_chunk("", role="assistant", id=sid)),
                     *(event(delta_chunk("tok", id=sid)) for _ in range(200)),
                     event(delta_chunk(None, "stop", id=sid)), DONE])
    async with mock_shell(shell_kind, sse([body])) as shell:
        stream: Any = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, stream=True))
        count, alive = 0, 0
        if shell.is_async:
            async for _ in stream:
                count += 1
                if count == 5:
                    alive = chunks_alive(sid)
        else:
            for _ in stream:
                count += 1
                if count == 5:
                    alive = chunks_alive(sid)
        assert count == 202
        assert alive <= 2, f"{alive} parsed chunks alive at once"  # this one (and the loop's last one)
        assert "closed" in repr(stream)
        assert (await shell.until_done(stream)).content == "tok" * 200


def test_the_fold_counts_text_tool_arguments_and_logprob_events() -> None:
    acc = ChatAccumulator(limit=100)
    acc.add(ChatCompletionChunk.model_validate({"choices": [{"index": 0, "delta": {"content": "x" * 60}}]}))
    acc.add(ChatCompletionChunk.model_validate({"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "a", "function": {"name": "f", "arguments": "y" * 30}}]}}]}))
    assert acc.kept == 90 and not acc.dropped
    logprobs = {"content": [{"token": "z", "logprob": -1.0, "top_logprobs": []}]}
    data = json.dumps({"choices": [{"index": 0, "delta": {"content": "z"}, "logprobs": logprobs}]})
    acc.add(ChatCompletionChunk.model_validate_json(data), len(data))  # the event's size: its logprobs are kept
    assert acc.dropped and acc.kept == 0
    acc.add(ChatCompletionChunk.model_validate({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    assert acc.finished and acc.result().choices[0].finish_reason == "stop"  # what ends a stream is kept

    text = CompletionAccumulator(limit=10)
    text.add(Completion.model_validate({"choices": [{"index": 0, "text": "abcdefghij"}]}))
    assert not text.dropped
    text.add(Completion.model_validate({"choices": [{"index": 0, "text": "k"}]}))
    assert text.dropped and text.result().choices[0].text == ""


async def test_a_compressed_stream_under_the_cap_folds_whole(shell_kind: str) -> None:
    total = 64 * len(PIECE)  # ~1 MiB of text, in one 64 KiB read once compressed

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
        return httpx.Response(200, headers=headers, stream=_Body(lambda: gzipped(long_stream_events(total), 65536)))

    async with mock_shell(shell_kind, handler, max_response_bytes=2 * MIB) as shell:
        stream = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, stream=True))
        reply = await shell.until_done(stream)
    assert reply.content == PIECE * 64 and reply.choices[0].finish_reason == "stop"
