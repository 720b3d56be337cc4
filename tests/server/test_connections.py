"""The server's side of a connection, seen with raw sockets: Nagle off, time limits on reading a request,
413 before reading a body that is too large."""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import socket
import sys
from collections.abc import Iterator

import httpx
import pytest
from support.closing import closing_all

from llama_azure.server.connections import listening_socket
from llama_azure.server.limits import MAX_BODY_BYTES
from llama_azure.server.process import ReferenceServer

KEY = "conn-key"
WAIT_S = 30.0  # a bound for what must happen much sooner; the test fails (never hangs) if it does not


@pytest.fixture(scope="module")
def quick() -> Iterator[ReferenceServer]:
    """A server with 1 s limits on reading a request head and body."""
    with ReferenceServer(api_key=KEY, args=["--head-timeout", "1", "--body-timeout", "1", "--n-ctx", "512"]) as srv:
        yield srv


def connect(srv: ReferenceServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT_S)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (socket.timeout if it never does)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a response head: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "closed in the middle of a response body"
        body += chunk
    return int(lines[0].split()[1]), headers, body


# -- TCP_NODELAY -------------------------------------------------------------------------------------------


def test_the_listening_socket_gives_accepted_connections_nagle_off() -> None:
    """asyncio (and so uvicorn) sets TCP_NODELAY on an accepted socket only if the listener says IPPROTO_TCP."""
    listener = listening_socket("127.0.0.1", 0)
    assert listener.proto == socket.IPPROTO_TCP

    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", listener.getsockname()[1])
            async with closing_all(writer):
                return await asyncio.wait_for(seen, WAIT_S)

    assert asyncio.run(accepted_nodelay()) != 0


def _dup_from(pid: int, fd: int) -> socket.socket | None:
    """A copy of another process's socket (pidfd_getfd, Linux >= 5.6), or None where that is not allowed."""
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None
    new_fd = libc.syscall(438, pidfd, fd, 0)  # SYS_pidfd_getfd (a failure is -1 and errno, never raised)
    os.close(pidfd)
    return socket.socket(fileno=new_fd) if new_fd >= 0 else None


@pytest.mark.skipif(sys.platform != "linux", reason="reads the server's socket through pidfd_getfd (Linux)")
def test_a_kept_alive_connection_of_the_real_server_has_nagle_off(server: ReferenceServer) -> None:
    """The server's own socket for our connection, taken from the running process: TCP_NODELAY is set.

    Without it, every answer after the first on a kept-alive connection waits for the client's delayed ACK.
    """
    assert server.pid is not None
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S) as client:
        request = b"GET /info?api-version=2025-04-01 HTTP/1.1\r\nhost: x\r\napi-key: test-key\r\n\r\n"
        for _ in range(2):  # the second request on the same connection is the one Nagle delayed
            client.sendall(request)
            assert read_response(client)[0] == 200
        checked = False
        for name in os.listdir(f"/proc/{server.pid}/fd"):
            if not os.readlink(f"/proc/{server.pid}/fd/{name}").startswith("socket:"):
                continue
            theirs = _dup_from(server.pid, int(name))
            if theirs is None:
                pytest.skip("pidfd_getfd is not allowed here")
            with theirs:
                if theirs.family == socket.AF_INET and theirs.type == socket.SOCK_STREAM:
                    try:
                        peer = theirs.getpeername()
                    except OSError:  # the listening socket
                        continue
                    if peer == client.getsockname():
                        assert theirs.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                        checked = True
        assert checked, "the server's socket for this connection was not found"


# -- time limits on reading a request ----------------------------------------------------------------------


def test_a_partial_head_is_answered_408_and_the_connection_closed(quick: ReferenceServer) -> None:
    with connect(quick) as sock:
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nhost: x\r\napi-key: conn")  # and then nothing (slowloris)
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 "), data
    assert b"did not arrive in time" in data


def test_a_silent_connection_is_closed(quick: ReferenceServer) -> None:
    with connect(quick) as sock:
        assert read_until_closed(sock) == b""


def test_a_slow_body_is_answered_408_and_the_connection_closed(quick: ReferenceServer) -> None:
    with connect(quick) as sock:
        sock.sendall(
            b"POST /v1/completions HTTP/1.1\r\nhost: x\r\napi-key: conn-key\r\ncontent-type: application/json\r\n"
            b"content-length: 100\r\n\r\n" + b'{"prompt": "Hi"'  # 15 of the 100 bytes
        )
        status, headers, body = read_response(sock)
        assert status == 408
        assert json.loads(body)["error"]["code"] == "RequestTimeout"
        assert headers["connection"] == "close"
        assert read_until_closed(sock) == b""


def test_a_body_left_unread_after_an_early_answer_must_end_in_time(quick: ReferenceServer) -> None:
    """/info answers without reading the body; a client that keeps the body coming is cut off anyway."""
    with connect(quick) as sock:
        sock.sendall(b"GET /info?api-version=2025-04-01 HTTP/1.1\r\nhost: x\r\napi-key: conn-key\r\n"
                     b"content-length: 1000\r\n\r\nabc")
        assert read_response(sock)[0] == 200
        sock.sendall(b"d")  # more body after the answer: uvicorn's own keep-alive timer stops counting here
        assert read_until_closed(sock) == b""


def test_a_huge_head_is_refused(quick: ReferenceServer) -> None:
    """h11 refuses a head once more than 16 KiB of it are buffered without its end."""
    with connect(quick) as sock:
        sock.sendall(b"GET /info HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 20_000)
        assert read_until_closed(sock).startswith(b"HTTP/1.1 400 ")


def test_a_kept_alive_connection_serves_several_requests(quick: ReferenceServer) -> None:
    """The deadlines start again with each request."""
    with connect(quick) as sock:
        for _ in range(3):
            sock.sendall(b"GET /info?api-version=2025-04-01 HTTP/1.1\r\nhost: x\r\napi-key: conn-key\r\n\r\n")
            assert read_response(sock)[0] == 200


# -- 413 before the body is read ---------------------------------------------------------------------------


def test_a_declared_content_length_over_the_limit_is_refused_before_any_body_byte(quick: ReferenceServer) -> None:
    with connect(quick) as sock:
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nhost: x\r\napi-key: conn-key\r\n"
                     b"content-length: 100000000\r\n\r\n")  # no body is sent: the answer cannot wait for it
        status, _, body = read_response(sock)
        assert status == 413
        assert json.loads(body)["error"]["code"] == "RequestTooLarge"
        assert read_until_closed(sock) == b""  # the body never comes: the connection ends at --body-timeout


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(quick: ReferenceServer) -> None:
    piece = b"x" * 65536
    with connect(quick) as sock:
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nhost: x\r\napi-key: conn-key\r\n"
                     b"transfer-encoding: chunked\r\n\r\n")
        for _ in range(MAX_BODY_BYTES // len(piece)):
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        sock.sendall(b"1\r\nx")  # one byte over the limit; the body never ends
        status, _, body = read_response(sock)
        assert status == 413
        assert "4194304 bytes" in json.loads(body)["error"]["message"]


def test_an_sdk_style_client_gets_the_413(client: httpx.Client) -> None:
    r = client.post("/v1/completions", content=b" " * (MAX_BODY_BYTES + 1))
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "RequestTooLarge"
    assert client.get("/info", params={"api-version": "2025-04-01"}).status_code == 200
