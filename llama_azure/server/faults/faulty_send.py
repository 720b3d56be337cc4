"""The stream and body faults: a ``send`` wrapper that cuts, stalls, breaks, pads or dribbles one response."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import Message, Send

from .plan import Effects
from .spec import MAX_STALL_S

_PIECE = 16
_FILLER = "Llama héllo wörld ✓ 🦙 "


class Stop(BaseException):  # a BaseException, so the app's `except Exception` handlers let it through
    """Raised out of ``send`` to stop the app once a fault has ended the response."""


def is_stop(exc: BaseException) -> bool:
    if isinstance(exc, Stop):
        return True
    inner: Sequence[BaseException] = getattr(exc, "exceptions", None) or ()
    return bool(inner) and all(is_stop(e) for e in inner)


def abort_connection(send: Send) -> None:
    """Drop the TCP connection at once (uvicorn: the transport of the request cycle)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("fault injection needs uvicorn's transport to reset a connection")
    transport.abort()


class FaultySend:
    """Wraps ``send`` for one response: each body message of an SSE answer is one event."""

    def __init__(self, send: Send, effects: Effects) -> None:
        self.send = send
        self.e = effects
        self.sse = False
        self.events = 0
        self.held_start: Message | None = None
        self.held_body = bytearray()
        self.dribbled = 0.0

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
            self.sse = content_type.startswith("text/event-stream")
            if not self.sse and self.e.huge is not None and message.get("status", 200) == 200:
                self.held_start = message  # sent with the grown body and its new content-length
                return
            await self.send(message)
            return
        if message["type"] != "http.response.body":
            await self.send(message)
            return
        body: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        if self.held_start is not None:
            self.held_body += body
            if not more:
                await self._send_huge_json()
            return
        if not self.sse:
            await self._write(body, more)
            return
        if body:
            await self._event(body)
        if not more:
            await self._write(b"", False)

    async def _event(self, body: bytes) -> None:
        e = self.e
        if e.reset_mid is not None and self.events >= e.reset_mid:
            abort_connection(self.send)
            raise Stop
        if e.truncate is not None and self.events >= e.truncate:
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})
            raise Stop
        if e.stall is not None and self.events == 1:
            await asyncio.sleep(e.stall)
        if e.keepalive:
            await self._write(b": keep-alive\n\n", True)
            await self._write(f"id: {self.events}\nretry: 1000\n\n".encode(), True)
        self.events += 1
        if e.bad_json is not None and self.events == e.bad_json:
            body = b'data: {"id": "broken", "choices": [{"delta": {"content": "oops"\n\n'
        await self._write(body, True)
        if e.huge is not None and self.events == 1:
            for piece in _huge_events(body, e.huge):
                await self._write(piece, True)

    async def _write(self, body: bytes, more: bool) -> None:
        if self.e.dribble is None or len(body) <= _PIECE or self.dribbled >= MAX_STALL_S:
            await self.send({"type": "http.response.body", "body": body, "more_body": more})
            if body:
                await self._dribble_pause()
            return
        for start in range(0, len(body), _PIECE):
            piece = body[start : start + _PIECE]
            last = start + _PIECE >= len(body)
            await self.send({"type": "http.response.body", "body": piece, "more_body": more or not last})
            await self._dribble_pause()

    async def _dribble_pause(self) -> None:
        """The dribble delay, until one answer has spent MAX_STALL_S on it (then the rest goes at full speed)."""
        if self.e.dribble and self.dribbled < MAX_STALL_S:
            self.dribbled += self.e.dribble
            await asyncio.sleep(self.e.dribble)

    async def _send_huge_json(self) -> None:
        assert self.held_start is not None
        content = bytes(self.held_body)
        try:
            payload = json.loads(content)
            choice = payload["choices"][0]
            if "message" in choice:
                choice["message"]["content"] = (choice["message"].get("content") or "") + _filler(self.e.huge or 0)
            else:
                choice["text"] = (choice.get("text") or "") + _filler(self.e.huge or 0)
            content = json.dumps(payload, ensure_ascii=False).encode()
        except (ValueError, KeyError, IndexError, TypeError):
            pass
        start = dict(self.held_start)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        start["headers"] = [*headers, (b"content-length", str(len(content)).encode())]
        await self.send(start)
        await self._write(content, False)


def _filler(chars: int) -> str:
    return (_FILLER * (chars // len(_FILLER) + 1))[:chars]


def _huge_events(first: bytes, chars: int) -> list[bytes]:
    """Events adding ``chars`` characters of text, shaped like ``first`` (a chat or text chunk)."""
    try:
        template = json.loads(first.decode("utf-8").removeprefix("data: ").strip())
        choice = template["choices"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return []
    out: list[bytes] = []
    text = _filler(chars)
    for start in range(0, len(text), 1000):
        piece = text[start : start + 1000]
        if "delta" in choice:
            choice["delta"] = {"content": piece}
        else:
            choice["text"] = piece
        choice["finish_reason"] = None
        out.append(b"data: " + json.dumps(template, ensure_ascii=False).encode() + b"\n\n")
    return out
