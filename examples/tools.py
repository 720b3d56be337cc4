"""A tool-calling loop: the model calls a function, the result goes back, the model answers.

    python examples/tools.py

Tools live on the Azure AI Model Inference routes (api="model-inference"). Uses LLAMA_AZURE_ENDPOINT /
LLAMA_AZURE_API_KEY when set, else starts the bundled reference server, whose small model calls tools
through grammar-constrained decoding.
"""

from __future__ import annotations

import json

from _support import endpoint
from pydantic import BaseModel, Field

from llama_azure import ChatMessage, ChatMessageParam, LlamaClient, pydantic_function_tool


class GetWeather(BaseModel):
    """The current weather in a city."""

    city: str = Field(max_length=30)


def get_weather(city: str) -> str:
    return f"22 C and sunny in {city}"


def main() -> None:
    question = "What is the weather in Paris?"
    tools = [pydantic_function_tool(GetWeather, name="get_weather")]
    messages: list[ChatMessageParam | ChatMessage] = [{"role": "user", "content": question}]
    with endpoint() as target, LlamaClient(target.endpoint, target.api_key, api="model-inference") as client:
        print(f"> {question}")
        reply = client.chat.completions.create(messages=messages, tools=tools, tool_choice="required",
                                               max_tokens=48)
        message = reply.choices[0].message
        messages.append(message)  # the assistant's calls (content None) go back as they came
        for call in message.tool_calls or []:  # typed ToolCall objects
            arguments = GetWeather.model_validate_json(call.function.arguments)
            result = get_weather(arguments.city)
            print(f"[tool call {call.function.name}({json.dumps(arguments.model_dump())}) -> {result!r}]")
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        # The answer turn: no more tools, a short factual answer (a low temperature keeps it to the result).
        answer = client.chat.completions.create(messages=messages, tools=tools, tool_choice="none", max_tokens=60,
                                                temperature=0.2)
        print(answer.choices[0].message.content)
        print(f"[finish_reason={reply.choices[0].finish_reason} then {answer.choices[0].finish_reason}]")


if __name__ == "__main__":
    main()
