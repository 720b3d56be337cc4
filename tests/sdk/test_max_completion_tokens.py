"""``max_completion_tokens``, OpenAI's newer name of ``max_tokens``: taken by chat on the OpenAI v1 surface (the
reference server's ``/openai/v1`` too, by the SDK and by openai-python), refused elsewhere with an error that
names ``max_tokens``, the limit those routes know."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from support.shells import USER_HI, ShellFactory

from llama_azure import ParameterError
from llama_azure._pacing.token_estimate import estimate_tokens
from llama_azure.server.process import ReferenceServer

ASK: Any = USER_HI  # openai-python's own message TypedDicts


async def test_v1_chat_takes_max_completion_tokens(server: ReferenceServer, shell_factory: ShellFactory) -> None:
    shell = shell_factory(server.url + "/openai/v1", server.api_key, model="default")
    reply = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_completion_tokens=2,
                                                                temperature=0))
    assert reply.usage is not None and (reply.usage.completion_tokens or 0) <= 2
    assert reply.choices[0].finish_reason == "length"
    with pytest.raises(ParameterError, match="pass one of them") as both:
        await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_completion_tokens=2,
                                                            max_tokens=2))
    assert both.value.param == "max_completion_tokens"


@pytest.mark.parametrize("api", ["llama", "model-inference", "score"])
async def test_routes_that_know_max_tokens_name_it(server: ReferenceServer, shell_factory: ShellFactory,
                                                   api: str) -> None:
    shell = shell_factory(server.url, server.api_key, api=api)
    with pytest.raises(ParameterError, match="pass max_tokens instead") as refused:
        await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_completion_tokens=2))
    assert refused.value.param == "max_completion_tokens"


async def test_text_completions_name_max_tokens(server: ReferenceServer, shell_factory: ShellFactory) -> None:
    shell = shell_factory(server.url + "/openai/v1", server.api_key, model="default")
    not_typed: Any = {"max_completion_tokens": 2}  # mypy refuses it on completions.create too
    with pytest.raises(ParameterError, match=r"for completions on the openai-v1 route.*pass max_tokens instead"):
        await shell.run(lambda c: c.completions.create(prompt="Hi", **not_typed))


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_openai_python_sends_max_completion_tokens_to_v1(server: ReferenceServer, kind: str) -> None:
    options: dict[str, Any] = {"base_url": server.url + "/openai/v1", "api_key": server.api_key, "max_retries": 0}
    if kind == "async":
        async with openai.AsyncOpenAI(**options) as aclient:
            reply = await aclient.chat.completions.create(model="default", messages=ASK, temperature=0,
                                                          max_completion_tokens=2)
            with pytest.raises(openai.BadRequestError, match="pass one of them"):
                await aclient.chat.completions.create(model="default", messages=ASK, max_completion_tokens=2,
                                                      max_tokens=2)
    else:
        with openai.OpenAI(**options) as client:
            reply = client.chat.completions.create(model="default", messages=ASK, temperature=0,
                                                   max_completion_tokens=2)
            with pytest.raises(openai.BadRequestError, match="pass one of them"):
                client.chat.completions.create(model="default", messages=ASK, max_completion_tokens=2, max_tokens=2)
    assert reply.usage is not None and reply.usage.completion_tokens <= 2
    assert reply.choices[0].finish_reason == "length"


def test_quota_pacing_counts_it_as_max_tokens() -> None:
    as_openai = estimate_tokens(b'{"messages": [{"role": "user", "content": "Hi"}], "max_completion_tokens": 500}')
    assert as_openai == estimate_tokens(b'{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 500}')
