"""The two drivers of a call across deployments (``_deployments.Router.flow``): sync and async.

They only send each attempt through the chosen deployment's own client and sleep when told; every
decision is the router's.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar, cast

from ._core import PreparedCall
from ._deployments import Router, Send
from ._exceptions import APIError

T = TypeVar("T")


def _flow(client: Any, call: PreparedCall[Any]) -> Any:
    client._check_fork()  # the members send through this client's pool: renewed here after a fork
    router: Router = client._router
    return router.flow(call, client._config, client._on_retry)


def _sender(client: Any, step: Send) -> Any:
    """The chosen deployment's own client, sending through this client's pool (renewed after a fork)."""
    member = step.member.client
    member._http = client._http
    return member


def run(client: Any, call: PreparedCall[T]) -> T:
    """``LlamaClient._execute`` with ``deployments=``."""
    flow = _flow(client, call)
    try:
        step = next(flow)
        while True:
            if isinstance(step, Send):
                try:
                    result = _sender(client, step)._execute(step.call)
                except APIError as error:
                    step = flow.throw(error)
                    continue
                step = flow.send(result)
            else:
                time.sleep(step.seconds)
                step = flow.send(None)
    except StopIteration as done:
        return cast(T, done.value)


async def run_async(client: Any, call: PreparedCall[T]) -> T:
    """``AsyncLlamaClient._execute`` with ``deployments=``."""
    flow = _flow(client, call)
    try:
        step = next(flow)
        while True:
            if isinstance(step, Send):
                try:
                    result = await _sender(client, step)._execute(step.call)
                except APIError as error:
                    step = flow.throw(error)
                    continue
                step = flow.send(result)
            else:
                await _sleep(step.seconds)
                step = flow.send(None)
    except StopIteration as done:
        return cast(T, done.value)


async def _sleep(seconds: float) -> None:
    import asyncio  # loaded by the first async call, not at import

    await asyncio.sleep(seconds)
