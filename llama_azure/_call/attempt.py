"""One attempt of a call, without I/O: the steps both shells run (as httpx's auth flows are run).

:func:`attempt_flow` is a generator. It yields each piece of I/O it needs (a pacing pause, the credential's
headers, a request to send, a redirect response to close, a body to read) and is sent the result; an
error of that I/O is thrown into it where it asked. Everything else is written here once: the pacing
decisions (``Pacer.admit``, run with ``yield from``), a new token after a 401, redirects that keep secrets on
their origin, transport errors, reading the answer. The retry loop (``_retry.call_flow``) runs it once per
attempt; a shell drives the call's one flow with one loop, ``_drive``, and only does the steps in ``_do``:
send, wait, read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import httpx

from .._http.origins import follows_redirect, redirect_request, same_origin
from .._pacing.pacer import Pause, Store, sending
from .exchange import interpret, raise_transport_error, stream_chunk_type, with_auth
from .prepared import CallOutcome, PreparedCall
from .retry import Sleep

if TYPE_CHECKING:
    from .._auth.auth import Auth
    from .._pacing.pacer import Pacer

logger = logging.getLogger("llama_azure")


@dataclass(frozen=True)
class Headers:
    """The headers of ``auth`` (the credential of the deployment sent to), as they are now (a dict)."""

    auth: Auth


@dataclass(frozen=True)
class Send:
    """Send ``request`` with ``auth=``, as a stream, not following redirects; the result is the response."""

    request: httpx.Request
    auth: Any


@dataclass(frozen=True)
class Close:
    """Close a redirect response that is not read."""

    response: httpx.Response


@dataclass(frozen=True)
class ReadBody:
    """Read the whole body (at most the call's ``max_response_bytes``), then close the response; the result
    is the bytes."""

    response: httpx.Response


@dataclass(frozen=True)
class Streamed:
    """The outcome when the answer is a stream: the shell wraps ``response`` in its stream class."""

    response: httpx.Response
    chunk_type: type[Any]
    where: str  # the deployment's host/path, for the stream's messages
    on_usage: Callable[[Any], None] | None = None  # told the chunk that carries the answer's ``usage``
    on_usage_does_io: bool = False  # on_usage is a round trip to the budget's store (Redis)


Step = Pause | Store | Headers | Send | Close | ReadBody | Sleep
Flow = Generator[Step, Any, Any]


def attempt_flow(call: PreparedCall[Any], outcome: CallOutcome, pacer: Pacer | None,
                 http: httpx.Client | httpx.AsyncClient, auth: Auth) -> Flow:
    """One attempt of ``call``: returns its result, or a :class:`Streamed`.

    A 401 to a cached Entra ID token is the credential's to handle, as azure-core's bearer policy does: the
    token is dropped (``auth.invalidate(sent)``) and the request sent once more with fresh headers, in the same
    pacing turn (a service refuses a credential before it counts the request against the quota). It is not a
    retry: no wait, no ``max_retries``, no ``on_retry``; ``error.attempts`` counts it as a request sent.
    """
    lease = (yield from pacer.admit(call)) if pacer is not None else None
    with sending(pacer, lease):
        headers = Headers(auth)
        response: httpx.Response = yield from _send(call, outcome, http, headers)
        if response.status_code == 401 and auth.invalidate(response.request.headers.get("authorization")):
            logger.info("%s: 401 to a cached token; sending again with a new one", call.where)
            yield Close(response)
            response = yield from _send(call, outcome, http, headers)
    outcome.response, outcome.retries_taken = response, outcome.sent - 1
    if pacer is not None and lease is not None:
        try:
            yield from pacer.through_store(call, partial(pacer.answered, lease, response))
        except GeneratorExit:
            raise
        except BaseException:  # cancelled while the store recorded it: the unread answer is closed
            yield Close(response)
            raise
    chunk_type = stream_chunk_type(call, response)
    if chunk_type is not None:
        if pacer is None or lease is None:
            return Streamed(response, chunk_type, call.where)
        return Streamed(response, chunk_type, call.where, pacer.settling(call, lease), pacer.does_io)
    try:
        content = yield ReadBody(response)
    except httpx.HTTPError as error:
        raise_transport_error(error, call)
    result = interpret(call, response, content, auth.describe_failure() if response.status_code == 401 else None)
    if pacer is not None and lease is not None:
        yield from pacer.through_store(call, partial(pacer.settled, lease, result))
    return result


def _send(call: PreparedCall[Any], outcome: CallOutcome, http: httpx.Client | httpx.AsyncClient,
          headers: Headers) -> Flow:
    """One request of the call, with the credential's headers as they are now; httpx's errors become ours."""
    request = with_auth(call, (yield headers), outcome.sent + 1)
    outcome.sent += 1
    try:
        return (yield from _follow_redirects(http, request))
    except httpx.HTTPError as error:
        raise_transport_error(error, call)


class Driver:
    """Runs a flow (this one, or ``Router.flow``) for a shell, which only does each step's I/O::

        driver = Driver(call_flow(attempt, retries))
        for step in driver:
            try:
                driver.done = do(step)
            except BaseException as error:
                driver.error = error  # thrown into the flow where it asked
        result = driver.outcome
    """

    def __init__(self, flow: Generator[Any, Any, Any]) -> None:
        self._flow = flow
        self.done: Any = None
        self.error: BaseException | None = None
        self.outcome: Any = None

    def __iter__(self) -> Iterator[Any]:
        try:
            step = next(self._flow)
            while True:
                yield step
                error, self.error = self.error, None
                done, self.done = self.done, None
                step = self._flow.throw(error) if error is not None else self._flow.send(done)
        except StopIteration as finished:
            self.outcome = finished.value


def _follow_redirects(http: httpx.Client | httpx.AsyncClient, request: httpx.Request) -> Flow:
    """Send, following redirects here (if the http client follows them) so secrets stay on their origin."""
    hops, auth = 0, cast(Any, httpx.USE_CLIENT_DEFAULT)
    while True:
        response = yield Send(request, auth)
        if not follows_redirect(http, response):
            return response
        yield Close(response)
        follow = redirect_request(http, request, response, hops)
        if not same_origin(request.url, follow.url):
            auth = None  # nor the http client's own auth= (httpx would drop it too)
        request, hops = follow, hops + 1
