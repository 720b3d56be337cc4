"""OpenTelemetry tracing (``llama_azure.tracing``) through both shells against the real reference server.

Spans and metrics go to the OpenTelemetry SDK's in-memory exporter and reader. Each test instruments with
its own providers and uninstruments afterwards, so no other test is traced.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics.export import HistogramDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel
from support.clock import FakeClock, moved_once_waiting
from support.closing import closing_all
from support.shells import Shell, ShellFactory
from support.telemetry import Telemetry

from llama_azure import APIConnectionError, AsyncStream, AuthenticationError, RateLimit, StructuredOutputError
from llama_azure.server.process import ReferenceServer
from llama_azure.tracing import CAPTURE_CONTENT_ENV
from llama_azure.types import ChatMessageParam

HI: list[ChatMessageParam] = [{"role": "user", "content": "Say hello in three words."}]


def attrs(item: ReadableSpan | HistogramDataPoint) -> dict[str, Any]:
    return dict(item.attributes or {})


async def test_a_chat_call_is_one_client_span_with_the_genai_attributes(
    shell: Shell, telemetry: Telemetry, server: ReferenceServer
) -> None:
    reply = await shell.run(lambda c: c.chat.completions.create(
        messages=HI, max_tokens=5, temperature=0.5, top_p=0.9, model="smollm2-test"))
    span = telemetry.only_span()
    assert span.name == "chat smollm2-test"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    host, port = server.url.split("//")[1].split(":")
    assert reply.usage is not None
    assert attrs(span) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "azure.ai.inference",
        "gen_ai.request.model": "smollm2-test",
        "gen_ai.request.max_tokens": 5,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.stream": False,
        "server.address": host,
        "server.port": int(port),
        "gen_ai.response.id": reply.id,
        "gen_ai.response.model": reply.model,
        "gen_ai.response.finish_reasons": (reply.choices[0].finish_reason,),
        "gen_ai.usage.input_tokens": reply.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": reply.usage.completion_tokens,
    }
    [duration] = telemetry.points("gen_ai.client.operation.duration")
    assert duration.count == 1 and duration.sum > 0
    assert attrs(duration)["gen_ai.response.model"] == reply.model
    assert "error.type" not in attrs(duration)
    tokens = {attrs(p)["gen_ai.token.type"]: p for p in telemetry.points("gen_ai.client.token.usage")}
    assert tokens["input"].sum == reply.usage.prompt_tokens and tokens["input"].count == 1
    assert tokens["output"].sum == reply.usage.completion_tokens
    assert attrs(tokens["output"])["gen_ai.request.model"] == "smollm2-test"
    assert telemetry.points("gen_ai.client.operation.time_to_first_chunk") == []  # streams only


async def test_a_text_completion_is_a_text_completion_span(shell: Shell, telemetry: Telemetry) -> None:
    result = await shell.run(lambda c: c.completions.create(prompt="Once upon a time", max_tokens=4, seed=7))
    span = telemetry.only_span()
    assert span.name == "text_completion"  # no model named in the request: the operation alone
    assert attrs(span)["gen_ai.operation.name"] == "text_completion"
    assert attrs(span)["gen_ai.request.seed"] == 7
    assert attrs(span)["gen_ai.response.id"] == result.id
    assert "gen_ai.request.model" not in attrs(span)


async def test_a_streamed_call_keeps_its_span_open_until_the_stream_ends(shell: Shell, telemetry: Telemetry) -> None:
    stream = await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=6, stream=True))
    assert telemetry.spans() == []  # the request is answered, the answer is still to come
    chunks = await shell.chunks(stream)
    span = telemetry.only_span()
    last = chunks[-1]
    assert attrs(span)["gen_ai.request.stream"] is True
    assert attrs(span)["gen_ai.response.id"] == chunks[0].id
    finished = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert attrs(span)["gen_ai.response.finish_reasons"] == tuple(finished)
    assert last.usage is not None and attrs(span)["gen_ai.usage.output_tokens"] == last.usage.completion_tokens
    assert attrs(span)["gen_ai.response.time_to_first_chunk"] > 0
    assert span.status.status_code is StatusCode.UNSET and not span.events
    [first] = telemetry.points("gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1 and first.sum == attrs(span)["gen_ai.response.time_to_first_chunk"]
    [duration] = telemetry.points("gen_ai.client.operation.duration")
    assert duration.sum >= first.sum  # the duration runs to the stream's end


async def test_a_stream_closed_early_ends_its_span_without_an_error(shell: Shell, telemetry: Telemetry) -> None:
    stream = await shell.run(lambda c: c.completions.create(prompt="Count: 1, 2, 3,", max_tokens=24, stream=True))
    if isinstance(stream, AsyncStream):
        await anext(stream)
    else:
        next(stream)
    assert telemetry.spans() == []
    await shell.close(stream)
    span = telemetry.only_span()
    assert [e.name for e in span.events] == ["llama_azure.stream.closed_early"]
    assert span.status.status_code is StatusCode.UNSET
    assert "gen_ai.response.time_to_first_chunk" in attrs(span)
    assert "gen_ai.response.finish_reasons" not in attrs(span)  # it never finished


async def test_a_401_is_an_error_span_with_error_type(
    shell_factory: ShellFactory, server: ReferenceServer, telemetry: Telemetry
) -> None:
    async with shell_factory(server.url, "not-the-right-key") as shell:
        with pytest.raises(AuthenticationError):
            await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=4))
    span = telemetry.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert "401" in (span.status.description or "")
    assert attrs(span)["error.type"] == "401"
    [duration] = telemetry.points("gen_ai.client.operation.duration")
    assert attrs(duration)["error.type"] == "401"
    assert "not-the-right-key" not in span.to_json()


async def test_a_stream_that_breaks_off_is_an_error_span(fault_shell: Shell, telemetry: Telemetry) -> None:
    stream = await fault_shell.run(lambda c: c.chat.completions.create(
        messages=HI, max_tokens=12, stream=True, extra_headers={"x-llama-azure-fault": "reset-mid:1"}))
    with pytest.raises(APIConnectionError):
        await fault_shell.chunks(stream)
    span = telemetry.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)["error.type"] == "APIConnectionError"
    assert "gen_ai.response.time_to_first_chunk" in attrs(span)  # one chunk came before the break


async def test_another_calls_error_does_not_mark_a_stream_closed_around_it(
    shell: Shell, shell_factory: ShellFactory, server: ReferenceServer, telemetry: Telemetry
) -> None:
    stream = await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=12, stream=True))
    wrong = shell_factory(server.url, "not-the-right-key")
    with pytest.raises(AuthenticationError):
        async with closing_all(stream):  # closed while the other call's AuthenticationError is on its way up
            await wrong.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=2))
    await wrong.close()
    stream_span, failed_span = sorted(telemetry.spans(), key=lambda s: s.status.status_code is StatusCode.ERROR)
    assert stream_span.status.status_code is StatusCode.UNSET
    assert [e.name for e in stream_span.events] == ["llama_azure.stream.closed_early"]
    assert failed_span.status.status_code is StatusCode.ERROR


async def test_a_stream_open_at_uninstrument_still_ends_its_span(shell: Shell, telemetry: Telemetry) -> None:
    stream = await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=4, stream=True))
    telemetry.instrumentor.uninstrument()
    await shell.chunks(stream)
    assert attrs(telemetry.only_span())["gen_ai.response.finish_reasons"]


async def test_retries_are_logged_at_info_without_secrets(
    fault_shell: Shell, fault_server: ReferenceServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="llama_azure"):
        await fault_shell.run(lambda c: c.chat.completions.create(
            messages=HI, max_tokens=2, max_retries=1, extra_headers={"x-llama-azure-fault": "status:429@1"}))
    [retry] = [r for r in caplog.records if r.levelno == logging.INFO]
    assert retry.name == "llama_azure"
    # The server asks for 100 ms; the Retry-After floor and spread make it 0.25 to 0.5 s (_retry.retry_after_wait).
    assert re.search(r"/v1/chat/completions: attempt 1 failed \(429\); retrying in 0\.(2[5-9]|[34]\d|50) s$",
                     retry.getMessage())
    attempts = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(attempts) == 2 and "attempt 2" in attempts[1]
    assert fault_server.api_key not in caplog.text and "<redacted>" in caplog.text


async def test_retries_are_events_of_the_one_span(fault_shell: Shell, telemetry: Telemetry) -> None:
    reply = await fault_shell.run(lambda c: c.chat.completions.create(
        messages=HI, max_tokens=4, max_retries=1, extra_headers={"x-llama-azure-fault": "status:429@1"}))
    assert reply.content is not None
    span = telemetry.only_span()  # one span for the call, not one per attempt
    assert span.status.status_code is StatusCode.UNSET
    [event] = span.events
    assert event.name == "llama_azure.retry"
    attributes = dict(event.attributes or {})
    wait = attributes.pop("llama_azure.retry.wait")
    assert isinstance(wait, float) and 0.25 <= wait <= 0.5  # the server's 100 ms, raised to the Retry-After floor
    assert attributes == {
        "llama_azure.retry.attempt": 1,
        "error.type": "429",
        "http.response.status_code": 429,
    }


async def test_message_content_only_when_asked(
    shell: Shell, telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch, server: ReferenceServer
) -> None:
    await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=4))
    assert not any(key.startswith(("gen_ai.input", "gen_ai.output")) for key in attrs(telemetry.only_span()))
    telemetry.exporter.clear()

    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "true")
    telemetry.instrument()  # the flag is read when instrumenting
    reply = await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=4))
    stream = await shell.run(lambda c: c.completions.create(prompt="Once upon a time", max_tokens=4, stream=True))
    streamed = await shell.until_done(stream)
    chat_span, stream_span = telemetry.spans()
    assert json.loads(attrs(chat_span)["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": HI[0]["content"]}]}]
    assert json.loads(attrs(chat_span)["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": reply.content}],
         "finish_reason": reply.choices[0].finish_reason}]
    assert json.loads(attrs(stream_span)["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Once upon a time"}]}]
    [output] = json.loads(attrs(stream_span)["gen_ai.output.messages"])
    assert output["parts"] == [{"type": "text", "content": streamed.text}]
    for span in (chat_span, stream_span):
        assert server.api_key not in span.to_json()  # content yes, the key never


class Forecast(BaseModel):
    city: str
    forecast: str


def recorded_text(span: ReadableSpan) -> str:
    """Every string a span holds beside its name: status description, attributes, events."""
    values = [span.status.description or "", *map(str, attrs(span).values())]
    for event in span.events:
        values += [event.name, *map(str, dict(event.attributes or {}).values())]
    return "\n".join(values)


async def test_without_content_capture_no_error_puts_the_answer_on_the_span(
    shell_factory: ShellFactory, server: ReferenceServer, fault_shell: Shell, telemetry: Telemetry
) -> None:
    question = "Weather in Paris as JSON, please."
    ask: list[ChatMessageParam] = [{"role": "user", "content": question}]
    inference = shell_factory(server.url, server.api_key, api="model-inference")
    with pytest.raises(StructuredOutputError) as cut:  # four tokens cannot hold the object
        await inference.run(lambda c: c.chat.completions.parse(messages=ask, response_format=Forecast, max_tokens=4))
    stream = await fault_shell.run(lambda c: c.chat.completions.create(
        messages=HI, max_tokens=12, stream=True, extra_headers={"x-llama-azure-fault": "bad-json:2"}))
    with pytest.raises(APIConnectionError, match="oops"):  # the malformed event's text is in the message
        await fault_shell.chunks(stream)
    parsed_span, stream_span = telemetry.spans()
    assert "raw content" in str(cut.value) and cut.value.content and len(cut.value.content) > 2
    for span, kind in ((parsed_span, "StructuredOutputError"), (stream_span, "APIConnectionError")):
        assert span.status.status_code is StatusCode.ERROR and span.status.description == kind
        text = recorded_text(span)
        for content in (cut.value.content, "oops", question, "Say hello in three words."):
            assert content not in text


async def test_with_content_capture_the_status_has_the_whole_message(
    fault_shell: Shell, telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "true")
    telemetry.instrument()
    stream = await fault_shell.run(lambda c: c.chat.completions.create(
        messages=HI, max_tokens=12, stream=True, extra_headers={"x-llama-azure-fault": "bad-json:2"}))
    with pytest.raises(APIConnectionError) as broken:
        await fault_shell.chunks(stream)
    assert telemetry.only_span().status.description == str(broken.value)


async def test_the_score_route_reports_its_parameters(
    shell_factory: ShellFactory, server: ReferenceServer, telemetry: Telemetry
) -> None:
    async with shell_factory(server.url, server.api_key, api="score") as shell:
        await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=4, temperature=0.3))
    span = telemetry.only_span()
    assert span.name == "chat"
    assert attrs(span)["gen_ai.request.max_tokens"] == 4  # sent as max_new_tokens
    assert attrs(span)["gen_ai.request.temperature"] == 0.3


async def test_a_call_inside_an_application_span_is_its_child(shell: Shell, telemetry: Telemetry) -> None:
    tracer = telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("handle request") as parent:
        await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=2))
    call, app = telemetry.spans()
    assert app.name == "handle request"
    assert call.parent is not None and call.parent.span_id == parent.get_span_context().span_id


async def test_model_info_is_not_traced(shell: Shell, telemetry: Telemetry) -> None:
    info = await shell.run(lambda c: c.get_model_info())
    assert info.model_name
    assert telemetry.spans() == [] and telemetry.points("gen_ai.client.operation.duration") == []


async def test_nothing_is_recorded_after_uninstrument(shell: Shell, telemetry: Telemetry) -> None:
    await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=2))
    assert len(telemetry.spans()) == 1
    telemetry.instrumentor.uninstrument()
    assert not telemetry.instrumentor.is_instrumented
    telemetry.exporter.clear()
    telemetry.reader.get_metrics_data()  # drain: only what comes after counts

    await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=2))
    stream = await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=2, stream=True))
    await shell.chunks(stream)
    assert telemetry.spans() == []
    counts = [p.count for p in telemetry.points("gen_ai.client.operation.duration")]
    assert counts == [1]  # cumulative: still the one call made before uninstrument()


class _BrokenTracerProvider(TracerProvider):
    """A tracer provider whose spans cannot be started (a misconfigured exporter pipeline, say)."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
        class Tracer:
            def start_span(self, *args: Any, **kwargs: Any) -> Any:
                raise RuntimeError("exporter misconfigured")

        return Tracer()


async def test_a_failure_inside_tracing_never_breaks_the_call(
    shell: Shell, telemetry: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    telemetry.instrumentor.instrument(tracer_provider=_BrokenTracerProvider(), meter_provider=telemetry.meter_provider)
    with caplog.at_level(logging.WARNING, logger="llama_azure"):
        reply = await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=2))
        stream = await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=2, stream=True))
        assert await shell.chunks(stream)
    assert reply.content is not None
    assert [r.getMessage() for r in caplog.records] == ["llama_azure tracing: could not start a span"] * 2


def test_importing_llama_azure_does_not_import_opentelemetry() -> None:
    code = ("import sys, llama_azure\n"
            "llama_azure.LlamaClient('https://x.eastus2.models.ai.azure.com', 'k').close()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'opentelemetry'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_without_the_extra_the_import_error_says_what_to_install() -> None:
    code = ("import sys\n"
            "sys.modules['opentelemetry'] = None  # as if opentelemetry-api were not installed\n"
            "from llama_azure import ConfigurationError\n"
            "try:\n"
            "    import llama_azure.tracing\n"
            "except ImportError as error:\n"
            "    print(isinstance(error, ConfigurationError), error)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.startswith("True ")
    assert "pip install 'llama-azure[tracing]'" in out.stdout


async def test_a_paced_call_records_its_quota_wait(
    server: ReferenceServer, shell_factory: ShellFactory, telemetry: Telemetry
) -> None:
    """Client-side pacing (``rate_limit=``) shows its wait as an event of the waiting call's span."""
    rate_limit = RateLimit(requests=1, window=0.2)
    # The window moves only when the test says so: however slow the first call, the second one waits; once it
    # waits, the clock moves past the window, and its next poll (at most 0.2 s on) lets it go.
    clock = rate_limit._clock = FakeClock()
    async with shell_factory(server.url, server.api_key, rate_limit=rate_limit) as shell:
        await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=2))
        with moved_once_waiting(clock, lambda: rate_limit.usage().waiting, seconds=1):
            await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=2))
    first, second = sorted(telemetry.spans(), key=lambda s: s.start_time or 0)
    assert [e.name for e in first.events] == []  # the first call went at once
    [event] = second.events
    assert event.name == "llama_azure.quota_wait"
    attributes = dict(event.attributes or {})
    assert attributes["llama_azure.quota_wait.reason"] == "client-side rate limit"
    duration = attributes["llama_azure.quota_wait.duration"]
    assert isinstance(duration, float) and duration > 0
