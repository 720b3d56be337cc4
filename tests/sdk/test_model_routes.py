"""Foundry Models (``.../models``) and the OpenAI v1 surface (``.../openai/v1``), through both shells.

Each URL form users paste is checked on the wire with a mock transport (URL, query, body, headers); both
forms are then used for real against the reference server: plain answers, streams and errors.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from support.shells import USER_HI, Handler, Shell, make_client, mock_shell
from support.wire import TEXT_OK, chat_answer

from llama_azure import (
    AsyncLlamaClient,
    BadRequestError,
    ConfigurationError,
    ContentFilterError,
    LlamaClient,
    NotFoundError,
    ParameterError,
    UnprocessableEntityError,
)
from llama_azure.server.process import ReferenceServer

DEPLOYMENT = "default"  # the session server's one deployment
CHAT_OK = chat_answer("hi")
INFO_OK = {"model_name": "m", "model_type": "chat-completions", "model_provider_name": "Meta"}

FOUNDRY = "model-inference"
V1 = "openai-v1"
# (pasted URL, style, base path sent to, api-version sent)
URL_FORMS = [
    ("https://res.services.ai.azure.com/models", FOUNDRY, "https://res.services.ai.azure.com/models", True),
    ("https://res.services.ai.azure.com/models/", FOUNDRY, "https://res.services.ai.azure.com/models", True),
    ("https://res.cognitiveservices.azure.com/models", FOUNDRY, "https://res.cognitiveservices.azure.com/models",
     True),
    ("https://res.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview", FOUNDRY,
     "https://res.services.ai.azure.com/models", True),
    ("https://res.openai.azure.com/openai/v1", V1, "https://res.openai.azure.com/openai/v1", False),
    ("https://res.openai.azure.com/openai/v1/", V1, "https://res.openai.azure.com/openai/v1", False),
    ("https://res.openai.azure.com/openai/v1/chat/completions", V1, "https://res.openai.azure.com/openai/v1", False),
    ("https://res.services.ai.azure.com/openai/v1", V1, "https://res.services.ai.azure.com/openai/v1", False),
    ("https://res.cognitiveservices.azure.com/openai/v1", V1, "https://res.cognitiveservices.azure.com/openai/v1",
     False),
    # a bare Azure OpenAI host serves Llama only on its OpenAI surfaces: the v1 one, which needs no api-version
    ("https://res.openai.azure.com", V1, "https://res.openai.azure.com/openai/v1", False),
    ("https://res.openai.azure.com/openai", V1, "https://res.openai.azure.com/openai/v1", False),
]


def recorder(seen: list[httpx.Request]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            return httpx.Response(200, json=INFO_OK)
        body = json.loads(request.content)
        return httpx.Response(200, json=TEXT_OK if "prompt" in body else CHAT_OK)
    return handler


@pytest.mark.parametrize(("url", "style", "base", "versioned"), URL_FORMS)
async def test_url_form_on_the_wire(shell_kind: str, url: str, style: str, base: str, versioned: bool) -> None:
    seen: list[httpx.Request] = []
    async with mock_shell(shell_kind, recorder(seen), endpoint=url, credential="unit-key", model="my-llama") as shell:
        assert shell.client.api == style and shell.client.endpoint == base
        await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=4))
        await shell.run(lambda c: c.completions.create(prompt="Hi", max_tokens=4, model="other-llama"))
    chat, text = seen
    assert str(chat.url.copy_with(query=None)) == f"{base}/chat/completions"
    assert str(text.url.copy_with(query=None)) == f"{base}/completions"
    for request in seen:
        assert request.method == "POST"
        assert request.headers["api-key"] == "unit-key"
        assert request.headers["authorization"] == "Bearer unit-key"
        if versioned:
            assert dict(request.url.params) == {"api-version": "2024-05-01-preview"}
        else:
            assert not request.url.query  # the v1 surface takes no api-version
    assert json.loads(chat.content) == {"messages": USER_HI, "max_tokens": 4, "model": "my-llama"}
    assert json.loads(text.content) == {"prompt": "Hi", "max_tokens": 4, "model": "other-llama"}  # per call wins


async def test_foundry_model_info_names_the_model_in_a_header(shell_kind: str) -> None:
    seen: list[httpx.Request] = []
    async with mock_shell(shell_kind, recorder(seen), endpoint="https://res.services.ai.azure.com/models",
                          model="my-llama") as shell:
        assert (await shell.run(lambda c: c.get_model_info())).model_name == "m"
        await shell.run(lambda c: c.get_model_info(model="other"))
    assert [r.url.path for r in seen] == ["/models/info", "/models/info"]
    assert [r.headers["x-ms-model-mesh-model-name"] for r in seen] == ["my-llama", "other"]
    assert seen[0].url.params["api-version"] == "2024-05-01-preview" and seen[0].content == b""


@pytest.mark.parametrize("url", ["https://res.services.ai.azure.com/models", "https://res.openai.azure.com/openai/v1"])
async def test_a_call_without_model_is_refused_before_sending(shell_kind: str, url: str) -> None:
    seen: list[httpx.Request] = []
    async with mock_shell(shell_kind, recorder(seen), endpoint=url) as shell:
        calls = [lambda c: c.chat.completions.create(messages=USER_HI),
                 lambda c: c.chat.completions.create(messages=USER_HI, stream=True),
                 lambda c: c.completions.create(prompt="Hi")]
        if "/models" in url:
            calls.append(lambda c: c.get_model_info())
        for call in calls:
            with pytest.raises(ParameterError) as caught:
                await shell.run(call)
            assert caught.value.param == "model"
            assert "model='<deployment name>'" in str(caught.value) and "deployment name" in str(caught.value)
        with pytest.raises(ParameterError, match="empty"):
            await shell.run(lambda c: c.completions.create(prompt="Hi", model=""))
    assert seen == []


async def test_deployment_is_not_taken_for_the_model(shell_kind: str) -> None:
    async with mock_shell(shell_kind, recorder([]), endpoint="https://res.openai.azure.com/openai/v1",
                          deployment="my-llama") as shell:
        with pytest.raises(ParameterError, match="azureml-model-deployment"):
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))


async def test_v1_has_no_model_info_route(shell_kind: str) -> None:
    seen: list[httpx.Request] = []
    async with mock_shell(shell_kind, recorder(seen), endpoint="https://res.openai.azure.com/openai/v1",
                          model="m") as shell:
        with pytest.raises(ConfigurationError, match="no /info route"):
            await shell.run(lambda c: c.get_model_info())
    assert seen == []


@pytest.mark.parametrize(("url", "api", "base"), [
    ("https://res.openai.azure.com", V1, "https://res.openai.azure.com/openai/v1"),
    ("https://res.services.ai.azure.com", V1, "https://res.services.ai.azure.com/openai/v1"),
    ("https://res.services.ai.azure.com", FOUNDRY, "https://res.services.ai.azure.com/models"),
    ("https://res.cognitiveservices.azure.com", FOUNDRY, "https://res.cognitiveservices.azure.com/models"),
    ("http://127.0.0.1:8000", V1, "http://127.0.0.1:8000/openai/v1"),
    ("https://gateway.example.com/llama/v1", V1, "https://gateway.example.com/llama/v1"),  # a prefix is kept
])
def test_explicit_style_completes_a_bare_host(url: str, api: str, base: str) -> None:
    for cls in (LlamaClient, AsyncLlamaClient):
        client = cls(url, "k", api=api)  # type: ignore[arg-type]
        assert client.endpoint == base and client.api == api


def test_a_bare_foundry_host_says_which_url_to_paste() -> None:
    for cls in (LlamaClient, AsyncLlamaClient):
        with pytest.raises(ConfigurationError) as caught:
            cls("https://res.services.ai.azure.com", "k")
        message = str(caught.value)
        assert "https://res.services.ai.azure.com/models" in message
        assert "https://res.services.ai.azure.com/openai/v1" in message
        with pytest.raises(ConfigurationError) as caught:
            cls("https://user:s3cret-pw@res.services.ai.azure.com", "k")
        assert "s3cret-pw" not in str(caught.value)


# -- against the reference server ---------------------------------------------------------------------------

FORMS = ["/models", "/openai/v1"]


@pytest.fixture(params=FORMS)
async def form_shell(
    request: pytest.FixtureRequest, shell_kind: str, server: ReferenceServer
) -> AsyncIterator[Shell]:
    """A client on the server's Foundry (``/models``) or v1 (``/openai/v1``) form, inferred from the URL."""
    shell = Shell(make_client(shell_kind, server.url + request.param, server.api_key, model=DEPLOYMENT))
    assert shell.client.api == (FOUNDRY if request.param == "/models" else V1)
    yield shell
    await shell.close()


async def test_plain_answers(form_shell: Shell) -> None:
    reply = await form_shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=4))
    assert reply.content and reply.usage is not None and reply.usage.completion_tokens is not None
    assert reply.usage.completion_tokens <= 4 and reply.request_id
    text = await form_shell.run(lambda c: c.completions.create(prompt="The sky is", max_tokens=3))
    assert text.text and text.usage is not None and text.usage.completion_tokens is not None
    assert text.usage.completion_tokens <= 3


async def test_streams(form_shell: Shell) -> None:
    stream = await form_shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=4, stream=True))
    chunks = await form_shell.chunks(stream)
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    text = await form_shell.run(lambda c: c.completions.create(prompt="Once", max_tokens=3, stream=True))
    assert (await form_shell.until_done(text)).text


async def test_errors(form_shell: Shell) -> None:
    v1 = form_shell.client.api == V1
    with pytest.raises(NotFoundError) as unknown:
        await form_shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2, model="gpt-x"))
    assert unknown.value.code == ("DeploymentNotFound" if v1 else "unknown_model")
    with pytest.raises(ContentFilterError):
        await form_shell.run(lambda c: c.completions.create(prompt="say forbiddenword", max_tokens=2))
    # a body field the service does not take: 400 in the OpenAI shape on v1, 422 on Foundry
    with pytest.raises(BadRequestError if v1 else UnprocessableEntityError) as refused:
        await form_shell.run(lambda c: c.completions.create(
            prompt="Hi", max_tokens=2, extra_body={"top_k": 3}, extra_headers={"extra-parameters": "error"}))
    assert refused.value.code == "parameter_not_supported" and "top_k" in str(refused.value)


async def test_foundry_model_info(shell_kind: str, server: ReferenceServer) -> None:
    async with Shell(make_client(shell_kind, server.url + "/models", server.api_key, model=DEPLOYMENT)) as shell:
        info = await shell.run(lambda c: c.get_model_info())
        assert info.model_provider_name == "Meta" and info.is_chat
        with pytest.raises(NotFoundError):
            await shell.run(lambda c: c.get_model_info(model="gpt-x"))
