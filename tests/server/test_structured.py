"""Tools, structured output and images on the model-inference route, with the real model and grammars."""

from __future__ import annotations

import json
from typing import Any

import httpx

API = {"api-version": "2024-05-01-preview"}
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20}},
                   "required": ["city"], "additionalProperties": False}}}
CLOCK = {"type": "function", "function": {
    "name": "get_time", "parameters": {"type": "object", "properties": {"zone": {"enum": ["UTC", "CET"]}},
                                       "required": ["zone"], "additionalProperties": False}}}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


def chat(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post("/chat/completions", params=API, json={"messages": ASK, "max_tokens": 40, **body})


def test_required_tool_choice_always_calls_with_schema_valid_arguments(client: httpx.Client) -> None:
    for _ in range(2):
        r = chat(client, tools=[WEATHER, CLOCK], tool_choice="required")
        assert r.status_code == 200, r.text
        choice = r.json()["choices"][0]
        assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
        (call,) = choice["message"]["tool_calls"]
        assert call["type"] == "function" and call["id"].startswith("call_")
        arguments = json.loads(call["function"]["arguments"])
        if call["function"]["name"] == "get_weather":
            assert set(arguments) == {"city"} and isinstance(arguments["city"], str)
        else:
            assert call["function"]["name"] == "get_time" and arguments["zone"] in ("UTC", "CET")


def test_a_named_tool_is_the_one_called(client: httpx.Client) -> None:
    r = chat(client, tools=[WEATHER, CLOCK], tool_choice={"type": "function", "function": {"name": "get_time"}})
    (call,) = r.json()["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "get_time"
    assert json.loads(call["function"]["arguments"])["zone"] in ("UTC", "CET")
    r = chat(client, tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "nope"}})
    assert r.status_code == 400 and "nope" in r.json()["error"]["message"]
    r = chat(client, tool_choice="required")  # and no tools
    assert r.status_code == 400 and r.json()["error"]["param"] == "tool_choice"


def test_tool_choice_none_never_calls(client: httpx.Client) -> None:
    r = chat(client, tools=[WEATHER], tool_choice="none", max_tokens=8)
    message = r.json()["choices"][0]["message"]
    assert "tool_calls" not in message and isinstance(message["content"], str)


def test_streamed_tool_call_sends_id_and_name_first_then_arguments_in_pieces(client: httpx.Client, sse: Any) -> None:
    r = chat(client, tools=[WEATHER], tool_choice="required", stream=True)
    payloads = sse(r)
    assert payloads[-1] == "[DONE]"
    deltas = [p["choices"][0]["delta"] for p in payloads[:-1]]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0]["id"].startswith("call_") and calls[0]["function"] == {"name": "get_weather", "arguments": ""}
    assert all("id" not in c and "name" not in c["function"] for c in calls[1:])
    assert len(calls) > 2  # the arguments come in pieces
    arguments = "".join(c["function"]["arguments"] for c in calls)
    assert set(json.loads(arguments)) == {"city"}
    assert payloads[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_response_format_json_object_and_json_schema_give_valid_json(client: httpx.Client) -> None:
    # temperature 0: greedy, so the same short object every run (sampling may wander past max_tokens)
    r = chat(client, response_format={"type": "json_object"}, max_tokens=40, temperature=0)
    assert isinstance(json.loads(r.json()["choices"][0]["message"]["content"]), dict)
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 16},
                                               "sunny": {"type": "boolean"}},
              "required": ["city", "sunny"], "additionalProperties": False}
    fmt = {"type": "json_schema", "json_schema": {"name": "Weather", "schema": schema, "strict": True}}
    r = chat(client, response_format=fmt, max_tokens=40)
    value = json.loads(r.json()["choices"][0]["message"]["content"])
    assert set(value) == {"city", "sunny"} and isinstance(value["sunny"], bool)


def test_assistant_tool_calls_and_tool_messages_are_rendered(client: httpx.Client) -> None:
    messages = [*ASK,
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "22 C and sunny"}]
    r = client.post("/chat/completions", params=API, json={"messages": messages, "max_tokens": 8})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"]
    # content null is only for an assistant message with tool calls
    r = client.post("/chat/completions", params=API, json={"messages": [{"role": "user", "content": None}]})
    assert r.status_code == 422


def test_image_parts_are_refused_with_400(client: httpx.Client) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    for path, params in (("/chat/completions", API), ("/v1/chat/completions", {})):
        r = client.post(path, params=params, json={
            "messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, image]}]})
        assert r.status_code == 400
        assert "images are not supported by this model" in r.json()["error"]["message"]


def test_tool_call_streamer_pieces_join_to_the_arguments_whatever_the_split() -> None:
    """The server's own piece-by-piece reading of grammar output (any split of the text into tokens)."""
    from llama_azure.server.structured import ToolCallStreamer

    for text in ('{ "name" : "f", "arguments": { "a": {"b": 1} } }', '{"name":"f","arguments":{"a":{"b":1}}}'):
        for step in (1, 2, 5, len(text)):
            streamer, deltas = ToolCallStreamer(), []
            for i in range(0, len(text), step):
                deltas += streamer.feed(text[i : i + step])
            last, reason = streamer.finish("stop")
            deltas += last
            assert reason == "tool_calls" and deltas[0]["tool_calls"][0]["function"]["name"] == "f"
            arguments = "".join(d["tool_calls"][0]["function"]["arguments"] for d in deltas)
            assert arguments.startswith("{") and json.loads(arguments) == {"a": {"b": 1}}


def test_tool_call_streamer_decodes_a_plain_answer_as_it_comes() -> None:
    from llama_azure.server.structured import ToolCallStreamer

    text = '{ "content" : "Hi \\"there\\" \\u00e9t\\u00e9\\n!" }'
    streamer, deltas = ToolCallStreamer(), []
    for i in range(0, len(text), 3):
        deltas += streamer.feed(text[i : i + 3])
    assert len(deltas) > 3  # in pieces, not all at the end
    last, reason = streamer.finish("stop")
    assert reason == "stop" and "".join(d["content"] for d in deltas + last) == 'Hi "there" été\n!'


def test_a_schema_with_a_huge_repetition_count_is_refused_at_once_naming_the_limit(client: httpx.Client) -> None:
    huge = {"type": "string", "minLength": 20_000_000}
    body = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4,
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": huge}}}
    raw = json.dumps(body, separators=(",", ":")).encode()
    assert len(raw) < 240  # a small body, that once cost seconds and hundreds of MB on the prompt thread
    r = client.post("/chat/completions", params=API, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "SchemaTooLarge" and error["param"] == "response_format"
    assert "minLength 20000000" in error["message"] and "limit of 1000" in error["message"]
    assert "response_format.json_schema.schema" in error["message"]

    tool = {"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}, "maxItems": 10**9}}}}}
    r = chat(client, tools=[WEATHER, tool])
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "SchemaTooLarge" and error["param"] == "tools"
    assert "maxItems 1000000000 at tools.1.function.parameters.properties.a" in error["message"]


def test_a_schema_at_the_limits_is_accepted(client: httpx.Client) -> None:
    fine = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 1000}}, "required": ["city"]}
    r = chat(client, max_tokens=8,
             response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": fine}})
    assert r.status_code == 200, r.text
def _round(*, auto: bool) -> tuple[list[Any], Any]:
    from llama_azure.server.schemas import ChatMessage, InferenceChatCompletionRequest, Tool
    from llama_azure.server.structured import plan_for

    messages = [ChatMessage.model_validate(m) for m in [
        {"role": "system", "content": "Be brief."}, *ASK,
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{i}", "type": "function", "function": {"name": "get_weather", "arguments": json.dumps(
                {"city": city})}} for i, city in ((1, "Paris"), (2, "Rome"))]},
        {"role": "tool", "tool_call_id": "call_1", "content": "22 C and sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "25 C"}]]
    request = InferenceChatCompletionRequest.model_validate(
        {"messages": [m.model_dump() for m in messages], "tools": [WEATHER],
         "tool_choice": "auto" if auto else "none"})
    assert all(isinstance(t, Tool) for t in request.tools or [])
    return messages, plan_for(request)


def test_the_no_more_tools_turn_asks_for_an_answer_from_the_results() -> None:
    """tool_choice "none" after a round of results: question, results and instruction make the last user turn."""
    from llama_azure.server.structured import render

    messages, plan = _round(auto=False)
    assert render(messages, plan) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": 'What is the weather in Paris?\n\nFacts:\nget_weather({"city": "Paris"}) returned: '
                                    '22 C and sunny\nget_weather({"city": "Rome"}) returned: 25 C\n\nAnswer the '
                                    "question with these facts, in one sentence."}]


def test_a_tool_round_is_told_in_words_when_tools_may_be_called_again() -> None:
    from llama_azure.server.structured import render

    messages, plan = _round(auto=True)
    rendered = render(messages, plan)
    assert [m["role"] for m in rendered] == ["system", "user", "assistant", "user"]
    assert rendered[0]["content"].startswith("Be brief.\n\nYou can call these tools.")
    assert rendered[2]["content"] == '(I called get_weather({"city": "Paris"}), get_weather({"city": "Rome"}).)'
    assert rendered[3]["content"] == ('get_weather({"city": "Paris"}) returned: 22 C and sunny\n'
                                      'get_weather({"city": "Rome"}) returned: 25 C\n\nThese results answer the '
                                      'question: answer it with {"content": <your answer>}.')
    assert 'answer with JSON {"content": <your answer>} instead' in rendered[0]["content"]
