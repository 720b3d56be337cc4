"""Chat completions through both shells against the real reference server."""

from __future__ import annotations

import pytest
from support.shells import USER_HI, Shell

from llama_azure import ChatCompletion, ChatCompletionChunk, ChatMessage, ParameterError
from llama_azure.types import ChatMessageParam


async def test_chat_reply_is_typed_with_usage_and_request_id(shell: Shell) -> None:
    reply = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=8, temperature=0))
    assert isinstance(reply, ChatCompletion)
    assert reply.object == "chat.completion"
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert isinstance(choice.message.content, str) and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    assert reply.usage is not None and reply.usage.completion_tokens is not None
    assert 0 < reply.usage.completion_tokens <= 8 and reply.usage.prompt_tokens is not None
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.request_id
    assert reply.content == choice.message.content


async def test_chat_accepts_message_models_and_is_deterministic_at_temperature_zero(shell: Shell) -> None:
    messages = [ChatMessage(role="system", content="You are terse."), ChatMessage(role="user", content="Name a fruit.")]
    first = await shell.run(lambda c: c.chat.completions.create(messages=messages, max_tokens=8, temperature=0))
    second = await shell.run(lambda c: c.chat.completions.create(messages=messages, max_tokens=8, temperature=0))
    assert first.content == second.content


async def test_chat_n_returns_that_many_choices(shell: Shell) -> None:
    reply = await shell.run(
        lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=4, n=2, temperature=1.0, seed=7)
    )
    assert sorted(choice.index for choice in reply.choices) == [0, 1]
    assert all(isinstance(choice.message.content, str) for choice in reply.choices)


async def test_chat_stream_chunks_in_service_order(shell: Shell) -> None:
    stream = await shell.run(
        lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=6, temperature=0, stream=True)
    )
    chunks = await shell.chunks(stream)
    assert chunks and all(isinstance(chunk, ChatCompletionChunk) for chunk in chunks)
    first = chunks[0].choices[0]
    assert first.delta.role == "assistant" and first.delta.content == ""
    reasons = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices]
    assert all(reason is None for reason in reasons[:-1])
    assert reasons[-1] in ("stop", "length")
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens
    assert stream.request_id

    # The stream's text is the non-streamed reply's text (same input, temperature 0).
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    reply = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=6, temperature=0))
    assert text == reply.content


async def test_chat_stream_until_done_accumulates_the_reply(shell: Shell) -> None:
    stream = await shell.run(
        lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=6, temperature=0, stream=True)
    )
    final = await shell.until_done(stream)
    assert isinstance(final, ChatCompletion)
    assert final.choices[0].finish_reason in ("stop", "length")
    assert final.choices[0].message.role == "assistant"
    assert final.usage is not None and final.usage.completion_tokens
    reply = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=6, temperature=0))
    assert final.content == reply.content


async def test_chat_stop_sequence_cuts_the_text(shell: Shell) -> None:
    messages: list[ChatMessageParam] = [
        {"role": "user", "content": "Count from one to ten in words, separated by commas."}]
    full = await shell.run(lambda c: c.chat.completions.create(messages=messages, max_tokens=16, temperature=0))
    text = full.content or ""
    assert len(text) > 4, text
    stop = text[len(text) // 2 :][:3]
    assert stop.strip(), text
    cut = await shell.run(
        lambda c: c.chat.completions.create(messages=messages, max_tokens=16, temperature=0, stop=[stop])
    )
    assert cut.choices[0].finish_reason == "stop"
    assert stop not in (cut.content or "")
    assert text.startswith(cut.content or "")


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"top_p": 0}, "top_p"),
        ({"presence_penalty": -3}, "presence_penalty"),
        ({"n": 2, "best_of": 1}, "best_of"),
        ({"use_beam_search": True}, "use_beam_search"),
        ({"max_tokens": "many"}, "max_tokens"),
        ({"not_a_parameter": 1}, "not_a_parameter"),
    ],
)
async def test_bad_parameters_raise_before_sending(shell: Shell, kwargs: dict[str, object], param: str) -> None:
    with pytest.raises(ParameterError) as caught:
        # kwargs holds deliberately wrong names and values: the runtime check is under test
        await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, **kwargs))  # type: ignore[call-overload]
    assert caught.value.param == param
    assert param in str(caught.value)


@pytest.mark.parametrize(
    "messages",
    [[], "hello", [{"role": "wizard", "content": "hi"}], [{"content": "no role"}], [{"role": "user", "content": 5}]],
)
async def test_bad_messages_raise_before_sending(shell: Shell, messages: object) -> None:
    with pytest.raises(ParameterError) as caught:
        # messages is deliberately not a list of messages: the runtime check is under test
        await shell.run(lambda c: c.chat.completions.create(messages=messages))  # type: ignore[call-overload]
    assert (caught.value.param or "").startswith("messages")
