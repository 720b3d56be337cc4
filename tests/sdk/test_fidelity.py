"""Answers shaped as real servers send them (OpenAI, vLLM, Azure's serving stack and content filter):
nothing they carry is lost. The reference server never sends these forms, so each is a MockTransport payload."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from support.shells import USER_HI, mock_shell, sse
from support.wire import DONE, chat_chunk, event, text_chunk

from llama_azure import AsyncStream, BadRequestError, ContentFilterError, Stream, UnprocessableEntityError


async def read(shell_kind: str, parts: list[bytes], *, chat: bool = True, **kwargs: Any) -> tuple[list[Any], Any]:
    async with mock_shell(shell_kind, sse(parts), **kwargs) as shell:
        stream: Stream[Any, Any] | AsyncStream[Any, Any]  # a chat or a text stream: callers read either
        if chat:
            stream = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, stream=True))
        else:
            stream = await shell.run(lambda c: c.completions.create(prompt="Hi", stream=True))
        chunks = await shell.chunks(stream)
        return chunks, await shell.until_done(stream)


async def test_completion_logprobs_text_offset_and_text_offsets_are_kept(shell_kind: str) -> None:
    def piece(text: str, offsets_key: str, offset: int, finish: str | None = None) -> bytes:
        return event(text_chunk(text, {"tokens": [text], "token_logprobs": [-0.5], "top_logprobs": [{text: -0.5}],
                                       offsets_key: [offset]}, finish))

    parts = [piece("Hel", "text_offset", 0), piece("lo", "text_offsets", 3, "stop"), DONE]
    chunks, reply = await read(shell_kind, parts, chat=False)
    assert chunks[0].choices[0].logprobs.text_offsets == [0]
    assert reply.choices[0].logprobs.text_offsets == [0, 3] and reply.choices[0].logprobs.tokens == ["Hel", "lo"]


async def test_a_first_event_of_prompt_annotations_does_not_blank_id_and_model(shell_kind: str) -> None:
    annotations = {"id": "", "object": "", "created": 0, "model": "", "choices": [],
                   "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {
                       "hate": {"filtered": False, "severity": "safe"}, "custom_blocklists": []}}]}
    named = {"created": 5, "model": "llama"}  # not the builders' defaults, so the test sees them carried over
    parts = [event(annotations), event(chat_chunk({"index": 0, "delta": {"role": "assistant", "content": "Hi"},
                                                   "content_filter_results": {"violence": {"filtered": False,
                                                                                           "severity": "low"}}},
                                                  **named)),
             event(chat_chunk({"index": 0, "delta": {}, "finish_reason": "stop"}, **named)), DONE]
    _, reply = await read(shell_kind, parts)
    assert reply.id == "c1" and reply.model == "llama" and reply.created == 5
    results = reply.prompt_filter_results[0].content_filter_results
    assert results["hate"].severity == "safe" and results["custom_blocklists"].filtered is False
    assert reply.choices[0].content_filter_results["violence"].severity == "low"


@pytest.mark.parametrize(("body", "param", "text"), [
    ({"error": {"code": "validation_error", "message": "Invalid request",
                "details": [{"loc": ["body", "messages"], "msg": "Field required"}]}}, "body.messages",
     "Field required"),
    ({"detail": [{"loc": ["body", "messages"], "msg": "Field required", "type": "missing"}]}, "body.messages",
     "Field required"),
])
async def test_fastapi_422_bodies_give_param_and_msg(shell_kind: str, body: Any, param: str, text: str) -> None:
    async with mock_shell(shell_kind, lambda request: httpx.Response(422, json=body)) as shell:
        with pytest.raises(UnprocessableEntityError) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
    assert caught.value.param == param and text in str(caught.value)


async def test_a_list_of_error_strings_reaches_the_message(shell_kind: str) -> None:
    body = {"error": ["messages must not be empty", "max_tokens must be positive"]}
    async with mock_shell(shell_kind, lambda request: httpx.Response(400, json=body)) as shell:
        with pytest.raises(BadRequestError, match="messages must not be empty; max_tokens must be positive"):
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))


async def test_content_safety_refusals_are_content_filter_errors(shell_kind: str) -> None:
    managed = {"error": {"code": "BadRequest", "message": "The request input violates Azure AI Content Safety "
                                                          "policies.", "status": 400}}
    filtered = {"error": {"message": "The response was filtered due to the prompt triggering the content management "
                                     "policy.", "param": "prompt", "code": "content_filter", "status": 400,
                          "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {
                              "hate": {"filtered": True, "severity": "high"},
                              "violence": {"filtered": False, "severity": "safe"}}}}}
    answers = iter([managed, filtered])
    async with mock_shell(shell_kind, lambda request: httpx.Response(400, json=next(answers))) as shell:
        with pytest.raises(ContentFilterError) as first:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        with pytest.raises(ContentFilterError) as second:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
    assert first.value.source == "prompt"
    assert second.value.categories == ["hate"] and second.value.source == "prompt"
    assert "filtered: hate; on the prompt" in str(second.value)


async def test_done_followed_by_spaces_ends_the_stream(shell_kind: str) -> None:
    parts = [event(chat_chunk({"index": 0, "delta": {"role": "assistant", "content": "Hi"}})),
             b"data: [DONE]   \n\n"]
    chunks, reply = await read(shell_kind, parts)  # no finish_reason: only [DONE] says the stream is whole
    assert len(chunks) == 1 and reply.content == "Hi"


async def test_refusal_and_reasoning_deltas_are_kept_and_no_text_is_none(shell_kind: str) -> None:
    parts = [event(chat_chunk({"index": 0, "delta": {"role": "assistant", "reasoning_content": "The user asks "}})),
             event(chat_chunk({"index": 0, "delta": {"reasoning_content": "for harm."}})),
             event(chat_chunk({"index": 0, "delta": {"refusal": "I can't help "}})),
             event(chat_chunk({"index": 0, "delta": {"refusal": "with that."}, "finish_reason": "stop"})),
             DONE]
    _, reply = await read(shell_kind, parts)
    message = reply.choices[0].message
    assert message.refusal == "I can't help with that." and message.reasoning_content == "The user asks for harm."
    assert message.content is None


async def test_tool_call_arguments_sent_as_an_object_are_serialised(shell_kind: str) -> None:
    parts = [event(chat_chunk({"index": 0, "delta": {"role": "assistant", "tool_calls": [
                 {"index": 0, "id": "call_1", "type": "function",
                  "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}})),
             event(chat_chunk({"index": 0, "delta": {}, "finish_reason": "tool_calls"})), DONE]
    _, reply = await read(shell_kind, parts)
    (call,) = reply.choices[0].message.tool_calls
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert reply.choices[0].finish_reason == "tool_calls"


async def test_chat_logprobs_are_typed_and_kept(shell_kind: str) -> None:
    def token(text: str) -> dict[str, Any]:
        return {"token": text, "logprob": -0.1, "bytes": list(text.encode()),
                "top_logprobs": [{"token": text, "logprob": -0.1, "bytes": list(text.encode())}]}

    parts = [event(chat_chunk({"index": 0, "delta": {"role": "assistant", "content": "Hi"},
                          "logprobs": {"content": [token("Hi")]}})),
             event(chat_chunk({"index": 0, "delta": {"content": "!"}, "logprobs": {"content": [token("!")]},
                          "finish_reason": "stop"})), DONE]
    chunks, reply = await read(shell_kind, parts)
    assert chunks[0].choices[0].logprobs.content[0].top_logprobs[0].bytes == [72, 105]
    assert [t.token for t in reply.choices[0].logprobs.content] == ["Hi", "!"]
