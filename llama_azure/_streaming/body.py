"""Reading a whole (non-stream) answer within a size cap, without I/O: raw bytes in, decoded body out.

The cap counts decoded bytes (after gzip, deflate, br or zstd), so a small compressed "bomb" cannot
inflate past it: compressed input is handed to the decoder in small slices, and each slice inflates
to at most about a thousand times its size, so memory stays within the cap plus a few MiB.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import httpx

from .._exceptions import ConfigurationError, ResponseTooLargeError

DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# Compressed bytes decoded at once: at zlib's worst ratio (~1032:1) a slice inflates to about 4 MiB.
_SLICE = 4 * 1024


class _Decoder(Protocol):
    def decode(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class SlicedDecoder:
    """An answer's Content-Encoding undone a few KiB of compressed input at a time: one network read of a
    compressed "bomb" never inflates at once (a slice of ``slice_size`` bytes to about 1032 times that)."""

    def __init__(self, response: httpx.Response, slice_size: int = _SLICE, *, decoded: bool = False) -> None:
        # decoded: a body httpx has read (and decoded) already, as a response built in memory.
        encoded = not decoded and bool(response.headers.get("content-encoding", "").strip(" ,").replace("identity", ""))
        # httpx's own decoder for the answer's Content-Encoding (its private helper; identity without it).
        make: Any = getattr(response, "_get_content_decoder", None)
        self._decoder: _Decoder | None = make() if encoded and make is not None else None
        self._slice = slice_size

    @property
    def identity(self) -> bool:
        return self._decoder is None

    def decode(self, raw: bytes) -> Iterator[bytes]:
        """The decoded pieces of one network read, each made when asked for."""
        decoder = self._decoder
        if decoder is None:
            if raw:
                yield raw
            return
        step = self._slice
        for start in range(0, len(raw), step):
            piece = decoder.decode(raw[start:start + step])
            if piece:
                yield piece

    def flush(self) -> bytes:
        return b"" if self._decoder is None else self._decoder.flush()


def check_max_response_bytes(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigurationError(f"max_response_bytes must be an int > 0 (a size in bytes), got {value!r}")
    return value


class BodyCollector:
    """Collect one answer's body: ``feed`` each raw (still encoded) network chunk, then ``finish``."""

    def __init__(self, response: httpx.Response, limit: int, where: str) -> None:
        self._response = response
        self._limit = limit
        self._where = where
        self._parts: list[bytes] = []
        self._size = 0
        self._decoded = SlicedDecoder(response)
        declared = response.headers.get("content-length", "")
        if self._decoded.identity and declared.isdigit() and int(declared) > limit:
            raise self._too_large()  # known before reading a byte

    def feed(self, raw: bytes) -> None:
        for piece in self._decoded.decode(raw):
            self._add(piece)

    def whole(self, body: bytes) -> bytes:
        """A body httpx had read already (a response built in memory): only the cap is checked."""
        if len(body) > self._limit:
            raise self._too_large()
        return body

    def finish(self) -> bytes:
        self._add(self._decoded.flush())
        body = b"".join(self._parts)
        self._parts.clear()
        self._response._content = body  # as response.read() leaves it: error.response.text keeps working
        return body

    def _add(self, data: bytes) -> None:
        if not data:
            return
        self._size += len(data)
        if self._size > self._limit:
            self._parts.clear()
            raise self._too_large()
        self._parts.append(data)

    def _too_large(self) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"the answer from {self._where} is larger than max_response_bytes={self._limit} (decoded size); "
            f"reading stopped there. Raise max_response_bytes= on the client if such answers are expected",
            limit=self._limit,
        )
