"""Bad input gets a typed error that says what to fix, never a raw exception, and never leaks a secret."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from support.shells import USER_HI, mock_shell, recording
from support.wire import CHAT_OK

from llama_azure import AsyncLlamaClient, ConfigurationError, LlamaClient, ParameterError
from llama_azure.types import ToolParam, UserMessageParam

SECRET = "sk-SECRET-value-42"


async def test_a_key_read_from_a_file_with_its_newline_still_works(shell_kind: str) -> None:
    sent, handler = recording()
    async with mock_shell(shell_kind, handler, credential=f"  {SECRET}\n") as shell:
        await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert sent[0].headers["authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize("key", [f"{SECRET}\r\nX-Evil: 1", f"{SECRET}é", f"{SECRET}\x00x"])
async def test_a_malformed_key_is_refused_without_echoing_it(shell_kind: str, key: str) -> None:
    sent, handler = recording()
    async with mock_shell(shell_kind, handler, credential=key) as shell:
        with pytest.raises(ConfigurationError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert SECRET not in str(caught.value) and SECRET not in repr(caught.value)
        assert caught.value.__cause__ is None
        assert "key or token" in str(caught.value)
        assert sent == []


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"extra_headers": {"x-custom": 5}}, "extra_headers"),
        ({"extra_headers": {"x-custom": "a\nb"}}, "extra_headers"),
        ({"extra_headers": {"bad name": "v"}}, "extra_headers"),
        ({"extra_headers": ["x"]}, "extra_headers"),
        ({"extra_query": {"q": None}}, "extra_query"),
        ({"extra_body": {"knob": {1, 2}}}, "extra_body"),
        ({"extra_body": {"knob": float("nan")}}, "extra_body"),
        ({"extra_body": ["knob"]}, "extra_body"),
        ({"timeout": float("nan")}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": httpx.Timeout(5.0, read=float("nan"))}, "timeout"),
        ({"total_timeout": float("nan")}, "total_timeout"),
    ],
)
async def test_bad_request_options_are_parameter_errors(shell_kind: str, kwargs: dict[str, Any], param: str) -> None:
    sent, handler = recording()
    async with mock_shell(shell_kind, handler) as shell:
        with pytest.raises(ParameterError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, **kwargs))
        assert caught.value.param == param
        assert sent == []


async def test_unserializable_message_field_is_a_parameter_error(shell_kind: str) -> None:
    sent, handler = recording()
    async with mock_shell(shell_kind, handler, api="model-inference") as shell:
        # An unknown message key is refused by name (its value is never serialised) ...
        # a key no message type has, on purpose: the runtime check is under test
        unknown: UserMessageParam = {"role": "user", "content": "hi", "meta": object()}  # type: ignore[typeddict-unknown-key]
        with pytest.raises(ParameterError, match="no key 'meta'"):
            await shell.run(lambda c: c.chat.completions.create(messages=[unknown]))
        # ... and a free-form JSON field (a tool's parameters schema) that cannot be JSON is a ParameterError.
        tool: ToolParam = {"type": "function", "function": {"name": "f", "parameters": {"x": object()}}}
        with pytest.raises(ParameterError, match="JSON"):
            await shell.run(lambda c: c.chat.completions.create(messages=[{"role": "user", "content": "hi"}],
                                                                tools=[tool]))
        assert sent == []


@pytest.mark.parametrize("cls", [LlamaClient, AsyncLlamaClient])
@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retry_wait": float("nan")},
        {"max_retry_wait": -1},
        {"max_retry_wait": "soon"},
        {"default_headers": {"x-api-key": f"{SECRET}\n"}},
        {"default_headers": {"x-n": 1}},
        {"deployment": "blue\r\n"},
        {"stream_idle_timeout": float("inf")},
    ],
)
def test_bad_client_settings_are_configuration_errors(cls: type, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        cls("https://h.models.ai.azure.com", "k", **kwargs)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("cls", [LlamaClient, AsyncLlamaClient])
def test_with_options_checks_its_values(cls: type) -> None:
    client = cls("https://h.models.ai.azure.com", "k", http_client=None)
    for bad in ({"max_retry_wait": -1}, {"max_retry_wait": float("nan")}, {"default_headers": {"a": 1}}):
        with pytest.raises(ConfigurationError):
            client.with_options(**bad)


@pytest.mark.parametrize("cls", [LlamaClient, AsyncLlamaClient])
def test_endpoint_errors_never_echo_a_password(cls: type) -> None:
    for endpoint in (f"https://user:{SECRET}@h.models.ai.azure.com", f"ftp://user:{SECRET}@h", 5):
        with pytest.raises(ConfigurationError) as caught:
            cls(endpoint, "k")
        assert SECRET not in str(caught.value)


async def test_injected_http_client_timeout_is_honoured(shell_kind: str) -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json=CHAT_OK)

    own = httpx.Timeout(3.0, pool=1.0)
    transport = httpx.MockTransport(handler)
    if shell_kind == "async":
        http_a = httpx.AsyncClient(transport=transport, timeout=own)
        async with AsyncLlamaClient("https://h.models.ai.azure.com", "k", http_client=http_a) as client:
            await client.chat.completions.create(messages=USER_HI)
            await client.chat.completions.create(messages=USER_HI, timeout=9)
        await http_a.aclose()
    else:
        with httpx.Client(transport=transport, timeout=own) as http_s, LlamaClient(
            "https://h.models.ai.azure.com", "k", http_client=http_s
        ) as sync_client:
            sync_client.chat.completions.create(messages=USER_HI)
            sync_client.chat.completions.create(messages=USER_HI, timeout=9)
    assert seen[0] == own.as_dict()
    assert seen[1]["read"] == 9


async def test_debug_logs_hide_query_secrets_and_key_headers(shell_kind: str, caplog: pytest.LogCaptureFixture) -> None:
    sent, handler = recording()
    caplog.set_level(logging.DEBUG, logger="llama_azure")
    async with mock_shell(shell_kind, handler, credential=SECRET, default_headers={"x-functions-key": SECRET}) as shell:
        await shell.run(lambda c: c.chat.completions.create(
            messages=USER_HI, extra_query={"code": SECRET}, extra_headers={"x-trace": "visible"}))
        assert sent and sent[0].url.params["code"] == SECRET  # it is sent ...
        assert SECRET not in caplog.text  # ... but never logged
        assert "visible" in caplog.text and "code=<redacted>" in caplog.text
