"""OpenTelemetry tracing and metrics for llama-azure calls, following the GenAI semantic conventions.

    from llama_azure.tracing import LlamaAzureInstrumentor
    LlamaAzureInstrumentor().instrument()    # the global tracer and meter providers, or pass your own
    ...
    LlamaAzureInstrumentor().uninstrument()

Needs the ``tracing`` extra (``pip install 'llama-azure[tracing]'``, which brings ``opentelemetry-api``);
``import llama_azure`` never imports OpenTelemetry, and an uninstrumented client pays one ``is None`` test
per call. Each chat or text completion call becomes one CLIENT span named ``{operation} {model}``; a
stream's span ends when the stream ends, is closed or fails. See docs/tracing.md for every attribute,
event and metric.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from . import _observe
from ._exceptions import LlamaAzureError, TracingUnavailableError
from ._genai_attributes import (
    OPERATIONS,
    Attributes,
    input_messages,
    output_messages,
    request_attributes,
    request_model,
    response_attributes,
)
from ._streaming.streams import _StreamBase
from ._version import __version__

try:
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as missing:  # pragma: no cover - the test environment has the extra
    raise TracingUnavailableError(
        "llama_azure.tracing needs OpenTelemetry: pip install 'llama-azure[tracing]' (it adds opentelemetry-api)"
    ) from missing

__all__ = ["CAPTURE_CONTENT_ENV", "LlamaAzureInstrumentor", "TracingUnavailableError"]

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_CAPTURE_VALUES = {"true", "span_only", "span_and_event"}  # the flag's values that record content on spans
# Bucket boundaries the GenAI metric conventions ask for.
_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
_FIRST_CHUNK_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
_METRIC_KEYS = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "server.address",
                "server.port")

logger = logging.getLogger("llama_azure")
R = TypeVar("R")


def capture_content_from_env() -> bool:
    """Whether ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` asks for message content (``true``)."""
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in _CAPTURE_VALUES


def _raised_through(stream: Any, error: BaseException) -> bool:
    """Whether ``error`` came out of ``stream``'s own iteration, not from the caller's code around it (a
    ``with stream:`` body, or a stream dropped while the caller handles another call's error)."""
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_locals.get("self") is stream:
            return True
        tb = tb.tb_next
    return False


def _description(error: BaseException, capture_content: bool) -> str:
    """The span status description of a failed call.

    An error's message may quote the answer or the prompt (a ``StructuredOutputError``'s raw content, a
    malformed chunk's data, a service's error message echoing a parameter), so it is used only when content
    capture is on; otherwise the description is built from the class and HTTP status alone.
    """
    if capture_content:
        return str(error) or type(error).__name__
    status = getattr(error, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool):
        return f"{type(error).__name__} (HTTP {status})"
    return type(error).__name__


class _CallSpan:
    """One call's span and metrics: told about retries, quota waits and, for a stream, its end."""

    def __init__(self, telemetry: _Telemetry, span: trace.Span, metric_attrs: Attributes) -> None:
        self._telemetry = telemetry
        self.span = span
        self._metric_attrs = metric_attrs
        self._started = time.monotonic()
        self._ended = False

    def retried(self, attempt: int, error: BaseException | None, wait: float) -> None:
        attrs: Attributes = {"llama_azure.retry.attempt": attempt, "llama_azure.retry.wait": float(wait),
                             "error.type": _observe.error_type(error)}
        status = getattr(error, "status_code", None)
        if isinstance(status, int):
            attrs["http.response.status_code"] = status
        self.span.add_event("llama_azure.retry", attrs)

    def quota_waited(self, seconds: float, reason: str) -> None:
        self.span.add_event("llama_azure.quota_wait", {"llama_azure.quota_wait.duration": float(seconds),
                                                        "llama_azure.quota_wait.reason": reason})

    def answered_by(self, host: str, port: int) -> None:
        address: Attributes = {"server.address": host, "server.port": port}
        self.span.set_attributes(address)
        self._metric_attrs = {**(self._metric_attrs or {}), **address}

    def returned(self, result: Any) -> None:
        """The call returned: a whole answer ends the span, a stream keeps it open until it closes."""
        if isinstance(result, _StreamBase):
            result._trace = self
        else:
            self.end(result, None)

    def stream_ended(self, stream: Any, error: BaseException | None) -> None:
        if self._ended:
            return
        result, failed, ttfc = None, None, None
        try:
            core = stream._core
            result = core.accumulator.result()  # the answer so far, folded
            first = core.timer.first_chunk
            ttfc = None if first is None else max(first - core.timer.started, 0.0)
            if core.done:
                pass
            elif isinstance(error, LlamaAzureError) and _raised_through(stream, error):
                failed = error
            else:  # left before its end (break, close(), the caller's own error): not a failed call
                self.span.add_event("llama_azure.stream.closed_early")
        except Exception:  # tracing must never break the caller's stream
            logger.warning("llama_azure tracing: could not read a stream's end", exc_info=True)
        self.end(result, failed, ttfc)

    def end(self, result: Any, error: BaseException | None, first_chunk: float | None = None) -> None:
        """End the span and record the metrics, once."""
        if self._ended:
            return
        self._ended = True
        try:
            self._finish(result, error, first_chunk)
        except Exception:  # tracing must never break the caller's call or stream
            logger.warning("llama_azure tracing: could not end a span", exc_info=True)

    def _finish(self, result: Any, error: BaseException | None, first_chunk: float | None) -> None:
        span, telemetry = self.span, self._telemetry
        attrs = response_attributes(result) if result is not None else {}
        if first_chunk is not None:
            attrs["gen_ai.response.time_to_first_chunk"] = first_chunk
        if error is not None:
            attrs["error.type"] = _observe.error_type(error)
        if span.is_recording():
            span.set_attributes(attrs)
            if telemetry.capture_content and result is not None and error is None:
                span.set_attribute("gen_ai.output.messages", output_messages(result))
            if error is not None:
                span.set_status(Status(StatusCode.ERROR, _description(error, telemetry.capture_content)))
        span.end()
        metric_attrs = dict(self._metric_attrs)
        if "gen_ai.response.model" in attrs:
            metric_attrs["gen_ai.response.model"] = attrs["gen_ai.response.model"]
        if error is not None:
            metric_attrs["error.type"] = attrs["error.type"]
        telemetry.duration.record(time.monotonic() - self._started, metric_attrs)
        if first_chunk is not None:
            telemetry.first_chunk.record(first_chunk, metric_attrs)
        metric_attrs.pop("error.type", None)
        for key, kind in (("gen_ai.usage.input_tokens", "input"), ("gen_ai.usage.output_tokens", "output")):
            tokens = attrs.get(key)
            if isinstance(tokens, int):
                telemetry.tokens.record(tokens, {**metric_attrs, "gen_ai.token.type": kind})


class _Telemetry:
    """The observer ``_observe.observer`` points to while instrumented: starts a span per call."""

    def __init__(self, tracer: trace.Tracer, meter: metrics.Meter, capture_content: bool) -> None:
        self.tracer = tracer
        self.capture_content = capture_content
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS)
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS)
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk", unit="s",
            description="Time from the request to the first chunk of a streamed answer.",
            explicit_bucket_boundaries_advisory=_FIRST_CHUNK_BUCKETS)

    def _start(self, call: Any) -> _CallSpan | None:
        operation = OPERATIONS.get(call.operation)
        if operation is None:  # get_model_info: not a GenAI operation
            return None
        try:
            model = request_model(call)
            attrs = request_attributes(call, operation, model)
            span = self.tracer.start_span(f"{operation} {model}" if model else operation, kind=SpanKind.CLIENT,
                                          attributes=attrs)
            if self.capture_content and span.is_recording():
                span.set_attribute("gen_ai.input.messages", input_messages(call))
        except Exception:  # tracing must never break the call
            logger.warning("llama_azure tracing: could not start a span", exc_info=True)
            return None
        return _CallSpan(self, span, {k: attrs[k] for k in _METRIC_KEYS if k in attrs})

    def _begin(self, call: Any) -> tuple[_CallSpan | None, Any]:
        """The call's span, and the call (a copy) that reports to it: traced either way, so the shell runs the
        copy untraced inside."""
        traced = self._start(call)
        return traced, call.traced(traced or _observe.UNTRACED)

    @contextlib.contextmanager
    def _current(self, traced: _CallSpan) -> Iterator[None]:
        """The call's span is current while it runs (a child of the caller's span; parent of httpx's)."""
        with trace.use_span(traced.span, record_exception=False, set_status_on_exception=False):
            try:
                yield
            except BaseException as error:
                traced.end(None, error)
                raise

    def traced(self, execute: Callable[[Any], R], call: Any) -> R:
        traced, call = self._begin(call)
        if traced is None:
            return execute(call)
        with self._current(traced):
            result = execute(call)
        traced.returned(result)
        return result

    @contextlib.contextmanager
    def tool_span(self, name: str, call_id: str, description: str | None) -> Iterator[_ToolSpan]:
        attrs: Attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
                             "gen_ai.tool.type": "function"}
        if call_id:
            attrs["gen_ai.tool.call.id"] = call_id
        if description:
            attrs["gen_ai.tool.description"] = description
        with self.tracer.start_as_current_span(f"execute_tool {name}", kind=SpanKind.INTERNAL, attributes=attrs,
                                               record_exception=False, set_status_on_exception=False) as span:
            yield _ToolSpan(span, self.capture_content)

    async def traced_async(self, execute: Callable[[Any], Awaitable[R]], call: Any) -> R:
        traced, call = self._begin(call)
        if traced is None:
            return await execute(call)
        with self._current(traced):
            result = await execute(call)
        traced.returned(result)
        return result


class _ToolSpan:
    """The ``execute_tool`` span of one tool call of ``run_tools``."""

    def __init__(self, span: trace.Span, capture_content: bool) -> None:
        self.span = span
        self.capture_content = capture_content

    def failed(self, error: BaseException) -> None:
        self.span.set_attribute("error.type", _observe.error_type(error))
        self.span.set_status(Status(StatusCode.ERROR, type(error).__name__))

    def ended(self, arguments: str, result: str) -> None:
        if self.capture_content and self.span.is_recording():
            self.span.set_attribute("gen_ai.tool.call.arguments", arguments)
            self.span.set_attribute("gen_ai.tool.call.result", result)


class LlamaAzureInstrumentor:
    """Turns tracing of every ``LlamaClient`` / ``AsyncLlamaClient`` call on and off.

    ``LlamaAzureInstrumentor().instrument(tracer_provider=provider, meter_provider=meter_provider)``; without
    arguments the global OpenTelemetry providers are used. Message content is recorded only when
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` when ``instrument()`` is called. Instrumenting
    is process-wide: a second ``instrument()`` replaces the first; ``uninstrument()`` stops tracing new calls.
    """

    def instrument(self, tracer_provider: trace.TracerProvider | None = None,
                   meter_provider: metrics.MeterProvider | None = None) -> None:
        """Trace every call from now on, with these providers (None: the global ones)."""
        tracer = trace.get_tracer("llama_azure", __version__, tracer_provider)
        meter = metrics.get_meter("llama_azure", __version__, meter_provider)
        _observe.observer = _Telemetry(tracer, meter, capture_content_from_env())

    def uninstrument(self) -> None:
        """Stop tracing: calls started from now on make no span and no metric."""
        _observe.observer = None

    @property
    def is_instrumented(self) -> bool:
        """Whether calls are being traced."""
        return _observe.observer is not None
