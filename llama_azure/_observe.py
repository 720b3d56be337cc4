"""The hook tracing plugs into, free of OpenTelemetry: both shells check one module attribute per call.

``observer`` stays None until ``llama_azure.tracing.LlamaAzureInstrumentor().instrument()`` sets it, so an
uninstrumented call pays one ``is not None`` test. While a call is traced, ``PreparedCall.trace`` holds its
:class:`CallTrace`: the retry loop reports each retry to it, a stream reports its end, and client-side pacing
can report a quota wait with :func:`report_quota_wait`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol, TypeVar

R = TypeVar("R")
C = TypeVar("C")  # the call (a ``PreparedCall``; not imported: ``_call`` imports this module)


class CallTrace(Protocol):
    """What one traced call is told while it runs."""

    def retried(self, attempt: int, error: BaseException | None, wait: float) -> None:
        """Attempt ``attempt`` failed with ``error``; the next one starts after ``wait`` seconds."""

    def quota_waited(self, seconds: float, reason: str) -> None:
        """The call waited ``seconds`` before sending, for client-side quota (``reason`` says which)."""

    def answered_by(self, host: str, port: int) -> None:
        """With ``deployments=``: the call was answered by this deployment (``server.address``, ``server.port``)."""

    def stream_ended(self, stream: Any, error: BaseException | None) -> None:
        """The call's stream was closed: read to its end, left early, or broken off by ``error``."""


class ToolTrace(Protocol):
    """What one traced tool call (``run_tools``) is told."""

    def failed(self, error: BaseException) -> None:
        """The call failed (invalid arguments, an unknown tool, or the function raised ``error``)."""

    def ended(self, arguments: str, result: str) -> None:
        """The call's arguments and the text sent back (recorded only when content capture is on)."""


class CallObserver(Protocol):
    """Runs a client's ``_execute`` inside a trace (``llama_azure.tracing`` provides the one in use)."""

    def tool_span(self, name: str, call_id: str, description: str | None) -> AbstractContextManager[ToolTrace]:
        """An ``execute_tool`` span, current while the tool runs."""

    def traced(self, execute: Callable[[C], R], call: C) -> R: ...

    async def traced_async(self, execute: Callable[[C], Awaitable[R]], call: C) -> R: ...


observer: CallObserver | None = None


class _Untraced:
    """The ``trace`` of a call the observer chose not to trace (``get_model_info``): every report is dropped."""

    def retried(self, attempt: int, error: BaseException | None, wait: float) -> None:
        return None

    def quota_waited(self, seconds: float, reason: str) -> None:
        return None

    def answered_by(self, host: str, port: int) -> None:
        return None

    def stream_ended(self, stream: Any, error: BaseException | None) -> None:
        return None


UNTRACED: CallTrace = _Untraced()


class _UntracedTool:
    def failed(self, error: BaseException) -> None:
        return None

    def ended(self, arguments: str, result: str) -> None:
        return None


def tool_span(name: str, call_id: str, description: str | None) -> AbstractContextManager[ToolTrace]:
    """The ``execute_tool`` span of one tool call when tracing is on; a no-op otherwise."""
    if observer is None:
        return nullcontext(_UntracedTool())
    return observer.tool_span(name, call_id, description)


def error_type(error: BaseException | None) -> str:
    """A low-cardinality name for a failure: the HTTP status of an error answer (``"429"``), else the class name."""
    if error is None:
        return "_OTHER"
    status = getattr(error, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool):
        return str(status)
    return type(error).__name__


class Traceable(Protocol):
    """A call that may be traced (a ``PreparedCall``)."""

    @property
    def trace(self) -> CallTrace | None: ...


def report_quota_wait(call: Traceable, seconds: float, reason: str) -> None:
    """For client-side pacing: ``call`` waited ``seconds`` for quota before sending (a span event when traced).

    ``reason`` is short and low-cardinality, e.g. ``"tokens per minute"``; it must not hold a secret.
    """
    trace = call.trace
    if trace is not None:
        trace.quota_waited(seconds, reason)
