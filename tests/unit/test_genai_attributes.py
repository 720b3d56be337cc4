"""The GenAI attributes of calls and results, for what the reference server cannot send back (tool calls,
typed content parts), and the hook client-side pacing reports quota waits through."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from llama_azure import ChatCompletion, Completion
from llama_azure._call.config import ClientConfig
from llama_azure._call.options import ClientOptions
from llama_azure._call.prepare import prepare_chat, prepare_completion
from llama_azure._genai_attributes import (
    input_messages,
    output_messages,
    request_attributes,
    request_model,
    response_attributes,
)
from llama_azure._observe import error_type, report_quota_wait

# The model-inference route: the one with tools and response_format (the llama route refuses them).
CONFIG = ClientConfig.create("https://unit.eastus2.models.ai.azure.com", api="model-inference", api_version=None,
                             deployment="blue", options=ClientOptions(max_retries=0, max_retry_wait=1.0))

TOOL_TURN: list[dict[str, Any]] = [
    {"role": "system", "content": "Use the tools."},
    {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"},
                                 {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "rainy, 14 C"},
]


def test_request_attributes_name_every_sampling_parameter() -> None:
    call = prepare_chat(CONFIG, TOOL_TURN[:2], False, {
        "max_tokens": 9, "temperature": 1, "top_p": 0.5, "n": 2, "stop": "END", "seed": 3,
        "presence_penalty": 0.1, "frequency_penalty": -0.2, "response_format": {"type": "json_object"}})
    assert request_model(call) == "blue"  # no model= in the body: the deployment the call targets
    attrs = request_attributes(call, "chat", "blue")
    assert attrs == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "azure.ai.inference",
        "gen_ai.request.model": "blue", "server.address": "unit.eastus2.models.ai.azure.com", "server.port": 443,
        "gen_ai.request.stream": False, "gen_ai.request.max_tokens": 9, "gen_ai.request.seed": 3,
        "gen_ai.request.temperature": 1.0, "gen_ai.request.top_p": 0.5, "gen_ai.request.presence_penalty": 0.1,
        "gen_ai.request.frequency_penalty": -0.2, "gen_ai.request.choice.count": 2,
        "gen_ai.request.stop_sequences": ["END"], "gen_ai.output.type": "json",
    }


def test_input_messages_follow_the_conventions_shape() -> None:
    call = prepare_chat(CONFIG, TOOL_TURN, False, {})
    assert json.loads(input_messages(call)) == [
        {"role": "system", "parts": [{"type": "text", "content": "Use the tools."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}, {"type": "image_url"}]},
        {"role": "assistant", "parts": [{"type": "tool_call", "id": "call_1", "name": "weather",
                                         "arguments": {"city": "Paris"}}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "result": "rainy, 14 C"}]},
    ]
    prompt = prepare_completion(CONFIG, "Once upon", False, {})
    assert json.loads(input_messages(prompt)) == [{"role": "user", "parts": [{"type": "text", "content": "Once upon"}]}]


def test_output_messages_carry_tool_calls_and_finish_reasons() -> None:
    reply = ChatCompletion.model_validate({"id": "c1", "model": "m", "choices": [
        {"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_2", "type": "function", "function": {"name": "f", "arguments": "not json"}}]}},
        {"index": 1, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hi"}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2}})
    assert json.loads(output_messages(reply)) == [
        {"role": "assistant", "finish_reason": "tool_calls",
         "parts": [{"type": "tool_call", "id": "call_2", "name": "f", "arguments": "not json"}]},
        {"role": "assistant", "finish_reason": "stop", "parts": [{"type": "text", "content": "Hi"}]},
    ]
    assert response_attributes(reply) == {
        "gen_ai.response.id": "c1", "gen_ai.response.model": "m",
        "gen_ai.response.finish_reasons": ["tool_calls", "stop"],
        "gen_ai.usage.input_tokens": 3, "gen_ai.usage.output_tokens": 2}
    text = Completion.model_validate({"choices": [{"text": "the end", "finish_reason": "length"}]})
    assert json.loads(output_messages(text)) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "the end"}], "finish_reason": "length"}]


def test_error_type_is_the_status_or_the_class_name() -> None:
    class Status(Exception):
        status_code = 503

    assert error_type(Status()) == "503"
    assert error_type(TimeoutError()) == "TimeoutError"
    assert error_type(None) == "_OTHER"


@pytest.fixture
def spans() -> Iterator[Any]:
    sdk = pytest.importorskip("opentelemetry.sdk.trace")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from llama_azure.tracing import LlamaAzureInstrumentor

    exporter = InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    LlamaAzureInstrumentor().instrument(tracer_provider=provider)
    yield exporter
    LlamaAzureInstrumentor().uninstrument()


def test_a_quota_wait_reported_by_pacing_is_a_span_event(spans: Any) -> None:
    from llama_azure import _observe

    call = prepare_chat(CONFIG, TOOL_TURN[:2], False, {})
    report_quota_wait(call, 9.0, "not traced")  # before the call is traced: dropped, no error

    def execute(call: Any) -> ChatCompletion:  # what a pacing shell would do before sending
        report_quota_wait(call, 1.5, "tokens per minute")
        return ChatCompletion.model_validate({"choices": []})

    assert _observe.observer is not None
    _observe.observer.traced(execute, call)
    [span] = spans.get_finished_spans()
    [event] = span.events
    assert event.name == "llama_azure.quota_wait"
    assert dict(event.attributes) == {"llama_azure.quota_wait.duration": 1.5,
                                      "llama_azure.quota_wait.reason": "tokens per minute"}
