"""Incremental, sans-IO decoder for Server-Sent Events (``text/event-stream``).

Bytes go in (split anywhere), events come out.  Follows the WHATWG "event stream" parsing rules:

* lines end in CRLF, LF or CR; a CR at the end of one chunk and an LF at the start of the next are
  one line end;
* a leading UTF-8 byte order mark at the start of the stream is dropped;
* lines starting with ``:`` are comments; ``field: value`` has one optional space after the colon
  stripped; a line without a colon is a field with an empty value; unknown fields are ignored;
* ``data`` lines accumulate (joined with ``"\\n"``), ``event`` sets the type, ``id`` sets the last event
  id (ignored if it contains NUL), ``retry`` sets the reconnection time (ASCII digits only);
* a blank line dispatches the event, unless no ``data`` line was seen, in which case nothing is
  dispatched (``retry``/``id`` are still recorded).

Text is decoded as UTF-8 per complete line, so multibyte characters split across chunks are fine;
invalid bytes become U+FFFD and never raise.  Memory is bounded: one line may hold at most
``max_line_bytes`` and one event's data at most ``max_event_bytes`` (counted in characters, which is
bytes for the ASCII JSON of chunks); past either the decoder raises :class:`SSEProtocolError`.
Unlike a browser, :meth:`SSEDecoder.flush` dispatches a pending event that was not terminated by a
blank line (some servers end with ``data: [DONE]`` only).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["MAX_EVENT_BYTES", "MAX_LINE_BYTES", "SSEDecoder", "SSEProtocolError", "ServerSentEvent"]

#: Longest line (in bytes, without its line end) the decoder accepts before raising.
MAX_LINE_BYTES = 16 * 1024 * 1024
#: Largest data of one event (all its ``data:`` lines together) before the decoder raises.
MAX_EVENT_BYTES = 16 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_MAX_RETRY_DIGITS = 64


class ServerSentEvent(NamedTuple):
    """One dispatched event (immutable; a named tuple: made once per streamed chunk, so as cheap as can be).

    ``data`` is the data lines joined with ``"\\n"``.  ``event`` is ``None`` when no (or an empty)
    ``event:`` field was given (the spec's default type ``"message"``).  ``id`` is the decoder's last
    event id at dispatch time (it persists across events, as in the spec; ``None`` if never set).
    ``retry`` is the valid ``retry:`` value carried by this event's own lines, if any.
    """

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None


# Makes a ServerSentEvent from a tuple of its four fields without the named tuple's Python-level __new__.
_new_event = tuple.__new__


class SSEProtocolError(ValueError):
    """The stream violates a limit of the decoder (a line or one event's data above its size limit).

    ``events`` holds the events decoded from the same chunk before the error was detected; ``limit`` is
    the size limit that was passed.
    """

    def __init__(self, message: str, events: list[ServerSentEvent] | None = None, limit: int = 0) -> None:
        super().__init__(message)
        self.events: list[ServerSentEvent] = events if events is not None else []
        self.limit = limit


class SSEDecoder:
    """Incremental SSE decoder: call :meth:`feed` with each received chunk, :meth:`flush` at the end.

    After :meth:`flush` the decoder is ready for a new stream (e.g. after a reconnect);
    :attr:`last_event_id` and :attr:`retry` are kept across streams.
    """

    __slots__ = (
        "_data",
        "_data_len",
        "_event",
        "_event_retry",
        "_id_buffer",
        "_last_event_id",
        "_max_event",
        "_max_line",
        "_partial",
        "_partial_len",
        "_retry",
        "_skip_lf",
        "_started",
    )

    def __init__(self, *, max_line_bytes: int = MAX_LINE_BYTES, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._max_line = max_line_bytes
        self._max_event = max_event_bytes
        # Incomplete trailing line: pieces of bytes, joined only once the line ends.
        self._partial: list[bytes] = []
        self._partial_len = 0
        # Previous chunk ended in CR: an LF at the start of the next chunk belongs to that line end.
        self._skip_lf = False
        # False until the first bytes (and a possible BOM) have been seen.
        self._started = False
        # Event being assembled.
        self._data: list[str] = []
        self._data_len = 0  # characters held in _data, with the joining newlines
        self._event: str | None = None
        self._event_retry: int | None = None
        self._id_buffer: str | None = None
        # Connection-level state.
        self._last_event_id: str | None = None
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str | None:
        """The last event id of a dispatched event block (as for a ``Last-Event-ID`` header)."""
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The last valid ``retry:`` value seen, in milliseconds."""
        return self._retry

    # ------------------------------------------------------------------ feeding

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode ``chunk`` (any part of the byte stream) and return the events it completed."""
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
                if not chunk:
                    return []
        if not self._started:
            if self._partial:
                chunk = b"".join(self._partial) + chunk
                self._partial.clear()
                self._partial_len = 0
            if len(chunk) < 3 and _BOM.startswith(chunk):
                # Could still become a BOM: wait for more bytes.
                self._partial.append(chunk)
                self._partial_len = len(chunk)
                return []
            self._started = True
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
                if not chunk:
                    return []

        has_cr = b"\r" in chunk
        end = max(chunk.rfind(b"\n"), chunk.rfind(b"\r")) if has_cr else chunk.rfind(b"\n")
        if end < 0:
            # No line end: the line continues.
            self._partial.append(chunk)
            self._partial_len += len(chunk)
            if self._partial_len > self._max_line:
                self._discard_partial()
                raise SSEProtocolError(f"SSE line longer than {self._max_line} bytes", limit=self._max_line)
            return []

        if self._partial:
            self._partial.append(chunk[: end + 1])
            block = b"".join(self._partial)
            self._partial.clear()
            self._partial_len = 0
        else:
            block = chunk[: end + 1] if end + 1 < len(chunk) else chunk
        rest = chunk[end + 1 :]

        if has_cr:
            # A CR ending the chunk ends a line; an LF starting the next chunk must not end another.
            self._skip_lf = not rest and block[-1] == 0x0D
            block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

        if len(block) > self._max_line:
            self._check_line_lengths(block)
        # The block ends with "\n": the last element of the split is the empty tail, dropped.
        lines = block.decode("utf-8", "replace").split("\n")
        lines.pop()
        events = self._process(lines)

        if rest:
            self._partial.append(rest)
            self._partial_len = len(rest)
            if self._partial_len > self._max_line:
                self._discard_partial()
                raise SSEProtocolError(f"SSE line longer than {self._max_line} bytes", events, self._max_line)
        return events

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: process a trailing partial line and dispatch a pending event.

        Resets the per-stream state so the decoder can be reused for a new stream.
        """
        events: list[ServerSentEvent] = []
        if self._partial:
            tail = b"".join(self._partial)
            self._discard_partial()
            events = self._process([tail.decode("utf-8", "replace"), ""])
        else:
            events = self._process([""])
        self._skip_lf = False
        self._started = False
        return events

    # ------------------------------------------------------------------ internals

    def _discard_partial(self) -> None:
        self._partial.clear()
        self._partial_len = 0

    def _check_line_lengths(self, block: bytes) -> None:
        """Raise if a line of ``block`` is too long, after processing the lines before it."""
        limit = self._max_line
        byte_lines = block.split(b"\n")
        for index, line in enumerate(byte_lines):
            if len(line) > limit:
                self._discard_partial()
                events = self._process([b.decode("utf-8", "replace") for b in byte_lines[:index]])
                raise SSEProtocolError(f"SSE line longer than {limit} bytes", events, limit)

    def _event_too_large(self, events: list[ServerSentEvent]) -> None:
        """Drop the event being assembled (freeing its memory) and raise."""
        self._data = []
        self._data_len = 0
        self._discard_partial()
        raise SSEProtocolError(
            f"one SSE event is larger than {self._max_event} bytes (the limit for all data: lines of one event)",
            events, self._max_event)

    def _process(self, lines: list[str]) -> list[ServerSentEvent]:
        """Interpret complete lines (without their line ends); return dispatched events."""
        events: list[ServerSentEvent] = []
        append_event = events.append
        data = self._data
        for line in lines:
            # Hot path: the blank line that dispatches an event (tested first: the cheapest test), a data line.
            if not line:
                self._last_event_id = self._id_buffer
                if data:
                    append_event(
                        _new_event(
                            ServerSentEvent,
                            (data[0] if len(data) == 1 else "\n".join(data), self._event, self._id_buffer,
                             self._event_retry),
                        )
                    )
                    data.clear()  # the event holds its own string
                    self._data_len = 0
                self._event = None
                self._event_retry = None
            elif line.startswith("data:"):
                value = line[6:] if line[5:6] == " " else line[5:]
                data.append(value)
                self._data_len += len(value) + 1
                if self._data_len > self._max_event:
                    self._event_too_large(events)
            elif line[0] == ":":
                continue
            else:
                colon = line.find(":")
                if colon < 0:
                    field, value = line, ""
                else:
                    field = line[:colon]
                    value = line[colon + 2 :] if line.startswith(" ", colon + 1) else line[colon + 1 :]
                if field == "data":
                    data.append(value)
                    self._data_len += len(value) + 1
                    if self._data_len > self._max_event:
                        self._event_too_large(events)
                elif field == "event":
                    self._event = value or None
                elif field == "id":
                    if "\0" not in value:  # ids containing NUL are ignored
                        self._id_buffer = value
                elif (
                    # ASCII digits only; absurdly long values are ignored rather than converted.
                    field == "retry"
                    and value.isascii()
                    and value.isdigit()
                    and len(value) <= _MAX_RETRY_DIGITS
                ):
                    self._retry = self._event_retry = int(value)
                # Other fields are ignored.
        return events
