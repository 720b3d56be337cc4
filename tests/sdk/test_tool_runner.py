"""``chat.completions.run_tools``: the tool loop through both clients, against the real reference server.

The bundled model is small, so every test that needs a call forces it (``tool_choice="required"``); the last
round forbids tools, so each run ends with an answer whatever the model would have chosen.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from typing import Any, Literal

import httpx
import pytest
from pydantic import BaseModel, Field, field_validator
from support.shells import Client, Shell, make_client, mock_shell

from llama_azure import (
    AsyncToolRunStream,
    ChatCompletionChunk,
    ParameterError,
    ToolArgumentsError,
    ToolCallError,
    ToolCallRecord,
    ToolRun,
    ToolRunStream,
    pydantic_function_tool,
)
from llama_azure._tools.functions import runnable_tools
from llama_azure.server.process import ReferenceServer
from llama_azure.types import ChatMessage, ChatMessageParam

ASK: list[ChatMessageParam] = [{"role": "user", "content": "What is the weather in Paris?"}]
ran: list[str] = []


def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
    """The current weather in a city.

    Args:
        city: The city's name.
        unit: Degrees Celsius or Fahrenheit.
    """
    ran.append(city)
    return f"22 {unit} and sunny in {city}"


def broken_station(city: str) -> str:
    """The current weather in a city."""
    raise ValueError(f"no weather station in {city}")


class Lookup(BaseModel):
    """The population of a city."""

    city: str = Field(max_length=20)


class Closed(BaseModel):
    """The weather in a city (whose station is always closed)."""

    city: str = Field(max_length=20)

    @field_validator("city")
    @classmethod
    def station_closed(cls, city: str) -> str:
        raise ValueError(f"the station of {city} is closed")


async def population(arguments: Lookup) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"city": arguments.city, "population": 2_100_000}


@pytest.fixture
async def mi(shell_kind: str, server: ReferenceServer) -> AsyncIterator[Shell]:
    shell = Shell(make_client(shell_kind, server.url, server.api_key, api="model-inference"))
    yield shell
    await shell.close()


def assert_ends_with_an_answer(run: ToolRun) -> None:
    choice = run.final.choices[0]
    assert choice.finish_reason in ("stop", "length") and choice.message.tool_calls is None
    assert run.content and run.messages[-1] is choice.message


async def test_a_run_calls_a_typed_function_sends_the_result_back_and_answers(mi: Shell) -> None:
    ran.clear()
    run = await mi.run(lambda c: c.chat.completions.run_tools(messages=ASK, tools=[get_weather], max_rounds=2,
                                                              tool_choice="required", max_tokens=40))
    assert isinstance(run, ToolRun) and run.rounds == 2
    (call,) = run.calls
    assert call.name == "get_weather" and call.ok and call.round == 0 and call.duration >= 0
    assert call.arguments is not None and isinstance(call.arguments.city, str)  # type: ignore[attr-defined]
    assert ran == [call.arguments.city]  # type: ignore[attr-defined]
    assert call.result == call.output and call.output.endswith(f"and sunny in {ran[0]}")
    user, assistant, tool, answer = run.messages
    assert user == ASK[0] and isinstance(assistant, ChatMessage) and assistant.tool_calls is not None
    assert assistant.tool_calls[0].id == call.id
    assert tool == {"role": "tool", "tool_call_id": call.id, "content": call.output}
    assert isinstance(answer, ChatMessage)
    assert_ends_with_an_answer(run)
    continued = await mi.run(lambda c: c.chat.completions.create(messages=run.messages, max_tokens=4))
    assert continued.choices  # the conversation is ready to continue as it is


async def test_a_pydantic_tool_bound_to_an_async_handler(mi: Shell) -> None:
    tool = pydantic_function_tool(Lookup, name="population")
    run = await mi.run(lambda c: c.chat.completions.run_tools(messages=ASK, tools=[(tool, population)],
                                                              max_rounds=2, tool_choice="required", max_tokens=40))
    (call,) = run.calls
    assert isinstance(call.arguments, Lookup) and call.result == {"city": call.arguments.city,
                                                                   "population": 2_100_000}
    assert json.loads(call.output) == call.result
    assert_ends_with_an_answer(run)


async def test_a_function_that_raises_is_recorded_and_the_run_goes_on(mi: Shell) -> None:
    run = await mi.run(lambda c: c.chat.completions.run_tools(messages=ASK, tools=[broken_station], max_rounds=2,
                                                              tool_choice="required", max_tokens=40))
    (call,) = run.calls
    assert isinstance(call.error, ValueError) and not call.ok and call.result is None
    assert call.output.startswith("Error: broken_station raised ValueError: no weather station in ")
    assert run.messages[2] == {"role": "tool", "tool_call_id": call.id, "content": call.output}
    assert_ends_with_an_answer(run)
    with pytest.raises(ToolCallError, match=r"tool call .* to 'broken_station' failed") as caught:
        await mi.run(lambda c: c.chat.completions.run_tools(messages=ASK, tools=[broken_station], max_rounds=2,
                                                            tool_choice="required", max_tokens=40,
                                                            raise_tool_errors=True))
    assert isinstance(caught.value.__cause__, ValueError) and caught.value.record.error is caught.value.__cause__
    assert len(caught.value.messages) == 3


async def test_arguments_that_do_not_validate_go_back_to_the_model(mi: Shell) -> None:
    handled: list[Closed] = []
    run = await mi.run(lambda c: c.chat.completions.run_tools(
        messages=ASK, tools=[(pydantic_function_tool(Closed), handled.append)], max_rounds=2,
        tool_choice="required", max_tokens=40))
    (call,) = run.calls
    assert call.arguments is None and handled == []  # refused before the handler ran
    assert isinstance(call.error, ToolArgumentsError) and call.error.tool_name == "Closed"
    assert call.output.startswith("Error: the arguments are not valid for Closed: city: Value error, the station of ")
    assert "raw arguments" not in call.output
    assert_ends_with_an_answer(run)


async def test_a_run_that_reaches_max_rounds_ends_with_an_answer(mi: Shell) -> None:
    run = await mi.run(lambda c: c.chat.completions.run_tools(messages=ASK, tools=[get_weather], max_rounds=3,
                                                              tool_choice="required", max_tokens=40))
    assert run.rounds == 3 and [call.round for call in run.calls] == [0, 1]
    assert [m["role"] if isinstance(m, dict) else m.role for m in run.messages] == [
        "user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert_ends_with_an_answer(run)
    one = await mi.run(lambda c: c.chat.completions.run_tools(messages=ASK, tools=[get_weather], max_rounds=1,
                                                              tool_choice="required", max_tokens=8))
    assert one.rounds == 1 and one.calls == [] and one.final.choices[0].message.tool_calls is None


async def test_a_streamed_run_yields_chunks_and_calls_then_the_run(mi: Shell) -> None:
    def start(c: Client) -> ToolRunStream | Awaitable[AsyncToolRunStream]:
        return c.chat.completions.run_tools(messages=ASK, tools=[get_weather], max_rounds=2,
                                            tool_choice="required", max_tokens=40, stream=True)

    stream: ToolRunStream | AsyncToolRunStream = await mi.run(start)
    events: list[Any] = []
    if isinstance(stream, AsyncToolRunStream):
        events = [event async for event in stream]
        assert await stream.until_done() is events[-1]
    else:
        assert isinstance(stream, ToolRunStream)
        events = list(stream)
        assert stream.until_done() is events[-1]
    kinds = [type(event).__name__ for event in events]
    first_record = kinds.index("ToolCallRecord")
    assert set(kinds[:first_record]) == {"ChatCompletionChunk"} and kinds[-1] == "ToolRun"
    assert set(kinds[first_record + 1:-1]) == {"ChatCompletionChunk"}
    run = events[-1]
    assert isinstance(run, ToolRun) and run.calls == [events[first_record]]
    streamed = "".join(e.choices[0].delta.content or "" for e in events[first_record + 1:-1]
                       if isinstance(e, ChatCompletionChunk) and e.choices)
    assert streamed == run.content
    assert_ends_with_an_answer(run)


def two_calls_then_an_answer() -> tuple[list[dict[str, Any]], Any]:
    """A mock service: the first answer calls two tools at once (the reference server makes one call per answer)."""
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if len(bodies) == 1:
            calls = [{"id": f"call_{i}", "type": "function",
                      "function": {"name": name, "arguments": json.dumps({"city": "Paris"})}}
                     for i, name in enumerate(["first", "second"])]
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": calls}
            return httpx.Response(200, json={"choices": [{"index": 0, "finish_reason": "tool_calls",
                                                          "message": message}]})
        return httpx.Response(200, json={"choices": [{"index": 0, "finish_reason": "stop",
                                                      "message": {"role": "assistant", "content": "Sunny."}}]})

    return bodies, handler


async def test_an_async_run_executes_a_rounds_calls_concurrently() -> None:
    """Each function waits for the other to have started: only concurrent calls can both finish."""
    started = {"first": asyncio.Event(), "second": asyncio.Event()}

    async def first(city: str) -> str:
        started["first"].set()
        await asyncio.wait_for(started["second"].wait(), 10)
        return "first done"

    async def second(city: str) -> str:
        started["second"].set()
        await asyncio.wait_for(started["first"].wait(), 10)
        return "second done"

    bodies, handler = two_calls_then_an_answer()
    async with mock_shell("async", handler, api="model-inference") as shell:
        run = await shell.run(lambda c: c.chat.completions.run_tools(messages=ASK, tools=[first, second]))
    assert [call.result for call in run.calls] == ["first done", "second done"]
    assert [m["tool_call_id"] for m in run.messages if isinstance(m, dict) and m["role"] == "tool"] == [
        "call_0", "call_1"]
    assert run.content == "Sunny." and len(bodies) == 2
    assert [m["role"] for m in bodies[1]["messages"]] == ["user", "assistant", "tool", "tool"]


async def test_the_sync_client_runs_a_rounds_calls_in_order() -> None:
    order: list[str] = []

    def first(city: str) -> str:
        order.append("first")
        return "1"

    async def second(city: str) -> str:  # an async function in the sync client runs in its own event loop
        order.append("second")
        return "2"

    bodies, handler = two_calls_then_an_answer()
    async with mock_shell("sync", handler, api="model-inference") as shell:
        run = await shell.run(lambda c: c.chat.completions.run_tools(messages=ASK, tools=[first, second]))
    assert order == ["first", "second"] and [call.result for call in run.calls] == ["1", "2"]
    assert bodies[0]["tools"][0]["function"]["name"] == "first" and "tool_choice" not in bodies[0]


async def test_the_last_round_forbids_tools_and_unknown_tools_are_reported(shell_kind: str) -> None:
    bodies, handler = two_calls_then_an_answer()
    async with mock_shell(shell_kind, handler, api="model-inference") as shell:
        run = await shell.run(lambda c: c.chat.completions.run_tools(
            messages=ASK, tools=[get_weather], max_rounds=2, tool_choice="required", parallel_tool_calls=True))
    assert bodies[0]["tool_choice"] == "required" and bodies[0]["parallel_tool_calls"] is True
    assert bodies[1]["tool_choice"] == "none" and "parallel_tool_calls" not in bodies[1]
    assert [type(call.error).__name__ for call in run.calls] == ["UnknownToolError", "UnknownToolError"]
    assert run.calls[0].output == ("Error: the model called 'first', which is not among the tools (get_weather)")


def test_the_schema_comes_from_the_signature_and_the_docstring() -> None:
    tool = runnable_tools([get_weather])["get_weather"]
    function = tool.param["function"]
    assert function.get("description") == "The current weather in a city."
    assert function.get("parameters") == {
        "type": "object", "additionalProperties": False, "required": ["city"],
        "properties": {"city": {"type": "string", "title": "City", "description": "The city's name."},
                       "unit": {"enum": ["C", "F"], "type": "string", "title": "Unit", "default": "C",
                                "description": "Degrees Celsius or Fahrenheit."}}}
    assert "strict" not in function  # an optional parameter: not a strict schema
    assert runnable_tools([broken_station])["broken_station"].param["function"].get("strict") is True


async def test_bad_tools_and_rounds_are_refused_before_sending(shell_kind: str) -> None:
    def untyped(city):  # type: ignore[no-untyped-def]
        return city

    bad: list[tuple[dict[str, Any], str]] = [
        ({"tools": [untyped]}, "parameter 'city' of untyped\\(\\) has no type annotation"),
        ({"tools": []}, "tools must be a non-empty list"),
        ({"tools": [pydantic_function_tool(Lookup)]}, "tools.0: expected a typed function"),
        ({"tools": [(pydantic_function_tool(Lookup),)]}, "a pair must be"),
        ({"tools": [get_weather, get_weather]}, "a second tool named 'get_weather'"),
        ({"tools": [get_weather], "max_rounds": 0}, "max_rounds must be an int >= 1"),
        ({"tools": [get_weather], "n": 2}, "leave n out"),
    ]
    async with mock_shell(shell_kind, lambda request: httpx.Response(500), api="model-inference") as shell:
        for kwargs, message in bad:
            with pytest.raises(ParameterError, match=message):
                await shell.run(lambda c: c.chat.completions.run_tools(messages=ASK, **kwargs))  # noqa: B023


def test_a_record_says_whether_the_call_went_well() -> None:
    assert ToolCallRecord(id="c", name="f", raw_arguments="{}", round=0).ok
    assert not ToolCallRecord(id="c", name="f", raw_arguments="{}", round=0, error=ValueError()).ok


async def test_a_traced_run_has_a_span_per_model_call_and_an_execute_tool_span_per_call(
    mi: Shell, request: pytest.FixtureRequest
) -> None:
    telemetry = request.getfixturevalue("telemetry")  # tests/sdk/conftest.py; skipped without the otel extra
    from opentelemetry.trace import SpanKind, StatusCode

    run = await mi.run(lambda c: c.chat.completions.run_tools(
        messages=ASK, tools=[get_weather, broken_station], max_rounds=3,
        tool_choice={"type": "function", "function": {"name": "broken_station"}}, max_tokens=40))
    spans = sorted(telemetry.spans(), key=lambda span: span.start_time or 0)
    assert [span.kind for span in spans] == [SpanKind.CLIENT, SpanKind.INTERNAL] * 2 + [SpanKind.CLIENT]
    assert all(span.name.startswith("chat") for span in spans[::2])
    for span, call in zip(spans[1::2], run.calls, strict=True):
        assert span.name == "execute_tool broken_station"
        assert dict(span.attributes or {}) == {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "broken_station",
            "gen_ai.tool.type": "function", "gen_ai.tool.call.id": call.id,
            "gen_ai.tool.description": "The current weather in a city.", "error.type": "ValueError"}
        assert span.status.status_code == StatusCode.ERROR


async def test_every_round_goes_through_the_clients_retries(shell_kind: str) -> None:
    """A 429 in the middle of a run is retried like any call: the run does not see it."""
    bodies, answer = two_calls_then_an_answer()
    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(1)
        if len(sent) == 2:  # the second round's first attempt
            return httpx.Response(429, headers={"retry-after-ms": "1"},
                                  json={"error": {"code": "429", "message": "Rate limit is exceeded."}})
        return answer(request)  # type: ignore[no-any-return]

    def first(city: str) -> str:
        return "1"

    def second(city: str) -> str:
        return "2"

    async with mock_shell(shell_kind, handler, api="model-inference") as shell:
        run = await shell.run(lambda c: c.chat.completions.run_tools(messages=ASK, tools=[first, second]))
    assert len(sent) == 3 and run.rounds == 2 and run.content == "Sunny." and len(bodies) == 2
    assert [call.result for call in run.calls] == ["1", "2"]
