"""The key goes only where it was meant to: not to another origin on a redirect, not in clear over the network.

Redirects need an injected ``httpx`` client with ``follow_redirects=True`` (the reference server never
redirects: ``httpx.MockTransport`` plays the two origins). Plain http is refused before anything is sent.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from support.shells import USER_HI, Handler, Shell, recording
from support.wire import CHAT_OK

from llama_azure import APIResponseValidationError, AsyncLlamaClient, ConfigurationError, LlamaClient
from llama_azure._http.origins import is_loopback

HOME = "https://home.eastus2.models.ai.azure.com"


def following_shell(kind: str, handler: Handler, endpoint: str = HOME, **kwargs: Any) -> Shell:
    transport = httpx.MockTransport(handler)
    if kind == "async":
        http: Any = httpx.AsyncClient(transport=transport, follow_redirects=True)
        return Shell(AsyncLlamaClient(endpoint, "secret-key", http_client=http, **kwargs))
    return Shell(LlamaClient(endpoint, "secret-key", http_client=httpx.Client(transport=transport,
                                                                              follow_redirects=True), **kwargs))


def redirecting(location: str, status: int = 307) -> tuple[list[httpx.Request], Any]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(status, headers={"location": location})
        return httpx.Response(200, json=CHAT_OK)

    return seen, handler


@pytest.mark.parametrize("location", [
    "https://elsewhere.example.com/v1/chat/completions",  # another host
    "http://home.eastus2.models.ai.azure.com/v1/chat/completions",  # https -> http downgrade
    "https://home.eastus2.models.ai.azure.com:8443/v1/chat/completions",  # another port
])
async def test_a_redirect_to_another_origin_drops_the_key(shell_kind: str, location: str) -> None:
    seen, handler = redirecting(location)
    async with following_shell(shell_kind, handler, default_headers={"x-functions-key": "another-secret"}) as shell:
        assert (await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))).content == "fine"
        first, second = seen
        assert first.headers["api-key"] == "secret-key" and "authorization" in first.headers
        assert str(second.url) == location
        assert not {"api-key", "authorization", "x-functions-key"} & set(second.headers)
        assert second.method == "POST" and second.content == first.content  # a 307 resends the body


def kept_the_key(second: httpx.Request) -> bool:
    return second.headers["api-key"] == "secret-key" and second.url.params["moved"] == "1"


def became_a_get(second: httpx.Request) -> bool:
    return second.method == "GET" and not second.content and "content-type" not in second.headers


@pytest.mark.parametrize(("location", "status", "check"), [
    ("/v1/chat/completions?moved=1", 308, kept_the_key),  # same origin: the key stays
    ("https://elsewhere.example.com/result", 303, became_a_get),  # a 303 is a GET without the body
])
async def test_redirect_forms(shell_kind: str, location: str, status: int, check: Any) -> None:
    seen, handler = redirecting(location, status=status)
    async with following_shell(shell_kind, handler) as shell:
        assert (await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))).content == "fine"
        assert check(seen[1])


async def test_redirects_are_not_followed_unless_the_http_client_says_so(shell_kind: str) -> None:
    seen, handler = redirecting("https://elsewhere.example.com/v1/chat/completions")
    transport = httpx.MockTransport(handler)
    client: Any = (AsyncLlamaClient(HOME, "k", http_client=httpx.AsyncClient(transport=transport))
                   if shell_kind == "async" else LlamaClient(HOME, "k", http_client=httpx.Client(transport=transport)))
    async with Shell(client) as shell:
        with pytest.raises(APIResponseValidationError, match="307"):  # the 307 itself is the answer
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert len(seen) == 1


# ---------------------------------------------------------------------------- plain http


def plain_shell(kind: str, endpoint: str, handler: Handler, **kwargs: Any) -> Shell:
    transport = httpx.MockTransport(handler)
    if kind == "async":
        return Shell(AsyncLlamaClient(endpoint, "secret-key", http_client=httpx.AsyncClient(transport=transport),
                                      **kwargs))
    return Shell(LlamaClient(endpoint, "secret-key", http_client=httpx.Client(transport=transport), **kwargs))


async def test_plain_http_to_a_network_host_is_refused_before_sending(shell_kind: str) -> None:
    seen, handler = recording()
    async with plain_shell(shell_kind, "http://llama.internal.example.com", handler) as shell:
        with pytest.raises(ConfigurationError, match="allow_insecure_http=True") as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert "llama.internal.example.com" in str(caught.value) and "secret-key" not in str(caught.value)
        with pytest.raises(ConfigurationError):
            await shell.run(lambda c: c.get_model_info())
        assert seen == []
        opted_in = Shell(shell.client.with_options(allow_insecure_http=True))
        assert (await opted_in.run(lambda c: c.chat.completions.create(messages=USER_HI))).content == "fine"
        assert len(seen) == 1


async def test_plain_http_is_sent_when_the_constructor_opts_in(shell_kind: str) -> None:
    seen, handler = recording()
    async with plain_shell(shell_kind, "http://10.0.0.7:8080", handler, allow_insecure_http=True) as shell:
        assert (await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))).content == "fine"
        assert seen[0].headers["api-key"] == "secret-key"


@pytest.mark.parametrize("endpoint", ["http://localhost:8000", "http://127.0.0.1:8000", "http://127.9.9.9",
                                      "http://[::1]:8000", "http://LOCALHOST."])
async def test_plain_http_to_loopback_is_allowed(shell_kind: str, endpoint: str) -> None:
    seen, handler = recording()
    async with plain_shell(shell_kind, endpoint, handler) as shell:
        assert (await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))).content == "fine"
        assert len(seen) == 1


async def test_the_reference_server_on_loopback_http_needs_no_opt_in(shell: Shell) -> None:
    assert (await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2))).content


def test_loopback_hosts() -> None:
    assert all(map(is_loopback, ["localhost", "127.0.0.1", "127.255.0.1", "::1", "[::1]"]))
    assert not any(map(is_loopback, ["example.com", "10.0.0.1", "::2", "128.0.0.1", "localhost.example.com"]))


def test_allow_insecure_http_must_be_a_bool() -> None:
    with pytest.raises(ConfigurationError, match="allow_insecure_http"):
        LlamaClient("http://10.0.0.7", "k", allow_insecure_http="yes")  # type: ignore[arg-type]


async def test_the_http_clients_own_auth_stays_on_its_origin(shell_kind: str) -> None:
    seen, handler = redirecting("https://elsewhere.example.com/v1/chat/completions")
    transport = httpx.MockTransport(handler)
    http: Any = (httpx.AsyncClient if shell_kind == "async" else httpx.Client)(
        transport=transport, follow_redirects=True, auth=("proxy-user", "proxy-password"))
    client: Any = (AsyncLlamaClient if shell_kind == "async" else LlamaClient)(HOME, "secret-key", http_client=http)
    async with Shell(client) as shell:
        await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert seen[0].headers["authorization"].startswith("Basic ")
        assert "authorization" not in seen[1].headers
