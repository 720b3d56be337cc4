"""Streams of typed chunks: one sans-IO core (bytes in, chunks out) and two thin shells.

``Stream`` / ``AsyncStream`` are their own iterators (as a file object, or openai-python's streams): a
loop left with ``break`` and started again, or ``next(stream)`` then ``for``, goes on where the last read
stopped. They are closed by ``close()``, by leaving ``with``, at their end, on a failed or cancelled read,
or when dropped; never by an abandoned loop. After ``[DONE]`` the rest of the body (the chunked
terminator) is read, briefly and within a few KiB, so the connection goes back to the pool for the next
call; a stream closed before its end closes the response at once, and the connection with it.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import httpx

from .._error_body import parse_error_body
from .._exceptions import (
    APIConnectionError,
    APITimeoutError,
    ResponseTooLargeError,
    request_id_of,
    status_error_from_info,
)
from .._http.timeouts import CallTimer
from .._observe import CallTrace
from .body import DEFAULT_MAX_RESPONSE_BYTES, BodyCollector, SlicedDecoder
from .sse import ServerSentEvent, SSEDecoder, SSEProtocolError

if TYPE_CHECKING:  # asyncio and the pydantic models load at first use, not at import
    import asyncio

    from ..types.chat import ChatCompletion, ChatCompletionChunk
    from ..types.completion import Completion

ChunkT = TypeVar("ChunkT", "ChatCompletionChunk", "Completion")
ResultT = TypeVar("ResultT", bound="ChatCompletion | Completion")
T = TypeVar("T")
# After [DONE]: how much of the rest of the body is read (the chunked terminator is 5 bytes), and for how
# long, so the connection can be reused; past either the connection is closed instead.
DRAIN_MAX_BYTES = 64 * 1024
DRAIN_SECONDS = 0.5
# Compressed bytes of a stream decoded at once: one network read of a gzip "bomb" is fed to the stream in
# pieces of at most about 1 MiB (zlib's worst ratio is ~1032:1), so what one read holds stays small.
STREAM_SLICE = 1024
_NO_EVENTS: list[ServerSentEvent] = []  # never appended to


def _is_done(data: str) -> bool:
    return data.startswith("[DONE]") and not data[6:].strip()  # "[DONE]  " too


def _json_validator(model: type[ChunkT]) -> Callable[[str], ChunkT]:
    """What ``model.model_validate_json`` calls, without its Python frame per chunk (the models are built
    at first use: ``defer_build``)."""
    if not model.__pydantic_complete__:
        model.model_rebuild()
    return model.__pydantic_validator__.validate_json


class StreamCore(Generic[ChunkT]):
    """Decode SSE bytes into typed chunks, spot the end and errors, fold the final result."""

    def __init__(
        self, response: httpx.Response, chunk_type: type[ChunkT], where: str, timer: CallTimer | None = None,
        on_usage: Callable[[Any], None] | None = None, max_kept: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.response = response
        # Pacing: told, once, at the end, of the accumulator (its ``usage``: the last the stream sent).
        self._on_usage = on_usage
        self.timer = timer or CallTimer()
        self.timer.stream_opened()
        self._decoder = SSEDecoder()
        self._parse: Callable[[str], ChunkT] = _json_validator(chunk_type)
        self._request_id = request_id_of(response.headers)
        from ..types.chat import ChatCompletionChunk
        from .accumulate import ChatAccumulator, CompletionAccumulator

        # What the fold keeps for until_done() is capped (``max_kept``: the client's max_response_bytes).
        self.accumulator = (ChatAccumulator(max_kept) if chunk_type is ChatCompletionChunk
                            else CompletionAccumulator(max_kept))
        self._fold: Callable[[Any, int], None] = self.accumulator.add
        self.done = False
        self._where = where
        self._events: list[ServerSentEvent] = _NO_EVENTS  # the piece fed last, parsed chunk by chunk
        self._next = 0  # its next event
        self._fed = False
        self._fresh = False
        self._drain_until: float | None = None
        self._drained = 0

    def feed(self, data: bytes) -> list[ChunkT]:
        """Decode the next piece of the body and parse all its chunks at once."""
        self.load(data)
        return self.take_all()

    def load(self, data: bytes) -> None:
        """Decode the next piece of the body; its chunks then come one at a time from ``next_chunk()``.

        Parsed as they are handed out, a piece's chunks (about 450 in a 64 KiB read) are not all alive at
        once: the garbage collector would scan and promote them all, a third of a chunk's cost."""
        try:
            events = self._decoder.feed(data)
        except SSEProtocolError as error:
            if error.limit:
                raise ResponseTooLargeError(f"the stream from {self._where}: {error}; the answer is incomplete",
                                            limit=error.limit) from None
            raise APIConnectionError(f"malformed event stream from {self._where}: {error}") from None
        self._events = events
        self._next = 0
        self._fed = True  # the clocks are checked once the piece runs out
        self._fresh = True  # no chunk of this piece parsed yet

    def next_chunk(self) -> ChunkT | None:
        """The next chunk of the piece fed last, parsed now; None when the piece has no more, or at [DONE]
        (``done`` is set as the chunk just before [DONE] is handed out, so the stream can end first)."""
        events = self._events
        index = self._next
        count = len(events)
        if index >= count:
            if self._fed:  # the piece ran out: as at the end of a read, the clocks are checked
                self._fed = False
                self._events = _NO_EVENTS
                if not self.done:
                    self.timer.check(f"the stream from {self._where}")
            return None
        data = events[index].data
        if index == 0 and _is_done(data):  # later events were looked at ahead, below
            self._reach_done()
            return None
        self._next = index + 1
        if '"error"' in data:
            self._raise_if_error(data)
        try:
            chunk = self._parse(data)
        except ValueError as error:
            raise APIConnectionError(
                f"the stream from {self._where} sent an event that is not a valid chunk: "
                f"{str(error).splitlines()[0]} (data: {data[:200]!r})"
            ) from None
        chunk.__dict__["_request_id"] = self._request_id  # what ResultModel.__setattr__ does, without the call
        self._fold(chunk, len(data))
        if self._fresh:
            self._fresh = False
            self.timer.got_chunk()  # only parsed chunks reset the idle clock, not comments or keep-alives
        index += 1
        if index < count:
            following = events[index].data
            if following.startswith("[DONE]") and not following[6:].strip():  # _is_done, inlined: per chunk
                self._reach_done()
        return chunk

    def take_all(self) -> list[ChunkT]:
        """The rest of the piece fed last, parsed at once."""
        chunks: list[ChunkT] = []
        chunk = self.next_chunk()
        while chunk is not None:
            chunks.append(chunk)
            chunk = self.next_chunk()
        return chunks

    def discard(self) -> None:
        """The stream closed: the chunks of the piece fed last are not handed out."""
        self._events = _NO_EVENTS
        self._fed = False

    def _reach_done(self) -> None:
        self.done = True
        self._events = _NO_EVENTS
        self._fed = False
        self._settle()

    def read_budget(self) -> float | None:
        """How long the shell may wait for the next bytes (None: no limit of ours)."""
        budget = self.timer.read_budget()
        if self._drain_until is None:
            return budget
        left = max(self._drain_until - time.monotonic(), 0.0)
        return left if budget is None else min(budget, left)

    def start_drain(self) -> None:
        """After [DONE]: the rest of the body is read within ``DRAIN_SECONDS`` and ``DRAIN_MAX_BYTES``."""
        self._drain_until = time.monotonic() + DRAIN_SECONDS

    def keep_draining(self, data: bytes) -> bool:
        """Count bytes read after [DONE] (ignored); False once the drain is over its byte or time budget."""
        self._drained += len(data)
        return self._drained <= DRAIN_MAX_BYTES and (self.read_budget() or 0.0) > 0

    def timeout_error(self, error: Exception | None = None) -> APITimeoutError:
        """The error for a read that timed out: which of our limits fired, else httpx's own timeout."""
        fallback = APITimeoutError(
            f"the stream from {self._where} timed out"
            + (f": {type(error).__name__} (the per-read timeout)" if error is not None else "")
        )
        return self.timer.expired_or(f"the stream from {self._where}", fallback)

    def broke_off(self, error: httpx.HTTPError) -> APIConnectionError:
        """The error for a transport failure mid-stream (reset, truncated chunked body, ...)."""
        return APIConnectionError(
            f"the stream from {self._where} broke off: {type(error).__name__}: {error}; the answer is incomplete"
        )

    def read_failed(self, error: httpx.HTTPError) -> APITimeoutError | APIConnectionError:
        """The error for a read of the body that httpx failed: a time-out (``timeout_error``), else a break."""
        if isinstance(error, httpx.TimeoutException):
            return self.timeout_error(error)
        return self.broke_off(error)

    def finish(self) -> list[ChunkT]:
        """At end of body: the last chunks, or an error if the stream was cut short."""
        chunks: list[ChunkT] = []
        if not self.done:
            self._events = self._decoder.flush()
            self._next = 0
            self._fresh = False
            chunks = self.take_all()
            self._events = _NO_EVENTS
        if not self.done and not self.accumulator.finished:
            raise APIConnectionError(
                f"the stream from {self._where} ended before [DONE] and before a finish_reason: "
                f"the answer is incomplete (connection dropped or server stopped)"
            )
        self.done = True
        self._settle()
        return chunks

    def _settle(self) -> None:
        """At the end: the last ``usage`` seen goes to pacing, once (a gateway may send running totals)."""
        on_usage, self._on_usage = self._on_usage, None
        if on_usage is not None and self.accumulator.usage is not None:
            on_usage(self.accumulator)

    def _raise_if_error(self, data: str) -> None:
        try:
            payload = json.loads(data)
        except (ValueError, RecursionError):  # not JSON, or nested too deep: parsed as a chunk, and refused there
            return
        if isinstance(payload, dict) and "error" in payload and "choices" not in payload:
            info = parse_error_body(payload)
            status = info.status or (400 if info.code == "content_filter" else 500)
            raise status_error_from_info(
                self.response, info, payload, where=f"{self._where} (inside the stream)", status_code=status
            )


def _clamp_socket_reads(response: httpx.Response, budget: Callable[[], float | None]) -> Callable[[], None]:
    """Make each socket read of this response block at most ``budget()`` seconds; returns an undo.

    httpcore reads the read timeout once per body, so a changing limit (time left of the total, or
    of the idle timeout) is applied at the socket. Without a reachable socket stream (a custom
    transport), the limits are still checked after each read.
    """
    stream = response.extensions.get("network_stream")
    read = getattr(stream, "read", None)
    if stream is None or read is None:
        return _noop
    # The connection may go back to the pool (a finished body) before the undo: another thread's
    # request on it must not get this call's limits.
    owner = threading.get_ident()

    def clamped_read(max_bytes: int, timeout: float | None = None) -> bytes:
        left = budget() if threading.get_ident() == owner else None
        if left is not None:
            left = max(left, 0.001)  # 0 would make the socket non-blocking
            timeout = left if timeout is None else min(timeout, left)
        return read(max_bytes, timeout)  # type: ignore[no-any-return]

    try:
        stream.read = clamped_read
    except AttributeError:
        return _noop

    def restore() -> None:
        if vars(stream).get("read") is clamped_read:  # not another call's clamp set since
            del vars(stream)["read"]

    return restore


def _noop() -> None:
    return None


_closing: set[asyncio.Task[None]] = set()  # strong references until the closes finish


def _close_later(response: httpx.Response) -> None:
    import asyncio

    task = asyncio.get_running_loop().create_task(response.aclose())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def read_body(response: httpx.Response, timer: CallTimer, where: str,
              limit: int = DEFAULT_MAX_RESPONSE_BYTES) -> bytes:
    """Read a whole (non-stream) body of at most ``limit`` decoded bytes, each socket read cut to the
    time left of ``total_timeout``."""
    # Without either limit the budget is always None: the socket's reads are left as they are.
    limited = timer.total_timeout is not None or timer.idle_timeout is not None
    restore = _clamp_socket_reads(response, timer.read_budget) if limited else _noop
    try:
        collector = BodyCollector(response, limit, where)
        if response.is_stream_consumed:
            return collector.whole(response.content)
        for raw in response.iter_raw():
            collector.feed(raw)
        return collector.finish()
    finally:
        restore()


async def aread_body(response: httpx.Response, timer: CallTimer, where: str,
                     limit: int = DEFAULT_MAX_RESPONSE_BYTES) -> bytes:
    """Read a whole (non-stream) body of at most ``limit`` decoded bytes within the time left of
    ``total_timeout``."""
    collector = BodyCollector(response, limit, where)

    async def collect() -> bytes:
        if response.is_stream_consumed:
            return collector.whole(response.content)
        async for raw in response.aiter_raw():
            collector.feed(raw)
        return collector.finish()

    left = timer.remaining()
    if left is None:
        return await collect()
    try:
        return await _within(collect(), max(left, 0.0))
    except TimeoutError:
        raise timer.expired_or(where, APITimeoutError(f"{where} timed out reading the answer")) from None


async def _next_within(iterator: AsyncIterator[bytes], budget: float | None) -> bytes:
    """The next bytes, or ``TimeoutError`` after ``budget`` seconds (None: wait as long as httpx does)."""
    if budget is None:
        return await iterator.__anext__()
    return await _within(iterator.__anext__(), budget)


async def _within(awaitable: Awaitable[T], seconds: float) -> T:
    import asyncio

    timeout_cm: Any = getattr(asyncio, "timeout", None)  # Python >= 3.11
    if timeout_cm is not None:
        async with timeout_cm(seconds):
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)  # pragma: no cover - Python 3.10


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an async generator that yields nothing


def _running_loop() -> asyncio.AbstractEventLoop | None:
    # Without asyncio loaded no loop can run: a sync stream does not import it.
    module = sys.modules.get("asyncio")
    try:
        return None if module is None else module.get_running_loop()
    except RuntimeError:
        return None


class _StreamBase(Generic[ChunkT, ResultT]):
    _trace: CallTrace | None = None  # set by tracing; told when the stream closes
    _deployment: Any = None  # with deployments=: the Deployment that answered
    _tail: Iterator[ChunkT] = iter(())  # the last chunks, parsed at the end of the body, not yet handed out
    _pieces: Iterator[bytes] = iter(())  # decoded pieces of the last network read not yet fed
    _decoder: SlicedDecoder | None = None  # from the first read on

    def __init__(
        self,
        response: httpx.Response,
        chunk_type: type[ChunkT],
        *,
        where: str,
        timer: CallTimer | None = None,
        finish: Callable[[Any], Any] | None = None,
        on_usage: Callable[[Any], None] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.response = response
        self._finish = finish  # parse(): reads the folded reply into the model
        self._core: StreamCore[ChunkT] = StreamCore(response, chunk_type, where, timer or CallTimer(),
                                                    on_usage=on_usage, max_kept=max_response_bytes)
        self._where = where
        self._closed = False
        self._loop = _running_loop()  # an async stream's loop, for a close after it is dropped unread

    @property
    def request_id(self) -> str | None:
        """The service's id for this stream's response."""
        return request_id_of(self.response.headers)

    @property
    def deployment(self) -> Any:
        """With ``LlamaClient(deployments=[...])``: the ``Deployment`` that answered; else None."""
        return self._deployment

    def _check_readable(self) -> bool:
        """False when the stream already ended; an error when it was closed before its end."""
        if self._core.done:
            return False
        if self._closed:
            raise APIConnectionError(
                f"the stream from {self._where} was closed before its end: the answer is incomplete"
            )
        return True

    def _decoded_body(self) -> bool:
        """Start decoding the body; True when httpx has read it already (a response built in memory), which
        is then the one decoded piece."""
        response = self.response
        if response.is_stream_consumed:
            self._decoder = SlicedDecoder(response, decoded=True)
            self._pieces = iter((response.content,))
            return True
        self._decoder = SlicedDecoder(response, STREAM_SLICE)
        return False

    def _next_piece(self, raw: bytes | None = None) -> bytes | None:
        """The next decoded piece: one left from the last network read, else the first of ``raw``'s."""
        if raw is not None:
            assert self._decoder is not None
            self._pieces = self._decoder.decode(raw)
        return next(self._pieces, None)

    def _feed(self, piece: bytes | None) -> bool:
        """``piece`` to the core; None (the body ended): the last chunks. True when the stream is to close."""
        if piece is not None:
            self._core.load(piece)
            return False
        self._last_chunks()
        return True

    def _last_chunks(self) -> None:
        """At the end of the body: the decoder's last bytes, then the core's end (an error if cut short),
        parsed at once so that a stream cut short fails before its last chunks, as it ends before them."""
        assert self._decoder is not None
        tail = self._decoder.flush()
        chunks: list[ChunkT] = []
        if tail:
            chunks = self._core.feed(tail)
        self._tail = iter(chunks + self._core.finish())

    def _result(self) -> ResultT:
        accumulator = self._core.accumulator
        if accumulator.dropped:
            raise ResponseTooLargeError(
                f"the stream from {self._where} carried more than max_response_bytes={accumulator.limit} "
                f"(decoded text kept for the whole reply): its chunks were all read, but the whole reply was "
                f"let go past the cap. Use the chunks as they come, or raise max_response_bytes= on the client",
                limit=accumulator.limit,
            )
        result = accumulator.result()
        return cast(ResultT, result if self._finish is None else self._finish(result))

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {state} from {self._where}>"


class Stream(_StreamBase[ChunkT, ResultT]):
    """A sync stream of chunks, its own iterator: ``next(stream)``, ``for chunk in stream``, ``with stream:``,
    ``stream.close()``. A loop left early (``break``) and started again goes on where it stopped."""

    _raw: Iterator[bytes] | None = None  # the body's raw (still encoded) bytes, from the first read on
    _restore: Callable[[], None] | None = None  # undoes the socket clamp of the first read

    def __iter__(self) -> Stream[ChunkT, ResultT]:
        return self

    def __next__(self) -> ChunkT:
        core = self._core
        while True:
            try:
                chunk = core.next_chunk()
            except BaseException as error:  # a bad chunk leaves the stream unusable: release it now
                self._close(error)
                raise
            if chunk is not None:
                if core.done:  # [DONE] follows: the stream ends (and its connection is free) first
                    self._end()
                return chunk
            if core.done:
                self._end()
            chunk = next(self._tail, None)
            if chunk is not None:
                return chunk
            if not self._check_readable():
                raise StopIteration
            self._read()

    def _read(self) -> None:
        """Feed the next decoded piece of the body to the core; at its end the stream closes itself."""
        try:
            try:
                raw_chunks = self._raw if self._raw is not None else self._open()
                piece = self._next_piece()
                while piece is None and (raw := next(raw_chunks, None)) is not None:
                    piece = self._next_piece(raw)
                ended = self._feed(piece)
            except httpx.HTTPError as error:
                raise self._core.read_failed(error) from error
        except BaseException as error:  # a failed read leaves the body unusable: release it now
            self._close(error)
            raise
        if ended:
            self._close(None)

    def _end(self) -> None:
        """At [DONE]: read the rest of the body so the connection is reused, then close."""
        if self._closed:
            return
        try:
            assert self._raw is not None
            self._drain(self._raw)
        except BaseException as error:
            self._close(error)
            raise
        self._close(None)

    def _open(self) -> Iterator[bytes]:
        self._restore = _clamp_socket_reads(self.response, self._core.read_budget)
        self._raw = iter(()) if self._decoded_body() else self.response.iter_raw()
        return self._raw

    def _drain(self, raw_chunks: Iterator[bytes]) -> None:
        """Read what follows [DONE] so the connection is reused; on any trouble it is just closed."""
        self._core.start_drain()
        with contextlib.suppress(httpx.HTTPError):
            for raw in raw_chunks:
                if not self._core.keep_draining(raw):
                    break

    def until_done(self) -> ResultT:
        """Read the rest of the stream and return the whole reply (text, finish reason, usage)."""
        for _ in self:
            pass
        return self._result()

    def close(self) -> None:
        """Release the connection; safe to call twice."""
        self._close(None)

    def _close(self, error: BaseException | None) -> None:
        if not self._closed:
            self._closed = True
            self._core.discard()
            if self._restore is not None:
                self._restore()
            self.response.close()
            if self._trace is not None:  # the error, if any, that is ending the stream
                self._trace.stream_ended(self, error)

    def __del__(self) -> None:
        # A stream dropped without being read to its end or closed would pin its pooled connection for
        # good. Closing a sync response needs no event loop, so it is safe here.
        if not getattr(self, "_closed", True):
            with contextlib.suppress(Exception):
                self.close()

    def __enter__(self) -> Stream[ChunkT, ResultT]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncStream(_StreamBase[ChunkT, ResultT]):
    """An async stream, its own iterator: ``await anext(stream)``, ``async for chunk in stream``,
    ``async with stream:``, ``await stream.close()``. A loop left early and started again goes on."""

    _raw: AsyncGenerator[bytes, None] | None = None  # the body's raw (still encoded) bytes, from the first read on

    def __del__(self) -> None:
        # Dropped without being read to its end or closed: hand the close to the stream's own loop if it
        # still runs (never touch a closed loop: that is the "Event loop is closed" trap); otherwise the
        # loop, and with it the pool, is gone already.
        loop = getattr(self, "_loop", None)
        if self._trace is not None and not getattr(self, "_closed", True):
            self._trace.stream_ended(self, None)
        if getattr(self, "_closed", True) or loop is None or loop.is_closed():
            return
        self._closed = True
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_close_later, self.response)

    def __aiter__(self) -> AsyncStream[ChunkT, ResultT]:
        return self

    async def __anext__(self) -> ChunkT:
        core = self._core
        while True:
            try:
                chunk = core.next_chunk()
            except BaseException as error:  # a bad chunk leaves the stream unusable: release it now
                await self._close(error)
                raise
            if chunk is not None:
                if core.done:  # [DONE] follows: the stream ends (and its connection is free) first
                    await self._end()
                return chunk
            if core.done:
                await self._end()
            chunk = next(self._tail, None)
            if chunk is not None:
                return chunk
            if not self._check_readable():
                raise StopAsyncIteration
            await self._read()

    async def _read(self) -> None:
        """Feed the next decoded piece of the body to the core; at its end the stream closes itself."""
        try:
            try:
                raw_chunks = self._raw if self._raw is not None else self._open()
                piece = self._next_piece()
                while piece is None and (raw := await self._next_raw(raw_chunks)) is not None:
                    piece = self._next_piece(raw)
                ended = self._feed(piece)
            except httpx.HTTPError as error:
                raise self._core.read_failed(error) from error
        except BaseException as error:  # a failed or cancelled read leaves the body unusable: release it
            await self._close(error)
            raise
        if ended:
            await self._close(None)

    def _open(self) -> AsyncGenerator[bytes, None]:
        self._raw = cast(AsyncGenerator[bytes, None], _nothing() if self._decoded_body() else self.response.aiter_raw())
        return self._raw

    async def _next_raw(self, raw_chunks: AsyncIterator[bytes]) -> bytes | None:
        """The body's next raw bytes within the core's read budget; None at its end."""
        try:
            return await _next_within(raw_chunks, self._core.read_budget())
        except StopAsyncIteration:
            return None
        except TimeoutError:
            raise self._core.timeout_error() from None

    async def _end(self) -> None:
        """At [DONE]: read the rest of the body so the connection is reused, then close."""
        if self._closed:
            return
        try:
            assert self._raw is not None
            await self._drain(self._raw)
        except BaseException as error:
            await self._close(error)
            raise
        await self._close(None)

    async def _drain(self, raw_chunks: AsyncIterator[bytes]) -> None:
        """Read what follows [DONE] so the connection is reused; on any trouble it is just closed."""
        self._core.start_drain()
        with contextlib.suppress(httpx.HTTPError, TimeoutError, StopAsyncIteration):
            while self._core.keep_draining(await _next_within(raw_chunks, self._core.read_budget())):
                pass

    async def until_done(self) -> ResultT:
        """Read the rest of the stream and return the whole reply (text, finish reason, usage)."""
        async for _ in self:
            pass
        return self._result()

    async def close(self) -> None:
        """Release the connection; safe to call twice."""
        await self._close(None)

    async def _close(self, error: BaseException | None) -> None:
        if not self._closed:
            self._closed = True
            self._core.discard()
            raw_chunks, self._raw = self._raw, None
            try:
                if raw_chunks is not None:
                    await raw_chunks.aclose()
            finally:
                await self.response.aclose()
                if self._trace is not None:
                    self._trace.stream_ended(self, error)

    async def __aenter__(self) -> AsyncStream[ChunkT, ResultT]:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
