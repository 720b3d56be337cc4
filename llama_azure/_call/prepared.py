"""What a call is, without I/O: :class:`PreparedCall`, the immutable template of its request and of how its
answer is read (built by ``prepare.py``), and :class:`CallOutcome`, what one run of it produces."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

from .._http.timeouts import CallTimer
from .._request.routes import Operation
from .._streaming.body import DEFAULT_MAX_RESPONSE_BYTES
from .config import ClientConfig

if TYPE_CHECKING:
    from .._observe import CallTrace
    from ..types.chat import ChatCompletionChunk
    from ..types.completion import Completion

T = TypeVar("T")


@dataclass(frozen=True)
class PreparedCall(Generic[T]):
    """A request ready to send (without auth headers, added per attempt) and how to read its answer: a template
    that does not change while the call runs (what the call produces is its :class:`CallOutcome`).

    The request is kept as its parts (``method``, ``url``, the encoded ``headers``, the encoded ``content``):
    each attempt sends the one ``httpx.Request`` built from them (``exchange.with_auth``), so no attempt sees
    headers or state left by an earlier one, and none is built that is not sent.
    """

    method: str
    url: httpx.URL = field(repr=False)  # its query may hold a secret (``?code=``); ``where`` names it
    headers: tuple[tuple[bytes, bytes], ...] = field(repr=False)
    """Encoded and checked, names in lower case, ``host`` first and ``content-length`` last; no credential (a
    ``default_headers`` value may still be a secret)."""
    content: bytes = field(repr=False)
    """The encoded body (``b""`` for a GET)."""
    parse: Callable[[httpx.Response, bytes], T]
    stream: bool
    timeout: httpx.Timeout
    max_retries: int
    where: str
    chunk_type: type[ChatCompletionChunk] | type[Completion] | None = None
    finish: Callable[[Any], Any] | None = None
    """For a stream: turns what ``until_done()`` folded into the call's result (``parse()``: parsed content)."""
    timer: CallTimer = field(default_factory=CallTimer)
    """Started when the call is prepared; shared by its attempts, retry waits and stream."""
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    operation: Operation | None = None
    body: Mapping[str, Any] | None = field(default=None, repr=False)  # as sent; read only by tracing
    trace: CallTrace | None = field(default=None, repr=False)
    """Set while the call is traced (a copy made by :meth:`traced`); None otherwise."""
    retarget: Retarget | None = field(default=None, repr=False)
    """``retarget(config, call)``: this call for another deployment's ``config`` (``deployments=``), in ``call``'s
    time and trace. Built from the parameters as validated; validated again only for another route style."""

    @cached_property
    def request(self) -> httpx.Request:
        """The request as an ``httpx.Request`` without the credential's headers, built when asked for (an
        error's ``request``): the attempts build their own (``exchange.with_auth``)."""
        request = httpx.Request(self.method, self.url, headers=list(self.headers),
                                stream=httpx.ByteStream(self.content))
        request.read()  # ``request.content``, as for a request made with ``content=``
        return request

    def header(self, name: bytes) -> str | None:
        """The value of the header ``name`` (lower case) as ``httpx.Headers.get`` gives it (repeated: joined
        with ", "), None if the request has none."""
        values = [value.decode("ascii") for key, value in self.headers if key == name]
        return ", ".join(values) if values else None

    def traced(self, trace: CallTrace) -> PreparedCall[T]:
        """This call, told of its progress through ``trace`` (tracing runs the call with it)."""
        return replace(self, trace=trace)

    def for_config(self, config: ClientConfig) -> PreparedCall[T]:
        """This call for another deployment's ``config``, in this call's time and trace."""
        assert self.retarget is not None, "a call made by prepare_* can be retargeted"
        return self.retarget(config, self)


Retarget = Callable[[ClientConfig, PreparedCall[Any]], PreparedCall[Any]]


@dataclass
class CallOutcome:
    """What one run of a call has produced so far, apart from its result: written by the attempts, the retry
    loop and the router, read by ``with_raw_response`` and the final error."""

    response: httpx.Response | None = None
    """The last attempt's HTTP answer (for ``with_raw_response``)."""
    retries_taken: int = 0
    sent: int = 0
    """HTTP requests sent so far, retries and a resend after a refreshed token included (``error.attempts``)."""
    deployment: Any = None
    """With ``deployments=``: the ``Deployment`` that answered."""
