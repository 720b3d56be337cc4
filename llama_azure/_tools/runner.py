"""``chat.completions.run_tools``: the tool loop, run for you.

Each round asks the model (through the client's ``create``: retries, pacing, failover and tracing apply), runs
the tools it called with validated arguments, and sends the results back; the run ends at the first answer
without tool calls. The last round forbids tools (``tool_choice="none"``), so a run ends with an answer within
``max_rounds``. :class:`ToolLoop` is the sans-IO part both shells share; the shells make the calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import _observe
from .._exceptions import ParameterError, ToolArgumentsError, ToolCallError, UnknownToolError
from ..types.chat import ChatCompletion, ChatCompletionChunk, ChatMessage
from ..types.chat_params import ChatMessageParam, ToolMessageParam
from ..types.tool_calls import ToolCall, ToolCallRecord
from .functions import RunnableTool, output_text, runnable_tools


@dataclass
class ToolRun:
    """What ``run_tools`` returns.

    Attributes:
        final: The last answer (its finish reason is not ``tool_calls`` unless the model called a tool in the
            last round anyway).
        messages: The whole conversation, your messages first, ready to continue (``messages=run.messages``).
        calls: Every tool call executed, in order.
        rounds: How many times the model was asked.
    """

    final: ChatCompletion
    messages: list[ChatMessageParam | ChatMessage]
    calls: list[ToolCallRecord]
    rounds: int

    @property
    def content(self) -> str | None:
        """Shortcut for the final answer's text."""
        return self.final.content


ToolRunEvent = ChatCompletionChunk | ToolCallRecord | ToolRun
"""What a streamed run yields: each round's chunks, a record per tool call as it ends, then the run."""


@dataclass
class PendingCall:
    """A call about to run: its record, and the function to call (None when it already failed)."""

    record: ToolCallRecord
    tool: RunnableTool | None
    run: Callable[[], Any] | None
    started: float = field(default_factory=time.perf_counter)


class ToolLoop:
    """The state of one run, free of I/O: what to ask next, which calls to make, what to send back."""

    def __init__(self, messages: object, tools: object, max_rounds: object, raise_tool_errors: object, stream: object,
                 create_arguments: Mapping[str, Any]) -> None:
        if not isinstance(stream, bool):
            raise ParameterError(f"stream must be True or False, got {stream!r}", param="stream")
        if not isinstance(max_rounds, int) or isinstance(max_rounds, bool) or max_rounds < 1:
            raise ParameterError(f"max_rounds must be an int >= 1 (the last round forbids tools), got {max_rounds!r}",
                                 param="max_rounds")
        if not isinstance(messages, Sequence) or isinstance(messages, (str, bytes)):
            raise ParameterError(f"messages must be a list of messages, got {type(messages).__name__}",
                                 param="messages")
        # tools, stream and messages are run_tools' own parameters, so they never reach create_arguments.
        if "n" in create_arguments:
            raise ParameterError("run_tools reads one choice per round: leave n out", param="n")
        self.stream = stream
        self.tools = runnable_tools(tools)
        self.max_rounds = max_rounds
        self.raise_tool_errors = bool(raise_tool_errors)
        self.arguments = dict(create_arguments)
        self.messages: list[ChatMessageParam | ChatMessage] = list(messages)
        self.calls: list[ToolCallRecord] = []
        self.round = 0
        self.final: ChatCompletion | None = None

    def request(self) -> dict[str, Any]:
        """The next round's ``create`` arguments; the last round forbids tools."""
        arguments = {**self.arguments, "messages": list(self.messages),
                     "tools": [tool.param for tool in self.tools.values()]}
        if self.round == self.max_rounds - 1:
            arguments["tool_choice"] = "none"
            arguments.pop("parallel_tool_calls", None)
        return arguments

    def answered(self, completion: ChatCompletion) -> list[PendingCall]:
        """The round's answer: the calls to make now (none: the run is over)."""
        self.final = completion
        message = completion.choices[0].message if completion.choices else ChatMessage(content="")
        self.messages.append(message)
        this_round, self.round = self.round, self.round + 1
        if not message.tool_calls or self.round >= self.max_rounds:
            return []
        return [self._pending(call, this_round) for call in message.tool_calls]

    def _pending(self, call: ToolCall, round_: int) -> PendingCall:
        record = ToolCallRecord(id=call.id, name=call.function.name, raw_arguments=call.function.arguments,
                                round=round_)
        tool = self.tools.get(call.function.name)
        if tool is None:
            names = ", ".join(self.tools)
            record.error = UnknownToolError(f"the model called {call.function.name!r}, which is not among the tools "
                                            f"({names})"[:300])
            return PendingCall(record, None, None)
        try:
            record.arguments = tool.arguments(call.id, call.function.arguments)
        except ToolArgumentsError as error:
            record.error = error
            return PendingCall(record, tool, None)
        return PendingCall(record, tool, tool.bind(record.arguments))

    def ended(self, pending: PendingCall, result: Any = None, error: BaseException | None = None) -> ToolCallRecord:
        """A call's outcome recorded (``error``: what the function raised)."""
        record = pending.record
        record.duration = time.perf_counter() - pending.started
        if error is not None:
            record.error = error
        elif record.error is None:
            record.result = result
        record.output = output_text(result) if record.error is None else _error_text(record)
        return record

    def sent_back(self, records: Sequence[ToolCallRecord]) -> None:
        """The round's tool messages appended (one per call, in the order of the calls); a failure raised when
        ``raise_tool_errors``."""
        self.calls.extend(records)
        for record in records:
            message: ToolMessageParam = {"role": "tool", "tool_call_id": record.id, "content": record.output}
            self.messages.append(message)
        failed = next((record for record in records if record.error is not None), None)
        if failed is not None and self.raise_tool_errors:
            raise ToolCallError(f"tool call {failed.id!r} to {failed.name!r} failed: {failed.output}"[:500],
                                record=failed, messages=self.messages) from failed.error

    def result(self) -> ToolRun:
        assert self.final is not None
        return ToolRun(final=self.final, messages=self.messages, calls=self.calls, rounds=self.round)


def _error_text(record: ToolCallRecord) -> str:
    """What the model reads about a failed call: enough to correct the arguments or answer without the tool."""
    error = record.error
    if isinstance(error, ToolArgumentsError):
        return f"Error: the arguments are not valid for {record.name}: {error.problems}"
    if isinstance(error, UnknownToolError):
        return f"Error: {error}"
    return f"Error: {record.name} raised {type(error).__name__}: {error}"


@contextlib.contextmanager
def _traced(pending: PendingCall) -> Iterator[_observe.ToolTrace]:
    tool = pending.tool
    with _observe.tool_span(pending.record.name, pending.record.id, tool.description if tool else None) as span:
        yield span
        if pending.record.error is not None:
            span.failed(pending.record.error)
        span.ended(pending.record.raw_arguments, pending.record.output)


def run_call(loop: ToolLoop, pending: PendingCall) -> ToolCallRecord:
    """One call in the sync client: the function runs here (an async one in its own event loop)."""
    with _traced(pending):
        if pending.run is None:
            return loop.ended(pending)
        try:
            result = pending.run()
            if asyncio.iscoroutine(result):
                result = _run_coroutine(result)
        except Exception as error:
            return loop.ended(pending, error=error)
        return loop.ended(pending, result)


def _run_coroutine(coroutine: Any) -> Any:
    """An async tool's coroutine run to its end from sync code: in its own event loop, on a worker thread when
    this thread already runs one (a sync client called from async code)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama-azure-tool") as worker:
        return worker.submit(asyncio.run, coroutine).result()


async def arun_call(loop: ToolLoop, pending: PendingCall) -> ToolCallRecord:
    """One call in the async client: an async function awaited, a sync one in a worker thread."""
    with _traced(pending):
        if pending.run is None:
            return loop.ended(pending)
        try:
            if pending.tool is not None and pending.tool.is_async:
                result = await pending.run()
            else:
                result = await asyncio.to_thread(pending.run)
                if asyncio.iscoroutine(result):
                    result = await result
        except Exception as error:
            return loop.ended(pending, error=error)
        return loop.ended(pending, result)


def run(loop: ToolLoop, create: Callable[..., ChatCompletion]) -> ToolRun:
    while True:
        pending = loop.answered(create(**loop.request()))
        if not pending:
            return loop.result()
        loop.sent_back([run_call(loop, call) for call in pending])


async def arun(loop: ToolLoop, create: Callable[..., Awaitable[ChatCompletion]]) -> ToolRun:
    while True:
        pending = loop.answered(await create(**loop.request()))
        if not pending:
            return loop.result()
        loop.sent_back(await asyncio.gather(*(arun_call(loop, call) for call in pending)))


class ToolRunStream:
    """A streamed run: ``for event in stream`` gives each round's ``ChatCompletionChunk``, a ``ToolCallRecord`` per
    call as it ends, and last the ``ToolRun``; ``until_done()`` reads the rest and returns the run."""

    def __init__(self, loop: ToolLoop, create: Callable[..., Any]) -> None:
        self._events = self._run(loop, create)
        self.run: ToolRun | None = None

    def _run(self, loop: ToolLoop, create: Callable[..., Any]) -> Generator[ToolRunEvent, None, None]:
        while True:
            with create(stream=True, **loop.request()) as stream:
                yield from stream
                pending = loop.answered(stream.until_done())
            if not pending:
                self.run = loop.result()
                yield self.run
                return
            records = []
            for call in pending:
                records.append(run_call(loop, call))
                yield records[-1]
            loop.sent_back(records)

    def __iter__(self) -> Iterator[ToolRunEvent]:
        return self

    def __next__(self) -> ToolRunEvent:
        return next(self._events)

    def until_done(self) -> ToolRun:
        """Read the rest of the run and return it."""
        for _ in self:
            pass
        if self.run is None:
            raise RuntimeError("the run's stream was closed before its end")
        return self.run

    def close(self) -> None:
        """Stop the run: the current round's stream is closed, no more calls are made."""
        self._events.close()


class AsyncToolRunStream:
    """The async streamed run: ``async for event in stream``; ``await stream.until_done()``. A round's calls run
    concurrently; their records come as each call ends."""

    def __init__(self, loop: ToolLoop, create: Callable[..., Awaitable[Any]]) -> None:
        self._events = self._run(loop, create)
        self.run: ToolRun | None = None

    async def _run(self, loop: ToolLoop, create: Callable[..., Awaitable[Any]]
                   ) -> AsyncGenerator[ToolRunEvent, None]:
        while True:
            async with await create(stream=True, **loop.request()) as stream:
                async for chunk in stream:
                    yield chunk
                pending = loop.answered(await stream.until_done())
            if not pending:
                self.run = loop.result()
                yield self.run
                return
            tasks = [asyncio.ensure_future(arun_call(loop, call)) for call in pending]
            try:
                for finished in asyncio.as_completed(tasks):
                    yield await finished
            finally:
                for task in tasks:
                    task.cancel()
            loop.sent_back([task.result() for task in tasks])

    def __aiter__(self) -> AsyncIterator[ToolRunEvent]:
        return self

    async def __anext__(self) -> ToolRunEvent:
        return await self._events.__anext__()

    async def until_done(self) -> ToolRun:
        """Read the rest of the run and return it."""
        async for _ in self:
            pass
        if self.run is None:
            raise RuntimeError("the run's stream was closed before its end")
        return self.run

    async def close(self) -> None:
        """Stop the run: the current round's stream is closed, no more calls are made."""
        await self._events.aclose()
