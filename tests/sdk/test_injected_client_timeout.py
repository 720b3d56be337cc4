"""The client's own ``timeout`` (given or the 600 s default) applies to every request, an injected
``http_client`` included: httpx's 5 s default of that client must not cut a slower answer short.

The first test is deterministic: a transport that stands for a slow network (the answer takes 60 s, so a
read timeout below that fails at once, as a socket read would, and a longer one lets the request through
to the real server). The second stalls a real stream on the server for longer than httpx's default.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from support.closing import closing_all
from support.shells import USER_HI, Shell

from llama_azure import APITimeoutError, AsyncLlamaClient, LlamaClient
from llama_azure.server.process import ReferenceServer

ANSWER_TAKES = 60.0  # seconds the simulated network needs for an answer


class SlowNetwork(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Fails a request whose read timeout is shorter than the answer takes; sends the others for real."""

    def __init__(self) -> None:
        self.read_timeouts: list[float | None] = []
        self._sync = httpx.HTTPTransport()
        self._async = httpx.AsyncHTTPTransport()

    def _check(self, request: httpx.Request) -> None:
        read = request.extensions.get("timeout", {}).get("read")
        self.read_timeouts.append(read)
        if read is not None and read < ANSWER_TAKES:
            raise httpx.ReadTimeout(f"no answer within {read} s", request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._check(request)
        return self._sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._check(request)
        return await self._async.handle_async_request(request)

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        await self._async.aclose()


def injected(kind: str, url: str, key: str, transport: Any = None, **kwargs: Any) -> Shell:
    """A client given an httpx client built with httpx's defaults (a 5 s timeout)."""
    if kind == "async":
        return Shell(AsyncLlamaClient(url, key, http_client=httpx.AsyncClient(transport=transport), **kwargs))
    return Shell(LlamaClient(url, key, http_client=httpx.Client(transport=transport), **kwargs))


def closing_both(shell: Shell) -> AbstractAsyncContextManager[None]:
    """Close the client, then the injected httpx client (the client leaves a pool it was given open)."""
    return closing_all(shell, shell.client._http)


async def test_the_clients_timeout_applies_to_an_injected_client(shell_kind: str, server: ReferenceServer) -> None:
    network = SlowNetwork()
    shell = injected(shell_kind, server.url, server.api_key, network, max_retries=0)
    async with closing_both(shell):
        assert shell.client._http.timeout.read == 5.0  # httpx's default, which must not apply
        reply = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=3))
        assert reply.content
        assert network.read_timeouts == [600.0]  # the client's default
        # a shorter timeout of the client's own still applies, per call or as a client default
        with pytest.raises(APITimeoutError):
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=3, timeout=30))
        with pytest.raises(APITimeoutError):
            await Shell(shell.client.with_options(timeout=20)).run(
                lambda c: c.completions.create(prompt="Hi", max_tokens=3))
        assert network.read_timeouts[1:] == [30.0, 20.0]


async def test_a_stream_stalled_longer_than_httpx_default_still_ends(shell_kind: str,
                                                                     fault_server: ReferenceServer) -> None:
    shell = injected(shell_kind, fault_server.url, fault_server.api_key, max_retries=0)
    async with closing_both(shell):
        stream = await shell.run(lambda c: c.chat.completions.create(
            messages=USER_HI, max_tokens=4, stream=True, extra_headers={"x-llama-azure-fault": "stall:7"}))
        result = await shell.until_done(stream)
        assert result.choices[0].finish_reason in ("stop", "length")
