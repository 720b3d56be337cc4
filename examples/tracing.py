"""Trace calls with OpenTelemetry: one span per call with the GenAI attributes, plus metrics.

    pip install 'llama-azure[tracing]' opentelemetry-sdk
    python examples/tracing.py

Spans and metrics go to the OpenTelemetry SDK's in-memory exporter and reader and are printed at the end;
an application would export them (OTLP, Azure Monitor, ...) instead. Prompts and answers are recorded only
with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true.
"""

from __future__ import annotations

import contextlib

from _support import endpoint
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llama_azure import AuthenticationError, LlamaClient
from llama_azure.tracing import LlamaAzureInstrumentor


def main() -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    metrics = InMemoryMetricReader()
    LlamaAzureInstrumentor().instrument(tracer_provider=tracer_provider,
                                        meter_provider=MeterProvider(metric_readers=[metrics]))

    question = [{"role": "user", "content": "Name a color."}]
    with endpoint() as target, LlamaClient(target.endpoint, target.api_key) as client:
        client.chat.completions.create(messages=question, max_tokens=8, temperature=0)
        with client.chat.completions.create(messages=question, max_tokens=8, stream=True) as stream:
            for _ in stream:  # the span stays open until the stream ends
                pass
        # A wrong key: AuthenticationError, and a span with status ERROR and error.type 401.
        with LlamaClient(target.endpoint, "not-the-key") as wrong_key, contextlib.suppress(AuthenticationError):
            wrong_key.chat.completions.create(messages=question, max_tokens=8)

    LlamaAzureInstrumentor().uninstrument()
    for span in spans.get_finished_spans():
        print(f"span {span.name!r} kind={span.kind.name} status={span.status.status_code.name}")
        for key, value in (span.attributes or {}).items():
            print(f"    {key} = {value!r}")
        for event in span.events:
            print(f"    event {event.name} {dict(event.attributes or {})}")
    data = metrics.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    kind = point.attributes.get("gen_ai.token.type") or point.attributes.get("error.type") or "ok"
                    print(f"metric {metric.name} [{kind}] count={point.count} sum={point.sum:.3f}")


if __name__ == "__main__":
    main()
