"""Helpers shared by the SDK tests: one test body drives the sync or the async client.

``Shell`` wraps either client so the same ``await shell.run(lambda c: ...)`` works for both; ``mock_shell``
builds one over ``httpx.MockTransport`` for wire forms the reference server never sends.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from llama_azure import AsyncLlamaClient, LlamaClient

USER_HI = [{"role": "user", "content": "Say hello in three words."}]


class Shell:
    """Drives a sync or an async client with the same test code."""

    def __init__(self, client: LlamaClient | AsyncLlamaClient) -> None:
        self.client = client
        self.is_async = isinstance(client, AsyncLlamaClient)

    async def run(self, call: Callable[[Any], Any]) -> Any:
        result = call(self.client)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def chunks(self, stream: Any) -> list[Any]:
        if self.is_async:
            return [chunk async for chunk in stream]
        return list(stream)

    async def until_done(self, stream: Any) -> Any:
        result = stream.until_done()
        return await result if inspect.isawaitable(result) else result

    async def close(self, obj: Any = None) -> None:
        result = (obj or self.client).close()
        if inspect.isawaitable(result):
            await result


def make_client(kind: str, url: str, key: str, **kwargs: Any) -> LlamaClient | AsyncLlamaClient:
    cls = AsyncLlamaClient if kind == "async" else LlamaClient
    return cls(endpoint=url, credential=key, **kwargs)


Handler = Callable[[httpx.Request], httpx.Response]
ENDPOINT = "https://unit.eastus2.models.ai.azure.com"


class _Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body delivered in exactly these network chunks."""

    def __init__(self, parts: list[bytes], fail_after: bool = False) -> None:
        self.parts = parts
        self.fail_after = fail_after

    def __iter__(self) -> Iterator[bytes]:
        yield from self.parts
        if self.fail_after:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    async def __aiter__(self) -> Any:
        for part in self.parts:
            yield part
        if self.fail_after:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


def mock_shell(kind: str, handler: Handler, *, endpoint: str = ENDPOINT, credential: Any = "unit-key",
               **kwargs: Any) -> Shell:
    """A sync or async client whose requests go to ``handler`` instead of the network."""
    transport = httpx.MockTransport(handler)
    if kind == "async":
        return Shell(AsyncLlamaClient(endpoint, credential, http_client=httpx.AsyncClient(transport=transport),
                                      **kwargs))
    return Shell(LlamaClient(endpoint, credential, http_client=httpx.Client(transport=transport), **kwargs))


def sse(parts: list[bytes], fail_after: bool = False) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Chunks(parts, fail_after))
    return handler


def chunk(content: str | None = None, finish: str | None = None, role: str | None = None) -> bytes:
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return json.dumps(body, ensure_ascii=False).encode()
