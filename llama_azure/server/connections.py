"""The server's side of each TCP connection: the listening socket, and time limits on reading requests.

- :func:`listening_socket` creates the socket with ``IPPROTO_TCP``: asyncio turns Nagle's algorithm off
  (``TCP_NODELAY``) only on sockets whose protocol says TCP, and with protocol 0 every answer after the
  first on a kept-alive connection waited for the client's delayed ACK (about 40 ms).
- :class:`DeadlineH11Protocol` is uvicorn's h11 protocol with deadlines, so that a slow or silent client
  cannot hold a connection: the request head (request line and headers) must arrive within
  ``head_timeout`` seconds of the connection opening or of the previous answer, and a body the app never
  read (it answered early: 401, 413, ...) must be over within ``body_timeout`` seconds of that answer. A
  body the app reads has its own deadline (:func:`~llama_azure.server.intake.read_body`, 408).
  uvicorn's ``timeout_keep_alive`` still closes idle kept-alive connections sooner, and h11 refuses a
  head once 16 KiB of it are buffered without its end (400).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .limits import BODY_TIMEOUT_S, HEAD_TIMEOUT_S

_HEAD_LATE = b"The request head (request line and headers) did not arrive in time.\n"
_REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_HEAD_LATE), _HEAD_LATE)
)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket (not yet listening) whose connections get ``TCP_NODELAY``; raises ``OSError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets on Linux
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def deadline_protocol(head_timeout: float, body_timeout: float) -> type[H11Protocol]:
    """:class:`DeadlineH11Protocol` with these limits, as uvicorn's ``http=`` protocol class."""
    return type(
        "DeadlineH11Protocol",
        (DeadlineH11Protocol,),
        {"head_timeout": head_timeout, "body_timeout": body_timeout},
    )


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on the request head and on a body nobody reads."""

    head_timeout = HEAD_TIMEOUT_S
    body_timeout = BODY_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for: str | None = None  # "head" or "body"

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("head", self.head_timeout, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_state()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._follow_state()

    def _follow_state(self) -> None:
        """Arm or disarm the deadline for what the connection waits for now."""
        state = self.conn.their_state
        answered = self.cycle is not None and self.cycle.response_complete
        if state is h11.IDLE:
            if self._waiting_for != "head":  # a new request: its head has the whole head_timeout
                self._arm("head", self.head_timeout, self._head_late)
        elif state is h11.SEND_BODY and answered:
            if self._waiting_for != "body":  # answered early: the rest of the body is only drained
                self._arm("body", self.body_timeout, self._close)
        else:
            self._disarm()

    def _arm(self, waiting_for: str, seconds: float, callback: Callable[[], None]) -> None:
        self._disarm()
        self._waiting_for = waiting_for
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None
        self._waiting_for = None

    def _head_late(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.trailing_data[0]:  # part of a head arrived: say why the connection ends
            self.transport.write(_REQUEST_TIMEOUT)
        self._close()

    def _close(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()
