"""A peer no one here wrote: openai-python's parse() and pydantic_function_tool against the reference
server's model-inference route (sync and async openai clients)."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from pydantic import BaseModel, Field

from llama_azure.server.process import ReferenceServer

API_VERSION = {"api-version": "2024-05-01-preview"}
ASK: Any = [{"role": "user", "content": "What is the weather in Paris?"}]


class Weather(BaseModel):
    city: str = Field(max_length=16)
    sunny: bool


class GetWeather(BaseModel):
    """The current weather in a city."""

    city: str = Field(max_length=20)


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_openai_parse_and_pydantic_function_tool(server: ReferenceServer, kind: str) -> None:
    options: dict[str, Any] = {"base_url": server.url, "api_key": server.api_key, "default_query": API_VERSION,
                               "max_retries": 0}
    if kind == "async":
        async with openai.AsyncOpenAI(**options) as aclient:
            parsed = await aclient.chat.completions.parse(model="default", messages=ASK, response_format=Weather,
                                                          max_tokens=48)
            called = await aclient.chat.completions.create(
                model="default", messages=ASK, tools=[openai.pydantic_function_tool(GetWeather)],
                tool_choice="required", max_tokens=40)
    else:
        with openai.OpenAI(**options) as client:
            parsed = client.chat.completions.parse(model="default", messages=ASK, response_format=Weather,
                                                   max_tokens=48)
            called = client.chat.completions.create(
                model="default", messages=ASK, tools=[openai.pydantic_function_tool(GetWeather)],
                tool_choice="required", max_tokens=40)
    assert isinstance(parsed.choices[0].message.parsed, Weather)
    call = called.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "GetWeather"  # type: ignore[union-attr]
    assert set(json.loads(call.function.arguments)) == {"city"}  # type: ignore[union-attr]
    assert called.choices[0].finish_reason == "tool_calls"
