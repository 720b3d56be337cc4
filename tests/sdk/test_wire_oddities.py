"""Wire forms the reference server never sends, through httpx.MockTransport, in both shells."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from support.shells import USER_HI, Shell, mock_shell, sse
from support.wire import chunk, event

from llama_azure import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    UnprocessableEntityError,
)


async def stream_text(shell: Shell) -> str:
    stream = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, stream=True))
    chunks = await shell.chunks(stream)
    return "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)


async def test_sse_oddities_parse(shell_kind: str) -> None:
    euro = "prix 5 €".encode()
    body = (
        b": keep-alive\r\n\r\n"
        b"retry: 3000\r\n\r\n"
        b"id: 7\n\n"
        b"event: message\r\ndata: " + chunk("", role="assistant") + b"\r\n\r\n"
        b"data:" + chunk("Hel") + b"\r\r"
        b"data: " + chunk("lo, ").replace(b"lo, ", b"lo, ") + b"\n\n"
        b"data: " + chunk("prix 5 €") + b"\n\n"
        b"data: " + chunk(None, finish="stop") + b"\n\n"
        b"data:[DONE]\n\n"
    )
    split_at = body.index(euro) + len(euro) - 1  # inside the multibyte euro sign
    parts = [body[i : min(i + 7, split_at)] for i in range(0, split_at, 7)] + [body[split_at:]]
    async with mock_shell(shell_kind, sse(parts)) as shell:
        assert await stream_text(shell) == "Hello, prix 5 €"


async def test_stream_cut_short_raises_connection_error(shell_kind: str) -> None:
    parts = [event(chunk("", role="assistant")), event(chunk("partial"))]
    async with mock_shell(shell_kind, sse(parts)) as shell:
        with pytest.raises(APIConnectionError) as caught:
            await stream_text(shell)
        assert "incomplete" in str(caught.value)


async def test_incomplete_chunked_read_is_a_typed_error(shell_kind: str) -> None:
    parts = [event(chunk("", role="assistant"))]
    async with mock_shell(shell_kind, sse(parts, fail_after=True)) as shell:
        with pytest.raises(APIConnectionError) as caught:
            await stream_text(shell)
        assert "RemoteProtocolError" in str(caught.value)


async def test_finish_reason_without_done_is_accepted(shell_kind: str) -> None:
    parts = [event(chunk("ok")), event(chunk(None, finish="length"))]
    async with mock_shell(shell_kind, sse(parts)) as shell:
        assert await stream_text(shell) == "ok"


async def test_error_object_inside_stream_raises_typed_error(shell_kind: str) -> None:
    error = {"error": {"code": "content_filter", "message": "The response was filtered", "status": 400}}
    parts = [event(chunk("", role="assistant")), b"data: " + json.dumps(error).encode() + b"\n\n"]
    async with mock_shell(shell_kind, sse(parts)) as shell:
        with pytest.raises(ContentFilterError) as caught:
            await stream_text(shell)
        assert caught.value.code == "content_filter"


async def test_garbage_event_raises_instead_of_dropping(shell_kind: str) -> None:
    parts = [event(chunk("", role="assistant")), b"data: {not json\n\n"]
    async with mock_shell(shell_kind, sse(parts)) as shell:
        with pytest.raises(APIConnectionError) as caught:
            await stream_text(shell)
        assert "not a valid chunk" in str(caught.value)


async def test_chunks_before_a_garbage_event_in_the_same_read_are_handed_out_first(shell_kind: str) -> None:
    # One network read: chunks are parsed as they are handed out, so the good ones come, then the error.
    parts = [b"".join([event(chunk("", role="assistant")), event(chunk("a")), event(chunk("b")),
                       b"data: {not json\n\n", event(chunk("c"))])]
    got: list[str] = []
    async with mock_shell(shell_kind, sse(parts)) as shell:
        stream: Any = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, stream=True))
        with pytest.raises(APIConnectionError, match="not a valid chunk"):
            if shell.is_async:
                async for item in stream:
                    got.append(item.choices[0].delta.content)
            else:
                for item in stream:
                    got.append(item.choices[0].delta.content)
        assert got == ["", "a", "b"]
        assert "closed" in repr(stream)


ERROR_SHAPES = [
    (400, {"error": {"message": "The response was filtered due to the prompt triggering ... content management "
                                "policy", "type": None, "param": "prompt", "code": "content_filter", "status": 400}},
     ContentFilterError, "content_filter"),
    (422, {"status": 422, "code": "parameter_not_supported", "detail": {"loc": ["body", "response_format"],
                                                                         "input": "json_object"},
           "message": "One of the parameters contain invalid values."}, UnprocessableEntityError,
     "parameter_not_supported"),
    (429, {"error": "Too Many Requests", "message": "Rate limit is exceeded.", "status": 429}, RateLimitError, None),
    (401, {"status": "Invalid auth token"}, AuthenticationError, None),
    (424, {"detail": "Not Found"}, APIStatusError, None),
    (404, {"error": {"code": "NotFound", "message": "no such route"}}, NotFoundError, "NotFound"),
    (400, {"error": {"code": "BadRequest", "message": "bad"}}, BadRequestError, "BadRequest"),
    (503, b"<html>Service Unavailable</html>", InternalServerError, None),
]


@pytest.mark.parametrize(("status", "body", "cls", "code"), ERROR_SHAPES)
async def test_error_bodies_map_to_typed_errors(shell_kind: str, status: int, body: Any, cls: type[APIStatusError],
                                                code: str | None) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers={"x-request-id": "req-42"})

    async with mock_shell(shell_kind, handler, max_retries=0) as shell:
        with pytest.raises(cls) as caught:
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        error = caught.value
        assert type(error) is cls
        assert error.status_code == status
        assert error.code == code
        assert error.request_id == "req-42"
        assert str(status) in str(error)


@pytest.mark.parametrize("model_type", ["chat-completions", "chat-completion", "chat_completion", "chat"])
async def test_model_info_spellings(shell_kind: str, model_type: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["api-version"] == "2024-05-01-preview"
        return httpx.Response(200, json={"model_name": "Llama-3.3-70B-Instruct", "model_type": model_type,
                                         "model_provider_name": "Meta"})

    async with mock_shell(shell_kind, handler) as shell:
        info = await shell.run(lambda c: c.get_model_info())
        assert info.is_chat and info.model_type == model_type


async def test_score_content_safety_forms(shell_kind: str) -> None:
    answers = iter([b"{}", b'{"output": ""}', b'[{"0": "Paris"}, {"0": ""}]'])

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert set(body["input_data"]) == {"input_string", "parameters"}
        return httpx.Response(200, content=next(answers))

    async with mock_shell(shell_kind, handler, endpoint="https://my-ep.eastus2.inference.ml.azure.com/score") as shell:
        with pytest.raises(ContentFilterError):
            await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        reply = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI))
        assert reply.content == "" and reply.choices[0].finish_reason == "content_filter"
        texts = await shell.run(lambda c: c.completions.create(prompt="Capital of France?"))
        assert [ch.text for ch in texts.choices] == ["Paris", ""]
        assert texts.choices[1].finish_reason == "content_filter"
