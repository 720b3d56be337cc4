"""The fault-injecting ASGI middleware: server-wide faults and the per-request ``x-llama-azure-fault`` header."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ..auth import Authenticator
from ..errors import ApiError
from .faulty_send import FaultySend, abort_connection, is_stop
from .plan import Effects, FaultPlan
from .spec import Fault, FaultSpecError, parse_spec

FAULT_HEADER = "x-llama-azure-fault"
EXEMPT_PATHS = ("/openapi.json", "/swagger.json", "/_server/")
_HEADER_PLANS_KEPT = 4096


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
        effects = Effects.of(active)
        if effects.reset_before:
            abort_connection(send)
            await asyncio.sleep(0)  # let uvicorn see the connection lost (no "returned without response" error)
            return
        if effects.status is not None:
            status, body, extra = _status_answer(effects.status)
            await self._answer(send, status, body, {FAULT_HEADER: "injected", **extra})
            return
        try:
            await self.app(scope, receive, FaultySend(send, effects))
        except BaseException as exc:
            if not is_stop(exc):
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
