"""Misuses: ``mypy --strict`` must report an error on every line marked ``# error`` (test_typing.py)."""

from __future__ import annotations

from pydantic import BaseModel

from llama_azure import AsyncLlamaClient, Deployment, LlamaClient


class Weather(BaseModel):
    city: str


def misuse(client: LlamaClient) -> None:
    client.chat.completions.create(messages=[{"role": "robot", "content": "Hi"}])  # error: bad role
    client.chat.completions.create(messages=[{"role": "user", "contnet": "Hi"}])  # error: bad key
    client.chat.completions.create(messages=[{"role": "tool", "content": "22 C"}])  # error: no tool_call_id
    client.chat.completions.create(messages=[{"role": "user", "content": "Hi"}], tool_choice="always")  # error
    client.chat.completions.create(messages=[{"role": "user", "content": "Hi"}],
                                   response_format={"type": "xml"})  # error: bad response_format type
    client.chat.completions.create(messages=[{"role": "user", "content": "Hi"}],
                                   response_format=Weather)  # error: a model goes to parse()
    client.chat.completions.parse(messages=[{"role": "user", "content": "Hi"}],
                                  response_format={"type": "json_object"})  # error: parse() takes a model
    client.chat.completions.create(messages=[{"role": "user", "content": "Hi"}],
                                   tools=[{"type": "function", "function": {"nam": "f"}}])  # error: bad tool
    reply = client.chat.completions.create(messages=[{"role": "user", "content": "Hi"}])
    reply.choices[0].message.tool_calls[0]["function"]  # error: typed calls, not dicts


def wrong_credentials() -> None:
    LlamaClient("https://x.eastus2.models.ai.azure.com", 42)  # error: not a credential
    AsyncLlamaClient("https://x.eastus2.models.ai.azure.com", credential={"key": "k"})  # error: a dict
    Deployment("https://x.eastus2.models.ai.azure.com", credential=b"key")  # error: bytes
