"""The one parameter table in use: a parameter or a value the route does not take is refused before sending,
the same call on a route that takes it is answered by the real server (both shells), and a server 422 for a bad
value does not point at extra_body, which would not help."""

from __future__ import annotations

import pytest
from support.shells import USER_HI, ShellFactory

from llama_azure import ParameterError, UnprocessableEntityError
from llama_azure.server.process import ReferenceServer

MI = "model-inference"


async def test_temperature_above_one_is_refused_on_model_inference_chat_only(
    shell_factory: ShellFactory, server: ReferenceServer
) -> None:
    inference = shell_factory(server.url, server.api_key, api=MI)
    with pytest.raises(ParameterError, match=r"invalid temperature: chat on the model-inference route takes "
                                             r"temperature 0\.\.1 \(got 1.5\)") as caught:
        await inference.run(lambda c: c.chat.completions.create(messages=USER_HI, temperature=1.5, max_tokens=2))
    assert caught.value.param == "temperature"
    # 0..2 where the route takes it: Llama API chat, and text completions on the model-inference route
    llama = shell_factory(server.url, server.api_key, api="llama")
    chat = await llama.run(lambda c: c.chat.completions.create(messages=USER_HI, temperature=1.5, max_tokens=2))
    text = await inference.run(lambda c: c.completions.create(prompt="Hi", temperature=1.5, max_tokens=2))
    assert chat.usage is not None and chat.usage.completion_tokens is not None and chat.usage.completion_tokens >= 1
    assert text.usage is not None and text.usage.completion_tokens is not None and text.usage.completion_tokens >= 1


async def test_frequency_penalty_only_where_the_route_has_it(
    shell_factory: ShellFactory, server: ReferenceServer
) -> None:
    llama = shell_factory(server.url, server.api_key, api="llama")
    inference = shell_factory(server.url, server.api_key, api=MI)
    for call in (lambda c: c.chat.completions.create(messages=USER_HI, frequency_penalty=0.5),
                 lambda c: c.chat.completions.create(messages=USER_HI, extra_body={"frequency_penalty": 0.5})):
        with pytest.raises(ParameterError, match="frequency_penalty is not available on the llama route: it is on "
                                                 "the model-inference route") as caught:
            await llama.run(call)
        assert caught.value.param == "frequency_penalty"
    with pytest.raises(ParameterError, match="frequency_penalty is not available on the model-inference route"):
        # text completions have no frequency_penalty (so the types refuse it too): the runtime check is under test
        await inference.run(lambda c: c.completions.create(prompt="Hi", frequency_penalty=0.5))  # type: ignore[call-overload]
    answer = await inference.run(
        lambda c: c.chat.completions.create(messages=USER_HI, frequency_penalty=0.5, max_tokens=2))
    assert answer.usage is not None and answer.usage.completion_tokens is not None
    assert answer.usage.completion_tokens >= 1


async def test_a_bad_value_answered_422_does_not_suggest_extra_body(
    shell_factory: ShellFactory, server: ReferenceServer
) -> None:
    inference = shell_factory(server.url, server.api_key, api=MI)
    with pytest.raises(UnprocessableEntityError) as caught:  # extra_body skips the SDK's own range check
        await inference.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2,
                                                                extra_body={"top_logprobs": 50}))
    assert caught.value.param == "top_logprobs"
    assert "extra_body" not in str(caught.value) and "fix the value" in str(caught.value)
