"""Tools, structured output and images through both clients, against the real reference server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Literal

import httpx
import pytest
from pydantic import BaseModel, Field
from support.shells import Shell, make_client, mock_shell

from llama_azure import (
    BadRequestError,
    ParameterError,
    StructuredOutputError,
    ToolArgumentsError,
    ToolCall,
    pydantic_function_tool,
)
from llama_azure.server.process import ReferenceServer
from llama_azure.types import (
    ChatMessage,
    ChatMessageParam,
    ParsedChatCompletion,
    ParsedToolCall,
    ToolParam,
    UserMessageParam,
)

ASK: list[ChatMessageParam] = [{"role": "user", "content": "What is the weather in Paris?"}]


class GetWeather(BaseModel):
    """The current weather in a city."""

    city: str = Field(max_length=20)


class Weather(BaseModel):
    city: str = Field(max_length=16)
    sunny: bool
    unit: Literal["C", "F"]


@pytest.fixture
async def mi(shell_kind: str, server: ReferenceServer) -> AsyncIterator[Shell]:
    """A client of the current kind on the model-inference route (which has tools)."""
    shell = Shell(make_client(shell_kind, server.url, server.api_key, api="model-inference"))
    yield shell
    await shell.close()


async def test_forced_tool_call_is_typed_and_its_arguments_validate(mi: Shell) -> None:
    tool = pydantic_function_tool(GetWeather)
    reply = await mi.run(lambda c: c.chat.completions.create(messages=ASK, tools=[tool], tool_choice="required",
                                                             max_tokens=40))
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert choice.message.tool_calls is not None
    (call,) = choice.message.tool_calls
    assert isinstance(call, ToolCall) and call.id and call.type == "function"
    assert call.function.name == "GetWeather"
    assert isinstance(GetWeather.model_validate_json(call.function.arguments).city, str)


async def test_named_and_auto_tool_choice(mi: Shell) -> None:
    clock: ToolParam = {"type": "function", "function": {"name": "get_time", "parameters": {
        "type": "object", "properties": {"zone": {"enum": ["UTC", "CET"]}}, "required": ["zone"]}}}
    tools = [pydantic_function_tool(GetWeather, name="get_weather"), clock]
    named = await mi.run(lambda c: c.chat.completions.create(
        messages=ASK, tools=tools, tool_choice={"type": "function", "function": {"name": "get_time"}},
        max_tokens=40))
    assert named.choices[0].message.tool_calls is not None
    assert named.choices[0].message.tool_calls[0].function.name == "get_time"
    auto = await mi.run(lambda c: c.chat.completions.create(messages=ASK, tools=tools, tool_choice="auto",
                                                            max_tokens=40))
    message = auto.choices[0].message
    assert (message.tool_calls is None) == (message.content is not None)  # either an answer or a call
    if message.tool_calls:
        assert message.tool_calls[0].function.name in ("get_weather", "get_time")
        assert auto.choices[0].finish_reason == "tool_calls"


async def test_streamed_tool_call_until_done_merges_the_pieces(mi: Shell) -> None:
    tool = pydantic_function_tool(GetWeather)
    stream = await mi.run(lambda c: c.chat.completions.create(messages=ASK, tools=[tool], tool_choice="required",
                                                              max_tokens=40, stream=True))
    chunks = await mi.chunks(stream)
    pieces = [d for ch in chunks for choice in ch.choices for d in (choice.delta.tool_calls or [])]
    assert pieces[0].id and pieces[0].function is not None and pieces[0].function.name == "GetWeather"
    assert len(pieces) > 2
    reply = await mi.until_done(stream)
    assert reply.choices[0].message.tool_calls is not None
    (call,) = reply.choices[0].message.tool_calls
    assert reply.choices[0].finish_reason == "tool_calls" and reply.choices[0].message.content is None
    assert call.id == pieces[0].id
    assert call.function.arguments == "".join(p.function.arguments or "" for p in pieces if p.function)
    GetWeather.model_validate_json(call.function.arguments)


async def test_a_whole_tool_round_trip(mi: Shell) -> None:
    tools = [pydantic_function_tool(GetWeather)]
    first = await mi.run(lambda c: c.chat.completions.create(messages=ASK, tools=tools, tool_choice="required",
                                                             max_tokens=40))
    message = first.choices[0].message
    assert message.tool_calls is not None
    call = message.tool_calls[0]
    city = GetWeather.model_validate_json(call.function.arguments).city
    conversation: list[ChatMessageParam | ChatMessage] = [
        *ASK, message, {"role": "tool", "tool_call_id": call.id, "content": f"22 C and sunny in {city}"}]
    answer = await mi.run(lambda c: c.chat.completions.create(messages=conversation, tools=tools,
                                                              tool_choice="none", max_tokens=12))
    assert answer.choices[0].message.content and answer.choices[0].message.tool_calls is None


async def test_json_object_response_format(mi: Shell) -> None:
    reply = await mi.run(lambda c: c.chat.completions.create(messages=ASK, response_format={"type": "json_object"},
                                                             max_tokens=40, temperature=0))
    assert reply.content is not None and isinstance(json.loads(reply.content), dict)


async def test_parse_gives_model_instances_repeatedly(mi: Shell) -> None:
    for _ in range(3):
        reply = await mi.run(lambda c: c.chat.completions.parse(messages=ASK, response_format=Weather,
                                                                max_tokens=48))
        assert isinstance(reply, ParsedChatCompletion)
        assert isinstance(reply.choices[0].message.parsed, Weather)
        assert reply.parsed is reply.choices[0].message.parsed
        assert reply.request_id


async def test_a_parse_stream_gives_parsed_from_until_done(mi: Shell) -> None:
    stream = await mi.run(lambda c: c.chat.completions.parse(messages=ASK, response_format=Weather,
                                                             max_tokens=48, stream=True))
    reply = await mi.until_done(stream)
    assert isinstance(reply.choices[0].message.parsed, Weather) and reply.content is not None
    assert Weather.model_validate_json(reply.content) == reply.choices[0].message.parsed


async def test_image_part_is_refused_with_400(mi: Shell) -> None:
    image: UserMessageParam = {"role": "user", "content": [{"type": "text", "text": "What is in this picture?"},
                                         {"type": "image_url", "image_url": {"url": "https://example.com/a.png",
                                                                             "detail": "low"}}]}
    with pytest.raises(BadRequestError, match="images are not supported by this model"):
        await mi.run(lambda c: c.chat.completions.create(messages=[image], max_tokens=4))


async def test_tools_on_the_llama_route_are_refused_before_sending(shell_kind: str) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    tool = pydantic_function_tool(GetWeather)
    async with mock_shell(shell_kind, handler) as shell:  # a serverless host: the llama route
        refused: list[dict[str, Any]] = [{"tools": [tool]}, {"tool_choice": "auto"},
                                         {"response_format": {"type": "json_object"}},
                                         {"extra_body": {"tools": [tool]}}]
        for kwargs in refused:
            with pytest.raises(ParameterError, match="model-inference") as caught:
                # awaited within this iteration, so the lambda sees this iteration's kwargs
                await shell.run(lambda c: c.chat.completions.create(messages=ASK, **kwargs))  # noqa: B023
            assert "extra_body" not in str(caught.value) and "llama route" in str(caught.value)
        with pytest.raises(ParameterError, match="response_format is not available on the llama route"):
            await shell.run(lambda c: c.chat.completions.parse(messages=ASK, response_format=Weather))
        with pytest.raises(ParameterError, match=r"logprobs=True .* pass logprobs=N"):
            await shell.run(lambda c: c.chat.completions.create(messages=ASK, logprobs=True))
        with pytest.raises(ParameterError, match="an int"):
            await shell.run(lambda c: c.completions.create(prompt="Hi", logprobs=True))
    assert sent == []


async def test_parse_raises_a_typed_error_with_the_raw_content(shell_kind: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["name"] == "Weather"
        return httpx.Response(200, json={"choices": [{"index": 0, "finish_reason": "length",
                                                      "message": {"role": "assistant", "content": '{"city": "Par'}}]})

    async with mock_shell(shell_kind, handler, api="model-inference") as shell:
        with pytest.raises(StructuredOutputError, match="raise max_tokens") as caught:
            await shell.run(lambda c: c.chat.completions.parse(messages=ASK, response_format=Weather))
    assert caught.value.content == '{"city": "Par' and caught.value.finish_reason == "length"


async def test_malformed_messages_name_the_index_and_key(shell_kind: str) -> None:
    cases: list[tuple[Any, str]] = [
        ([{"role": "user", "content": "Hi"}, {"role": "user", "contnet": "x"}], "messages.1.contnet"),
        ([{"role": "robot", "content": "x"}], "messages.0.role"),
        ([{"role": "tool", "content": "22 C"}], "messages.0.tool_call_id"),
        ([{"role": "assistant", "content": None}], "messages.0.content"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {"uri": "x"}}]}],
         "messages.0.content.0.image_url.uri"),
    ]
    async with mock_shell(shell_kind, lambda request: httpx.Response(500)) as shell:
        for messages, where in cases:
            with pytest.raises(ParameterError) as caught:
                await shell.run(lambda c: c.chat.completions.create(messages=messages))  # noqa: B023 (awaited here)
            assert caught.value.param == where and where in str(caught.value)


async def test_chat_logprobs_on_the_model_inference_route(mi: Shell) -> None:
    reply = await mi.run(lambda c: c.chat.completions.create(messages=ASK, logprobs=True, top_logprobs=2,
                                                             max_tokens=4, temperature=0))
    logprobs = reply.choices[0].logprobs
    assert logprobs is not None
    tokens = logprobs.content
    assert tokens and "".join(t.token for t in tokens) == reply.content
    assert all(t.logprob <= 0 and len(t.top_logprobs) == 2 and t.bytes == list(t.token.encode()) for t in tokens)
    stream = await mi.run(lambda c: c.chat.completions.create(messages=ASK, logprobs=True, max_tokens=4,
                                                              temperature=0, stream=True))
    streamed = await mi.until_done(stream)
    assert streamed.choices[0].logprobs is not None and streamed.choices[0].logprobs.content is not None
    assert [t.token for t in streamed.choices[0].logprobs.content] == [t.token for t in tokens]


@pytest.mark.parametrize("form", ["/models", "/openai/v1"])
async def test_tools_and_parse_on_the_foundry_and_openai_v1_forms(
    shell_kind: str, server: ReferenceServer, form: str
) -> None:
    """The other route styles that have tools (not in the route table's LACKS) send them and read the answers."""
    async with Shell(make_client(shell_kind, server.url + form, server.api_key, model="default")) as shell:
        called = await shell.run(lambda c: c.chat.completions.create(
            messages=ASK, tools=[pydantic_function_tool(GetWeather)], tool_choice="required", max_tokens=40))
        assert called.choices[0].message.tool_calls is not None
        assert called.choices[0].message.tool_calls[0].function.name == "GetWeather"
        parsed = await shell.run(lambda c: c.chat.completions.parse(messages=ASK, response_format=Weather,
                                                                    max_tokens=48))
        assert isinstance(parsed.parsed, Weather)


async def test_parse_with_tools_reads_the_arguments_into_the_tools_model(mi: Shell) -> None:
    """No response_format: parse() sends the tools as create() does and reads each call's arguments."""
    tools = [pydantic_function_tool(GetWeather, name="get_weather")]
    reply = await mi.run(lambda c: c.chat.completions.parse(messages=ASK, tools=tools, tool_choice="required",
                                                            max_tokens=40))
    message = reply.choices[0].message
    assert message.parsed is None and message.tool_calls is not None
    (call,) = message.tool_calls
    assert isinstance(call, ParsedToolCall) and call.function.name == "get_weather"
    assert isinstance(call.function.parsed_arguments, GetWeather)
    assert call.function.parsed_arguments == GetWeather.model_validate_json(call.function.arguments)
    assert call.to_param()["function"] == {"name": "get_weather", "arguments": call.function.arguments}
    stream = await mi.run(lambda c: c.chat.completions.parse(messages=ASK, tools=tools, tool_choice="required",
                                                             max_tokens=40, stream=True))
    streamed = await mi.until_done(stream)
    assert streamed.choices[0].message.tool_calls is not None
    assert isinstance(streamed.choices[0].message.tool_calls[0].function.parsed_arguments, GetWeather)


async def test_parse_leaves_hand_written_tools_unparsed(mi: Shell) -> None:
    clock: ToolParam = {"type": "function", "function": {"name": "get_time", "parameters": {
        "type": "object", "properties": {"zone": {"enum": ["UTC", "CET"]}}, "required": ["zone"]}}}
    reply = await mi.run(lambda c: c.chat.completions.parse(messages=ASK, tools=[clock], tool_choice="required",
                                                            max_tokens=40))
    assert reply.choices[0].message.tool_calls is not None
    assert reply.choices[0].message.tool_calls[0].function.parsed_arguments is None


async def test_tool_arguments_that_do_not_validate_raise_a_typed_error_naming_the_tool(shell_kind: str) -> None:
    """The reference server's grammar keeps arguments valid, so the invalid ones come from a mock."""
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"town": 3}'}}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None, "tool_calls": [call]}}]})

    tools = [pydantic_function_tool(GetWeather, name="get_weather")]
    async with mock_shell(shell_kind, handler, api="model-inference") as shell:
        with pytest.raises(ToolArgumentsError, match=r"not valid for the tool 'get_weather' \(GetWeather\)") as caught:
            await shell.run(lambda c: c.chat.completions.parse(messages=ASK, tools=tools))
    assert caught.value.tool_name == "get_weather" and caught.value.tool_call_id == "call_1"
    assert caught.value.content == '{"town": 3}' and "city: Field required" in str(caught.value)
    assert isinstance(caught.value, StructuredOutputError)
