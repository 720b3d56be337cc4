"""Reading a whole (non-stream) answer within a size cap, without I/O: raw bytes in, decoded body out.

The cap counts decoded bytes (after gzip, deflate, br or zstd), so a small compressed "bomb" cannot
inflate past it: compressed input is handed to the decoder in small slices, and each slice inflates
to at most about a thousand times its size, so memory stays within the cap plus a few MiB.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from ._exceptions import ConfigurationError, ResponseTooLargeError

DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# Compressed bytes decoded at once: at zlib's worst ratio (~1032:1) a slice inflates to about 4 MiB.
_SLICE = 4 * 1024


class _Decoder(Protocol):
    def decode(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class _Identity:
    def decode(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


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
        encoded = bool(response.headers.get("content-encoding", "").strip(" ,").replace("identity", ""))
        # httpx's own decoder for the answer's Content-Encoding (its private helper; identity without it).
        make: Any = getattr(response, "_get_content_decoder", None)
        self._decoder: _Decoder = make() if encoded and make is not None else _Identity()
        self._slice = _SLICE if encoded else 0
        declared = response.headers.get("content-length", "")
        if not encoded and declared.isdigit() and int(declared) > limit:
            raise self._too_large()  # known before reading a byte

    def feed(self, raw: bytes) -> None:
        step = self._slice or len(raw) or 1
        for start in range(0, len(raw), step):
            self._add(self._decoder.decode(raw[start:start + step]))

    def whole(self, body: bytes) -> bytes:
        """A body httpx had read already (a response built in memory): only the cap is checked."""
        if len(body) > self._limit:
            raise self._too_large()
        return body

    def finish(self) -> bytes:
        self._add(self._decoder.flush())
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
