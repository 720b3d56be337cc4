"""Each route style, model info and request options, against the real reference server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.shells import USER_HI, Shell, ShellFactory

from llama_azure import ChatCompletion, Completion, NotFoundError, ParameterError
from llama_azure.server.process import ReferenceServer


@pytest.fixture(scope="module")
def managed_server() -> Iterator[ReferenceServer]:
    """A server acting as a managed online endpoint with one named deployment."""
    with ReferenceServer(api_key="managed-key", args=["--deployment", "blue"]) as srv:
        yield srv


async def test_model_info(shell: Shell) -> None:
    info = await shell.run(lambda c: c.get_model_info())
    assert info.model_name and "smollm2" in info.model_name.lower()
    assert info.model_type == "chat-completions" and info.is_chat
    assert info.model_provider_name
    assert info.request_id


async def test_model_inference_routes(shell_factory: ShellFactory, server: ReferenceServer) -> None:
    async with shell_factory(server.url, server.api_key, api="model-inference") as shell:
        reply = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=4))
        assert isinstance(reply, ChatCompletion) and reply.content
        text = await shell.run(lambda c: c.completions.create(prompt="The sky is", max_tokens=4))
        assert isinstance(text, Completion) and text.text
        chunks = await shell.chunks(
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=4, stream=True))
        )
        assert chunks[-1].choices[0].finish_reason in ("stop", "length")


async def test_api_version_is_sent_and_checked(shell_factory: ShellFactory, server: ReferenceServer) -> None:
    good = shell_factory(server.url, server.api_key, api="model-inference", api_version="2025-04-01")
    bad = shell_factory(server.url, server.api_key, api="model-inference", api_version="1999-01-01")
    assert (await good.run(lambda c: c.get_model_info())).model_name
    with pytest.raises(Exception) as caught:
        await bad.run(lambda c: c.get_model_info())
    assert getattr(caught.value, "status_code", None) == 400
    assert "api-version" in str(caught.value).lower() or "api_version" in str(caught.value).lower()


async def test_score_route_maps_legacy_format(shell_factory: ShellFactory, managed_server: ReferenceServer) -> None:
    async with shell_factory(managed_server.url + "/score", managed_server.api_key, deployment="blue") as shell:
        assert shell.client.api == "score"
        reply = await shell.run(
            lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=6, temperature=0.6, top_p=0.9)
        )
        assert isinstance(reply, ChatCompletion)
        assert reply.content and reply.id is None and reply.usage is None
        text = await shell.run(lambda c: c.completions.create(prompt="The capital of France is", max_tokens=4))
        assert isinstance(text, Completion) and text.text
        with pytest.raises(ParameterError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, stream=True))
        assert caught.value.param == "stream"
        with pytest.raises(ParameterError):
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, logprobs=2))


async def test_unknown_deployment_is_not_found(shell_factory: ShellFactory, managed_server: ReferenceServer) -> None:
    async with shell_factory(managed_server.url, managed_server.api_key, api="score", deployment="green") as shell:
        with pytest.raises(NotFoundError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=4))
        assert caught.value.status_code == 404
        assert "deployment" in str(caught.value).lower()


async def test_extra_body_is_passed_through(shell: Shell) -> None:
    reply = await shell.run(
        lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=4, extra_body={"custom_knob": 1})
    )
    assert reply.content is not None


async def test_extra_body_refused_when_service_says_error(shell: Shell) -> None:
    from llama_azure import UnprocessableEntityError

    with pytest.raises(UnprocessableEntityError) as caught:
        await shell.run(
            lambda c: c.chat.completions.create(
                messages=USER_HI, max_tokens=4, extra_body={"custom_knob": 1},
                extra_headers={"extra-parameters": "error"},
            )
        )
    assert caught.value.status_code == 422
    assert caught.value.code
    assert "custom_knob" in str(caught.value)


async def test_engine_refuses_what_it_cannot_honour(shell: Shell) -> None:
    from llama_azure import UnprocessableEntityError

    with pytest.raises(UnprocessableEntityError) as caught:
        await shell.run(
            lambda c: c.completions.create(
                prompt="Hi", max_tokens=4, use_beam_search=True, best_of=2, temperature=0
            )
        )
    assert caught.value.code == "parameter_not_supported"


async def test_with_options_and_per_call_options(shell: Shell) -> None:
    faster = shell.client.with_options(timeout=30, max_retries=0)
    assert faster._config.max_retries == 0 and faster._config.timeout.read == 30
    reply = await Shell(faster).run(
        lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=4, timeout=20, max_retries=1,
                                            extra_headers={"x-ms-client-request-id": "my-id-123"})
    )
    assert reply.content is not None
    # closing the copy does not close the shared pool
    await Shell(faster).close()
    again = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2))
    assert again.content is not None
