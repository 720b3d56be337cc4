"""Bounded memory: one stream event and one whole answer have a size cap, deep JSON is a typed error."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from support.memory import traced_peak
from support.shells import USER_HI, Shell, ShellFactory, mock_shell, sse
from support.wire import chunk, event

from llama_azure import (
    APIResponseValidationError,
    BadRequestError,
    ConfigurationError,
    LlamaAzureError,
    ResponseTooLargeError,
)
from llama_azure._streaming.body import DEFAULT_MAX_RESPONSE_BYTES
from llama_azure._streaming.sse import MAX_EVENT_BYTES, SSEDecoder, SSEProtocolError
from llama_azure.server.process import ReferenceServer

MIB = 1024 * 1024
DEEP = 100_000  # far past Python's recursion limit


# ---------------------------------------------------------------------------- one stream event


def test_the_decoder_caps_one_event_made_of_many_data_lines() -> None:
    decoder = SSEDecoder(max_event_bytes=1000)
    line = b"data: " + b"x" * 99 + b"\n"
    assert decoder.feed(line * 9 + b"\n")[0].data == "\n".join(["x" * 99] * 9)  # 900 characters: fine
    with pytest.raises(SSEProtocolError, match="larger than 1000 bytes") as caught:
        decoder.feed(line * 11)
    assert caught.value.limit == 1000
    assert decoder.feed(b"data: next\n\n")[0].data == "next"  # the oversized event was dropped whole


async def test_a_stream_event_over_the_cap_is_a_typed_error(shell_kind: str) -> None:
    line = b"data: " + b"x" * (MIB - 7) + b"\n"  # 1 MiB lines, all of one event: never dispatched
    parts = [event(chunk("", role="assistant")), *[line] * 64]
    async with mock_shell(shell_kind, sse(parts)) as shell:
        stream = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, stream=True))
        with pytest.raises(ResponseTooLargeError) as caught:
            await shell.chunks(stream)
        assert caught.value.limit == MAX_EVENT_BYTES
        assert f"larger than {MAX_EVENT_BYTES} bytes" in str(caught.value)


# ---------------------------------------------------------------------------- deep JSON


async def test_a_deeply_nested_error_event_is_a_typed_error(shell_kind: str) -> None:
    deep = b'{"error": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    parts = [event(chunk("", role="assistant")), b"data: " + deep + b"\n\n"]
    async with mock_shell(shell_kind, sse(parts)) as shell:
        stream = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, stream=True))
        with pytest.raises(LlamaAzureError):
            await shell.chunks(stream)


@pytest.mark.parametrize("status", [200, 400])
async def test_a_deeply_nested_body_is_a_typed_error(shell_kind: str, status: int) -> None:
    deep = b'{"error": {"message": ' + b"[" * DEEP + b"]" * DEEP + b"}}"
    async with mock_shell(shell_kind, lambda request: httpx.Response(status, content=deep)) as shell:
        with pytest.raises(APIResponseValidationError if status == 200 else BadRequestError):
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))


# ---------------------------------------------------------------------------- a whole answer


async def test_an_answer_over_max_response_bytes_is_a_typed_error(
    shell_factory: ShellFactory, server: ReferenceServer
) -> None:
    shell: Shell = shell_factory(server.url, server.api_key, max_response_bytes=100)
    with pytest.raises(ResponseTooLargeError) as caught:
        await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=4))
    assert caught.value.limit == 100 and "max_response_bytes=100" in str(caught.value)
    roomy = shell.client.with_options(max_response_bytes=DEFAULT_MAX_RESPONSE_BYTES)
    roomy_reply = await Shell(roomy).run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=4))
    assert roomy_reply.content is not None
    tight = Shell(roomy.with_options(max_response_bytes=100))
    with pytest.raises(ResponseTooLargeError):
        await tight.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=4))


def gzip_bomb(decoded_size: int) -> bytes:
    """A gzip body of ``decoded_size`` zero bytes, built without holding them all."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MIB)
    parts = [packer.compress(block) for _ in range(decoded_size // MIB)]
    return b"".join([*parts, packer.flush()])


async def test_a_gzip_bomb_stops_at_the_cap_without_inflating_in_memory(shell_kind: str) -> None:
    bomb = gzip_bomb(256 * MIB)
    assert len(bomb) < MIB
    headers = {"content-encoding": "gzip", "content-type": "application/json"}
    async with mock_shell(shell_kind, lambda request: httpx.Response(200, headers=headers, stream=_Once(bomb)),
                          max_response_bytes=8 * MIB) as shell:
        with traced_peak() as peak, pytest.raises(ResponseTooLargeError):
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert peak.bytes < 8 * MIB + 16 * MIB  # the cap, plus what a few small slices inflate to


async def test_a_compressed_answer_under_the_cap_is_read(shell_kind: str) -> None:
    body = b'{"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", ' \
           b'"content": "' + b"fine " * 20_000 + b'"}, "finish_reason": "stop"}]}'
    headers = {"content-encoding": "gzip", "content-type": "application/json"}
    async with mock_shell(shell_kind, lambda request: httpx.Response(200, headers=headers,
                                                                     stream=_Once(gzip.compress(body)))) as shell:
        reply = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert reply.content == "fine " * 20_000


@pytest.mark.parametrize("value", [0, -1, 1.5, "64", True])
def test_max_response_bytes_must_be_a_positive_int(value: object) -> None:
    from llama_azure import LlamaClient

    with pytest.raises(ConfigurationError, match="max_response_bytes"):
        LlamaClient("https://x.eastus2.models.ai.azure.com", "k", max_response_bytes=value)  # type: ignore[arg-type]


class _Once(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A network body (not read ahead by httpx, unlike ``content=``), in 64 KiB pieces."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        for i in range(0, len(self.data), 65536):
            yield self.data[i:i + 65536]

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i in range(0, len(self.data), 65536):
            yield self.data[i:i + 65536]


@pytest.mark.parametrize("prompt_kind", ["chat", "text"])
async def test_a_deeply_nested_score_answer_is_a_typed_error(shell_kind: str, prompt_kind: str) -> None:
    deep = b'{"output": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    async with mock_shell(shell_kind, lambda request: httpx.Response(200, content=deep),
                          endpoint="https://unit.eastus2.inference.ml.azure.com", api="score") as shell:
        with pytest.raises(APIResponseValidationError, match="not JSON"):
            if prompt_kind == "chat":
                await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
            else:
                await shell.run(lambda c: c.completions.create(prompt="Hi"))
