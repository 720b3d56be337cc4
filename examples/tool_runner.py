"""The tool runner: typed Python functions as tools, and the loop (call, run, send back, answer) run for you.

    python examples/tool_runner.py

Tools live on the Azure AI Model Inference routes (api="model-inference"). Uses LLAMA_AZURE_ENDPOINT /
LLAMA_AZURE_API_KEY when set, else starts the bundled reference server. Its small model is made to call a tool
(tool_choice="required"); the last round forbids tools, so the run ends with an answer.
"""

from __future__ import annotations

from _support import endpoint

from llama_azure import ChatCompletionChunk, LlamaClient, ToolCallRecord, ToolRun


def get_weather(city: str) -> str:
    """The current weather in a city.

    Args:
        city: The city's name, e.g. Paris.
    """
    return f"22 C and sunny in {city}"


def show(call: ToolCallRecord) -> None:
    outcome = repr(call.output) if call.ok else f"failed: {call.error!r}"
    print(f"[round {call.round}: {call.name}({call.raw_arguments}) -> {outcome} in {call.duration * 1000:.2f} ms]")


def main() -> None:
    question = "What is the weather in Paris?"
    with endpoint() as target, LlamaClient(target.endpoint, target.api_key, api="model-inference") as client:
        print(f"> {question}")
        run = client.chat.completions.run_tools(messages=[{"role": "user", "content": question}],
                                                tools=[get_weather], tool_choice="required", max_rounds=2,
                                                max_tokens=60, temperature=0.2)
        for call in run.calls:
            show(call)
        print(run.content)
        print(f"[{run.rounds} rounds, {len(run.calls)} call(s), {len(run.messages)} messages, "
              f"finish_reason={run.final.choices[0].finish_reason}]")

        print(f"> {question} (streamed)")
        stream = client.chat.completions.run_tools(messages=[{"role": "user", "content": question}],
                                                   tools=[get_weather], tool_choice="required", max_rounds=2,
                                                   max_tokens=60, temperature=0.2, stream=True)
        for event in stream:
            if isinstance(event, ChatCompletionChunk) and event.choices:
                print(event.choices[0].delta.content or "", end="", flush=True)
            elif isinstance(event, ToolCallRecord):
                show(event)
            elif isinstance(event, ToolRun):
                print(f"\n[streamed run: {event.rounds} rounds, {len(event.calls)} call(s)]")


if __name__ == "__main__":
    main()
