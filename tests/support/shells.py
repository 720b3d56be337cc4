"""Helpers shared by the SDK tests: one test body drives the sync or the async client.

``Shell`` wraps either client so the same ``await shell.run(lambda c: ...)`` works for both; ``mock_shell``
builds one over ``httpx.MockTransport`` for wire forms the reference server never sends. A shell is an async
context manager (``async with mock_shell(...) as shell:``) that closes its client on the way out.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Protocol, TypeVar, overload

import httpx

from llama_azure import (
    AsyncLlamaClient,
    AsyncStream,
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    LlamaClient,
    RawResponse,
    Stream,
)
from llama_azure.types import ChatMessageParam
from support.wire import CHAT_OK

T = TypeVar("T")
ChunkT = TypeVar("ChunkT", ChatCompletionChunk, Completion)
ResultT = TypeVar("ResultT", bound=ChatCompletion | Completion)
ChatT = TypeVar("ChatT", bound=ChatCompletion)

Client = LlamaClient | AsyncLlamaClient
ShellFactory = Callable[..., "Shell"]  # the shell_factory fixture: (url, key, **client options) -> Shell


class Closable(Protocol):
    """A client, a stream or a credential: its ``close()`` returns None or, when async, an awaitable."""

    def close(self) -> object: ...


USER_HI: list[ChatMessageParam] = [{"role": "user", "content": "Say hello in three words."}]


class Shell:
    """Drives a sync or an async client with the same test code."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.is_async = isinstance(client, AsyncLlamaClient)

    # The sync client answers a stream with a Stream and the async one with an AsyncStream; every other
    # call has one answer type in both shells.
    @overload
    async def run(self, call: Callable[[Client], Stream[ChatCompletionChunk, ChatT]
                                       | Awaitable[AsyncStream[ChatCompletionChunk, ChatT]]]
                  ) -> Stream[ChatCompletionChunk, ChatT] | AsyncStream[ChatCompletionChunk, ChatT]: ...
    @overload
    async def run(self, call: Callable[[Client], Stream[Completion, Completion]
                                       | Awaitable[AsyncStream[Completion, Completion]]]
                  ) -> Stream[Completion, Completion] | AsyncStream[Completion, Completion]: ...
    @overload
    async def run(self, call: Callable[[Client], RawResponse[Stream[Completion, Completion]]
                                       | Awaitable[RawResponse[AsyncStream[Completion, Completion]]]]
                  ) -> RawResponse[Stream[Completion, Completion]] | RawResponse[AsyncStream[Completion, Completion]]:
        ...
    @overload
    async def run(self, call: Callable[[Client], T | Awaitable[T]]) -> T: ...
    async def run(self, call: Callable[[Client], Any]) -> Any:
        """``call(client)``, awaited when the client is async: the answer either shell gives."""
        result = call(self.client)
        if inspect.isawaitable(result):
            return await result
        return result

    async def chunks(self, stream: Stream[ChunkT, Any] | AsyncStream[ChunkT, Any]) -> list[ChunkT]:
        if isinstance(stream, AsyncStream):
            return [chunk async for chunk in stream]
        return list(stream)

    async def until_done(self, stream: Stream[Any, ResultT] | AsyncStream[Any, ResultT]) -> ResultT:
        if isinstance(stream, AsyncStream):
            return await stream.until_done()
        return stream.until_done()

    async def close(self, obj: Closable | None = None) -> None:
        """Close ``obj`` (a stream, a credential; the client by default), awaited when its close is async."""
        result = (obj or self.client).close()
        if inspect.isawaitable(result):
            await result

    async def __aenter__(self) -> Shell:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()


def make_client(kind: str, url: str, credential: Any, **kwargs: Any) -> Client:
    """A sync or an async client (``kind``) on ``url``; ``credential`` a key or a token credential."""
    cls = AsyncLlamaClient if kind == "async" else LlamaClient
    return cls(endpoint=url, credential=credential, **kwargs)


async def call(result: Any) -> Any:
    """The answer of a call on either client: ``result`` awaited when the client is async."""
    return await result if inspect.isawaitable(result) else result


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

    async def __aiter__(self) -> AsyncIterator[bytes]:
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


def recording() -> tuple[list[httpx.Request], Handler]:
    """A handler answering every request with a chat completion, and the list of requests it was sent."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=CHAT_OK)

    return sent, handler


def sse(parts: list[bytes], fail_after: bool = False) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Chunks(parts, fail_after))
    return handler

