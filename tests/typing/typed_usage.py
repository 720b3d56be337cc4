"""Correct usages: ``mypy --strict`` must accept every line (checked by test_typing.py, never run)."""

from __future__ import annotations

import json

from azure.core.credentials import AzureKeyCredential
from azure.identity import DefaultAzureCredential
from azure.identity.aio import DefaultAzureCredential as AsyncDefaultAzureCredential
from pydantic import BaseModel

from llama_azure import (
    AsyncLlamaClient,
    ChatMessageParam,
    Deployment,
    LlamaClient,
    ParsedChatCompletion,
    ToolCall,
    ToolParam,
    pydantic_function_tool,
)
from llama_azure.types import ToolMessageParam, UserMessageParam


class Weather(BaseModel):
    city: str


def sync_usage(client: LlamaClient) -> None:
    tool: ToolParam = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    messages: list[ChatMessageParam] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": "low"}}]},
    ]
    reply = client.chat.completions.create(messages=messages, tools=[tool, pydantic_function_tool(Weather)],
                                           tool_choice="required", max_tokens=32)
    calls: list[ToolCall] = reply.choices[0].message.tool_calls or []
    for call in calls:
        arguments: str = call.function.arguments
        result: ToolMessageParam = {"role": "tool", "tool_call_id": call.id, "content": json.dumps(arguments)}
        messages.append(result)
    messages.append({"role": "assistant", "content": None,
                     "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]})
    client.chat.completions.create(messages=[*messages, reply.choices[0].message],
                                   tool_choice={"type": "function", "function": {"name": "get_weather"}})
    client.chat.completions.create(messages=messages, response_format={"type": "json_object"})
    client.chat.completions.create(messages=messages, response_format={
        "type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": True}})
    parsed: ParsedChatCompletion[Weather] = client.chat.completions.parse(messages=messages, response_format=Weather)
    weather: Weather | None = parsed.choices[0].message.parsed
    del weather
    with client.chat.completions.parse(messages=messages, response_format=Weather, stream=True) as stream:
        done: ParsedChatCompletion[Weather] = stream.until_done()
        city: str | None = done.parsed.city if done.parsed else None
        del city
    finish: str | None = reply.choices[0].finish_reason
    del finish


async def async_usage(client: AsyncLlamaClient) -> None:
    user: UserMessageParam = {"role": "user", "content": "Hi"}
    parsed = await client.chat.completions.parse(messages=[user], response_format=Weather, max_tokens=16)
    weather: Weather | None = parsed.choices[0].message.parsed
    del weather


class RotatingKey:
    @property
    def key(self) -> str:
        return "rotated"


def credentials() -> None:
    endpoint = "https://x.eastus2.models.ai.azure.com"
    LlamaClient(endpoint, "KEY")
    LlamaClient(endpoint, AzureKeyCredential("KEY"))
    LlamaClient(endpoint, RotatingKey())
    LlamaClient(endpoint, DefaultAzureCredential())
    AsyncLlamaClient(endpoint, DefaultAzureCredential())
    AsyncLlamaClient(endpoint, credential=AsyncDefaultAzureCredential())
    Deployment(endpoint, credential=AzureKeyCredential("KEY"))


def tool_runs(client: LlamaClient, aclient: AsyncLlamaClient) -> None:
    """run_tools takes what every round's create takes (its tools aside), max_completion_tokens included."""

    def city_weather(city: str) -> str:
        return f"sunny in {city}"

    messages: list[ChatMessageParam] = [{"role": "user", "content": "Weather in Paris?"}]
    run = client.chat.completions.run_tools(messages=messages, tools=[city_weather], max_completion_tokens=32,
                                            tool_choice="required", model="llama", top_logprobs=2)
    print(run.final.content)

    async def run_async() -> None:
        arun = await aclient.chat.completions.run_tools(messages=messages, tools=[city_weather],
                                                        max_completion_tokens=32, parallel_tool_calls=False)
        print(arun.final.content)
