"""Fault injection for the reference server: ``llama-azure serve --faults SPEC``.

A SPEC is a comma-separated list of faults, each ``name[:arg][@when]``:

- ``when`` omitted: every request; ``@N`` (an integer): the first N requests only; ``@P`` (a number
  with a dot, 0 < P <= 1): each request with probability P.
- ``none``: nothing (turns on the per-request header, see below, without a server-wide fault).
- ``status:CODE``: answer CODE (400..599) with an Azure-shaped body before the app sees the request;
  ``status:429`` carries ``Retry-After: 1`` and ``retry-after-ms: 100``, ``status:429-noheaders`` no
  retry header at all, ``status:429-24h`` ``Retry-After: 86400``.
- ``reset-before``: abort the TCP connection before any response byte.
- ``reset-mid[:N]``: abort the connection after N stream events (default 1).
- ``truncate[:N]``: end the response body cleanly after N stream events, without ``[DONE]`` (default 1).
- ``stall:SECONDS``: after the first stream event, send nothing for SECONDS (at most 300).
- ``bad-json[:N]``: replace stream event N (1-based, default 2) with malformed JSON.
- ``keepalive``: send a ``: keep-alive`` comment and an ``id:``/``retry:`` event with no data before each event.
- ``dribble[:SECONDS]``: send the body in 16-byte pieces, SECONDS apart (default 0.05, at most 1); after 300 s
  of pauses the rest of the answer goes at full speed.
- ``huge[:CHARS]``: add CHARS characters (default 100000, at most 10,000,000, with multibyte ones) to the
  answer's text.

Stream faults (``reset-mid``, ``truncate``, ``stall``, ``bad-json``, ``keepalive``) act on
``text/event-stream`` answers only; ``dribble`` and ``huge`` act on JSON answers too.

With ``--faults`` given (even ``--faults none``), a request that presents a valid key (or token) may also
carry its own SPEC in the ``x-llama-azure-fault`` header; without one the header is answered 401, and a SPEC
out of range 400. Counts (``@N``) of a header SPEC are kept per
``x-ms-client-request-id``, so ``status:503@2`` fails the first two attempts of one SDK call (its
retries reuse the id) and lets the third through. Status faults are answered before quotas are
counted. ``/openapi.json``, ``/swagger.json`` and ``/_server/*`` are never faulted.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import Authenticator
from .errors import ApiError

FAULT_HEADER = "x-llama-azure-fault"
EXEMPT_PATHS = ("/openapi.json", "/swagger.json", "/_server/")
_HEADER_PLANS_KEPT = 4096
_PIECE = 16
_FILLER = "Llama héllo wörld ✓ 🦙 "


class FaultSpecError(ValueError):
    """A SPEC that cannot be parsed; the message says which part and why."""


@dataclass(frozen=True)
class Fault:
    name: str
    arg: str | None = None
    count: int | None = None
    probability: float | None = None

    def number(self, default: float) -> float:
        return default if self.arg is None else float(self.arg)


_NAMES = frozenset(
    {"none", "status", "reset-before", "reset-mid", "truncate", "stall", "bad-json", "keepalive", "dribble", "huge"}
)
_STATUS_VARIANTS = frozenset({"429-noheaders", "429-24h"})


def parse_spec(text: str) -> tuple[Fault, ...]:
    """``"status:503@2,keepalive"`` -> two :class:`Fault` objects; raises :class:`FaultSpecError`."""
    faults: list[Fault] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        body, _, when = part.partition("@")
        name, _, arg = body.partition(":")
        name = name.strip().lower()
        if name not in _NAMES:
            raise FaultSpecError(f"unknown fault {name!r} in {part!r}; known: {', '.join(sorted(_NAMES))}")
        count: int | None = None
        probability: float | None = None
        if when:
            try:
                if "." in when:
                    probability = float(when)
                    if not 0 < probability <= 1:
                        raise ValueError
                else:
                    count = int(when)
                    if count < 0:
                        raise ValueError
            except ValueError:
                raise FaultSpecError(f"bad '@{when}' in {part!r}: use @N (first N requests) or @0.5") from None
        fault = Fault(name, arg or None, count, probability)
        _check_arg(fault, part)
        faults.append(fault)
    return tuple(f for f in faults if f.name != "none")


MAX_STALL_S = 300.0
MAX_DRIBBLE_S = 1.0  # between two 16-byte pieces; the whole dribble of one answer stops after MAX_STALL_S
MAX_HUGE_CHARS = 10_000_000
MAX_EVENT_INDEX = 1_000_000

# name -> (number type, lowest, highest, what the argument is); ``status`` is checked on its own.
_RANGES: dict[str, tuple[type[int] | type[float], float, float, str]] = {
    "reset-mid": (int, 0, MAX_EVENT_INDEX, "N events"),
    "truncate": (int, 0, MAX_EVENT_INDEX, "N events"),
    "bad-json": (int, 0, MAX_EVENT_INDEX, "event N"),
    "huge": (int, 0, MAX_HUGE_CHARS, "CHARS characters"),
    "stall": (float, 0, MAX_STALL_S, "SECONDS"),
    "dribble": (float, 0, MAX_DRIBBLE_S, "SECONDS between pieces"),
}


def _check_arg(fault: Fault, part: str) -> None:
    arg = fault.arg
    if fault.name == "status":
        if arg is None or (arg not in _STATUS_VARIANTS and not (arg.isdigit() and 400 <= int(arg) <= 599)):
            raise FaultSpecError(f"bad argument in {part!r}: status takes a code 400..599, 429-noheaders or 429-24h")
        return
    if fault.name in ("none", "reset-before", "keepalive"):
        if arg is not None:
            raise FaultSpecError(f"bad argument in {part!r}: {fault.name} takes no argument")
        return
    kind, low, high, what = _RANGES[fault.name]
    if arg is None:
        if fault.name == "stall":
            raise FaultSpecError(f"missing argument in {part!r}: stall takes SECONDS from 0 to {_shown(high)}")
        return
    try:
        value = kind(arg)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:  # also refuses nan and inf
        raise FaultSpecError(
            f"bad argument in {part!r}: {fault.name} takes {what} from {_shown(low)} to {_shown(high)}"
        )


def _shown(number: float) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)


class FaultPlan:
    """Which faults apply to the next request; counts are shared by the requests that use this plan."""

    def __init__(self, faults: Sequence[Fault], rng: random.Random | None = None) -> None:
        self.faults = tuple(faults)
        self._used = [0] * len(self.faults)
        self._rng = rng or random.Random()
        self._lock = threading.Lock()

    def pick(self) -> list[Fault]:
        active: list[Fault] = []
        with self._lock:
            for i, fault in enumerate(self.faults):
                if fault.count is not None:
                    if self._used[i] >= fault.count:
                        continue
                    self._used[i] += 1
                elif fault.probability is not None and self._rng.random() >= fault.probability:
                    continue
                active.append(fault)
        return active


@dataclass
class _Effects:
    status: str | None = None
    reset_before: bool = False
    reset_mid: int | None = None
    truncate: int | None = None
    stall: float | None = None
    bad_json: int | None = None
    keepalive: bool = False
    dribble: float | None = None
    huge: int | None = None

    @classmethod
    def of(cls, faults: Sequence[Fault]) -> _Effects:
        e = cls()
        for f in faults:
            if f.name == "status":
                e.status = f.arg
            elif f.name == "reset-before":
                e.reset_before = True
            elif f.name == "reset-mid":
                e.reset_mid = int(f.number(1))
            elif f.name == "truncate":
                e.truncate = int(f.number(1))
            elif f.name == "stall":
                e.stall = f.number(0)
            elif f.name == "bad-json":
                e.bad_json = int(f.number(2))
            elif f.name == "keepalive":
                e.keepalive = True
            elif f.name == "dribble":
                e.dribble = f.number(0.05)
            elif f.name == "huge":
                e.huge = int(f.number(100_000))
        return e


class _Stop(BaseException):  # a BaseException, so the app's `except Exception` handlers let it through
    """Raised out of ``send`` to stop the app once a fault has ended the response."""


def _is_stop(exc: BaseException) -> bool:
    if isinstance(exc, _Stop):
        return True
    inner: Sequence[BaseException] = getattr(exc, "exceptions", None) or ()
    return bool(inner) and all(_is_stop(e) for e in inner)


def _abort_connection(send: Send) -> None:
    """Drop the TCP connection at once (uvicorn: the transport of the request cycle)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("fault injection needs uvicorn's transport to reset a connection")
    transport.abort()


def _status_answer(code: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    if code.startswith("429"):
        headers = {}
        if code == "429-24h":
            headers = {"retry-after": "86400"}
        elif code == "429":
            headers = {"retry-after": "1", "retry-after-ms": "100", "x-ms-retry-after-ms": "100"}
        body = {"error": {"code": "429", "message": "Rate limit is exceeded (injected fault).", "status": 429}}
        return 429, body, headers
    status = int(code)
    body = {"error": {"code": f"InjectedFault{status}", "message": f"Injected fault: HTTP {status}.",
                      "status": status}}
    return status, body, {"x-ms-error-code": f"InjectedFault{status}"}


class FaultInjector:
    """ASGI middleware, outermost (it needs uvicorn's ``send`` to reach the transport).

    ``authenticator`` is the app's: a request must present a valid key (or token) to use the header.
    """

    def __init__(self, app: ASGIApp, faults: Sequence[Fault] = (), *, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator
        self.plan = FaultPlan(faults)
        self._header_plans: OrderedDict[tuple[str, str], FaultPlan] = OrderedDict()
        self._lock = threading.Lock()

    def _from_header(self, headers: Headers) -> list[Fault]:
        spec = headers.get(FAULT_HEADER)
        if not spec:
            return []
        key = (headers.get("x-ms-client-request-id", ""), spec)
        with self._lock:
            plan = self._header_plans.get(key)
            if plan is None:
                plan = FaultPlan(parse_spec(spec))
                self._header_plans[key] = plan
                while len(self._header_plans) > _HEADER_PLANS_KEPT:
                    self._header_plans.popitem(last=False)
        return plan.pick()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PATHS):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if headers.get(FAULT_HEADER) and not self._authorized(headers):
            message = f"The {FAULT_HEADER} header needs a valid API key (or token) on the request."
            body = {"error": {"code": "Unauthorized", "message": message, "status": 401}}
            await self._answer(send, 401, body, {"x-ms-error-code": "Unauthorized"})
            return
        try:
            active = self.plan.pick() + self._from_header(headers)
        except FaultSpecError as exc:
            await self._answer(send, 400, {"error": {"code": "BadFaultSpec", "message": str(exc), "status": 400}}, {})
            return
        if not active:
            await self.app(scope, receive, send)
            return
        effects = _Effects.of(active)
        if effects.reset_before:
            _abort_connection(send)
            await asyncio.sleep(0)  # let uvicorn see the connection lost (no "returned without response" error)
            return
        if effects.status is not None:
            status, body, extra = _status_answer(effects.status)
            await self._answer(send, status, body, {FAULT_HEADER: "injected", **extra})
            return
        try:
            await self.app(scope, receive, _FaultySend(send, effects))
        except BaseException as exc:
            if not _is_stop(exc):
                raise

    def _authorized(self, headers: Headers) -> bool:
        try:
            self.authenticator.authenticate(headers)
        except ApiError:
            return False
        return True

    @staticmethod
    async def _answer(send: Send, status: int, body: dict[str, Any], extra: dict[str, str]) -> None:
        content = json.dumps(body).encode()
        request_id = str(uuid.uuid4())
        headers = {"content-type": "application/json", "content-length": str(len(content)),
                   "x-request-id": request_id, "apim-request-id": request_id, **extra}
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": content, "more_body": False})


class _FaultySend:
    """Wraps ``send`` for one response: each body message of an SSE answer is one event."""

    def __init__(self, send: Send, effects: _Effects) -> None:
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
            _abort_connection(self.send)
            raise _Stop
        if e.truncate is not None and self.events >= e.truncate:
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})
            raise _Stop
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
