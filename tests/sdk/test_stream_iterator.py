"""A stream is its own iterator, as a file object or openai-python's streams (issue 22, item 1).

``next(stream)`` then ``for chunk in stream`` gets the rest; a loop left with ``break`` and started again goes
on. Only ``close()``, leaving ``with``, the stream's end or dropping it close it, never an abandoned loop.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.shells import USER_HI, Shell

from llama_azure import APIConnectionError, AsyncStream, ChatCompletionChunk, Stream

AnyStream = Stream[ChatCompletionChunk, Any] | AsyncStream[ChatCompletionChunk, Any]


async def next_chunk(stream: AnyStream) -> ChatCompletionChunk:
    if isinstance(stream, AsyncStream):
        return await anext(stream)
    return next(stream)


async def up_to(stream: AnyStream, count: int) -> list[ChatCompletionChunk]:
    """At most ``count`` chunks, leaving the loop with ``break``."""
    got: list[ChatCompletionChunk] = []
    if isinstance(stream, AsyncStream):
        async for chunk in stream:
            got.append(chunk)
            if len(got) == count:
                break
    else:
        for chunk in stream:
            got.append(chunk)
            if len(got) == count:
                break
    return got


def text(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


async def open_stream(shell: Shell) -> AnyStream:
    return await shell.run(
        lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=8, temperature=0, stream=True)
    )


async def test_a_stream_is_its_own_iterator(shell: Shell) -> None:
    stream = await open_stream(shell)
    if isinstance(stream, AsyncStream):
        assert stream.__aiter__() is stream
    else:
        assert iter(stream) is stream
    await shell.close(stream)


async def test_next_then_a_loop_reads_the_rest(shell: Shell) -> None:
    whole = text(await shell.chunks(await open_stream(shell)))
    stream = await open_stream(shell)
    first = await next_chunk(stream)
    rest = await shell.chunks(stream)
    assert rest, "the loop after next() got nothing"
    assert text([first, *rest]) == whole
    assert "closed" in repr(stream)  # read to its end: closed, the connection back in the pool
    reply = await shell.until_done(stream)  # the fold holds the chunk read by next() too
    assert reply.content == whole


async def test_a_loop_left_with_break_goes_on_when_started_again(shell: Shell) -> None:
    whole = text(await shell.chunks(await open_stream(shell)))
    stream = await open_stream(shell)
    head = await up_to(stream, 2)
    assert len(head) == 2 and "open" in repr(stream)  # the abandoned loop did not close it
    middle = await up_to(stream, 1)
    rest = await shell.chunks(stream)
    assert text([*head, *middle, *rest]) == whole


async def test_close_and_leaving_with_end_a_stream_read_in_part(shell: Shell) -> None:
    stream = await open_stream(shell)
    await next_chunk(stream)
    await shell.close(stream)
    with pytest.raises(APIConnectionError, match="closed before its end"):
        await next_chunk(stream)

    stream = await open_stream(shell)
    if isinstance(stream, AsyncStream):
        async with stream:
            await anext(stream)
    else:
        with stream:
            next(stream)
    assert "closed" in repr(stream)
    with pytest.raises(APIConnectionError, match="closed before its end"):
        await shell.chunks(stream)
