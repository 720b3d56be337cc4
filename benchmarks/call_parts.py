"""Where a non-streamed chat call's client CPU goes: each part replaced by a near-free stand-in, in turn.

``client_overhead.py`` says how a call compares with the floor (raw httpx + ``json.loads``); this says which
parts of llama-azure's own work make the difference. For each part, rounds of calls with the part as it is
alternate with rounds where it is replaced by a stand-in that does almost nothing (a precomputed result, the
same template request, ``json.loads`` instead of the typed model, ...), in one process. The difference of the
best rounds (and the median of the paired differences) is what the part costs *in the call*, cache misses
and garbage collection included (timed alone in a tight loop, most parts cost about half of that). Parts
nest (the request building is part of preparing the call). A part whose seam is not there (the code
moved) is reported as such.

By default the HTTP answer comes from an in-memory transport (``httpx.MockTransport``: no sockets, so the
client's own work shows and the figures move less); ``--socket`` uses the canned server of
``client_overhead.py``. The floor's CPU per call is printed alongside, measured the same way.

    .venv/bin/python benchmarks/call_parts.py [--mode sync|async|both] [--socket] [--requests N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import inspect
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's llama_azure first
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
from _canned_server import COMPLETION  # noqa: E402

MESSAGES = [{"role": "user", "content": "hi"}]
Undo = Callable[[], None]


class _Light:
    """What the typed answer is replaced by: the parsed JSON, and room for the request id."""

    _request_id: str | None = None

    def __init__(self, data: Any) -> None:
        self.data = data


class _Moved(Exception):
    """The seam a stand-in replaces is not there (the code moved): the part is not measured."""


def _patch(undo: list[Undo], owner: Any, name: str, value: Any) -> None:
    if not hasattr(owner, name):
        raise _Moved(f"no {getattr(owner, '__name__', owner)}.{name}")
    old = getattr(owner, name)
    setattr(owner, name, value)
    undo.append(lambda: setattr(owner, name, old))


def _parts(url: str) -> dict[str, tuple[str, Callable[[list[Undo]], str | None]]]:
    """Each part: what its stand-in is, and a function installing it (returning why not, if it cannot)."""
    import llama_azure._async_client as async_shell
    import llama_azure._call.prepare as core
    import llama_azure._client as sync_shell
    import llama_azure._request.params as params
    from llama_azure import LlamaClient
    from llama_azure._http.timeouts import CallTimer

    # The client's own config and the shells' prepare_chat: wherever they are defined, the shells have them.
    config = LlamaClient(endpoint=url, credential="k", max_retries=0)._config
    prepared = sync_shell.prepare_chat(config, MESSAGES, False, {})

    def prepare(undo: list[Undo]) -> str | None:
        copy = lambda *args: dataclasses.replace(prepared, timer=CallTimer())  # noqa: E731
        _patch(undo, sync_shell, "prepare_chat", copy)
        _patch(undo, async_shell, "prepare_chat", copy)
        return None

    def checks(undo: list[Undo]) -> str | None:
        checked, body = params.validate_chat(MESSAGES, {}, False, config.api)
        # Where prepare_chat finds it: what prepare loaded at the first call, else the module.
        owner = core._load() if hasattr(core, "_load") else params
        _patch(undo, owner, "validate_chat", lambda *args: (checked, dict(body)))
        return None

    def build(undo: list[Undo]) -> str | None:
        _patch(undo, core, "_build", lambda *args, **kwargs: dataclasses.replace(prepared, timer=CallTimer()))
        return None

    def template(undo: list[Undo]) -> str | None:
        # The usual call's headers come from the config's encoded ones (_json_request), others from _request.
        _patch(undo, core, "_json_request" if hasattr(core, "_json_request") else "_request",
               lambda *args: prepared.headers)
        return None

    def body_json(undo: list[Undo]) -> str | None:
        text = json.dumps({"messages": MESSAGES}, separators=(",", ":"))
        stand_in = staticmethod(lambda *args, **kwargs: text)
        if hasattr(core, "_JSON"):  # prepare's own encoder
            _patch(undo, core, "_JSON", type("Encoder", (), {"encode": stand_in})())
        else:
            _patch(undo, core, "json", type("Json", (), {"dumps": stand_in}))
        return None

    def retry_loop(undo: list[Undo]) -> str | None:
        shells = (sync_shell.LlamaClient, async_shell.AsyncLlamaClient)
        if not all("Retrying" in inspect.getsource(shell._execute) for shell in shells):
            return "no tenacity loop in _execute"

        async def attempt(self: Any, call: Any) -> Any:
            return await self._attempt(call)

        _patch(undo, sync_shell.LlamaClient, "_execute", lambda self, call: self._attempt(call))
        _patch(undo, async_shell.AsyncLlamaClient, "_execute", attempt)
        return None

    def read_body(undo: list[Undo]) -> str | None:
        async def aread(response: httpx.Response, *args: Any) -> bytes:
            return await response.aread()

        _patch(undo, sync_shell, "read_body", lambda response, *args: response.read())
        _patch(undo, async_shell, "aread_body", aread)
        return None

    def parse(undo: list[Undo]) -> str | None:
        _patch(undo, core, "_model_parser", lambda model: lambda response, content: _Light(json.loads(content)))
        return None

    def collector(undo: list[Undo]) -> str | None:
        gc.disable()
        undo.append(gc.enable)
        return None

    return {
        "prepare_chat (all of preparing the call)": ("a copy of a prepared call", prepare),
        "  messages and parameters checked": ("the checked result", checks),
        "  request built (prepare._build)": ("a copy of a prepared call", build),
        "    headers encoded (prepare._json_request)": ("the same headers", template),
        "    body JSON (json.dumps)": ("the same text", body_json),
        "retry loop (tenacity)": ("the attempt called directly", retry_loop),
        "body read (read_body, size cap, timer)": ("response.read()", read_body),
        "answer parsed, beyond json.loads": ("json.loads", parse),
        "garbage collection": ("gc.disable()", collector),
    }


def _handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=COMPLETION, headers={"content-type": "application/json"})


def _clients(url: str, mode: str, socket: bool) -> tuple[Any, Any]:
    """The floor's call and llama-azure's, each a function (sync) or coroutine function (async)."""
    from llama_azure import AsyncLlamaClient, LlamaClient

    endpoint, headers = url + "/v1/chat/completions", {"authorization": "Bearer k", "content-type": "application/json"}
    transport = None if socket else httpx.MockTransport(_handler)
    if mode == "sync":
        raw = httpx.Client(transport=transport)
        client = LlamaClient(endpoint=url, credential="k", max_retries=0, http_client=httpx.Client(transport=transport))

        def floor() -> Any:
            answer = raw.post(endpoint, content=json.dumps({"messages": MESSAGES}), headers=headers)
            return json.loads(answer.content)

        return floor, lambda: client.chat.completions.create(messages=MESSAGES)
    araw = httpx.AsyncClient(transport=transport)
    aclient = AsyncLlamaClient(endpoint=url, credential="k", max_retries=0,
                               http_client=httpx.AsyncClient(transport=transport))

    async def afloor() -> Any:
        answer = await araw.post(endpoint, content=json.dumps({"messages": MESSAGES}), headers=headers)
        return json.loads(answer.content)

    async def ours() -> Any:
        return await aclient.chat.completions.create(messages=MESSAGES)

    return afloor, ours


async def _measure(mode: str, url: str, cfg: argparse.Namespace) -> None:
    floor, ours = _clients(url, mode, cfg.socket)

    async def per_call(call: Any) -> float:
        t0 = time.process_time()
        for _ in range(cfg.requests):
            if mode == "sync":
                call()
            else:
                await call()
        return (time.process_time() - t0) / cfg.requests * 1e6

    await per_call(floor), await per_call(ours)  # warm up (validators built, connections open)
    gc.collect()  # the warm-up's garbage, not the first timed round's to collect (see client_overhead.py)
    floor_times, our_times = [], []
    for _ in range(cfg.rounds):
        floor_times.append(await per_call(floor))
        our_times.append(await per_call(ours))
    best_floor, best_ours = min(floor_times), min(our_times)
    print(f"\n{mode}: floor {best_floor:.1f} us per call, llama-azure {best_ours:.1f} us "
          f"({best_ours / best_floor:.2f}x, {best_ours - best_floor:+.1f} us; best of {cfg.rounds} rounds "
          f"of {cfg.requests})")
    print(f"  {'part (its cost in the call)':<44} {'stand-in':<28} {'best-best':>9} {'paired median':>13}")
    for label, (stand_in, install) in _parts(url).items():
        with_part: list[float] = []
        without: list[float] = []
        why: str | None = None
        for _ in range(cfg.rounds):
            with_part.append(await per_call(ours))
            undo: list[Undo] = []
            try:
                why = install(undo)
                if why is None:
                    without.append(await per_call(ours))
            except _Moved as moved:
                why = str(moved)
            finally:
                for step in reversed(undo):
                    step()
            if why is not None:
                break
        if why is not None:
            print(f"  {label:<44} {stand_in:<28} not measured: {why}")
            continue
        paired = statistics.median(a - b for a, b in zip(with_part, without, strict=True))
        print(f"  {label:<44} {stand_in:<28} {min(with_part) - min(without):6.1f} us {paired:10.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("sync", "async", "both"), default="both")
    parser.add_argument("--socket", action="store_true", help="the canned server instead of an in-memory transport")
    parser.add_argument("--requests", type=int, default=1000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=11, help="paired rounds per part")
    cfg = parser.parse_args()
    server = None
    url = "http://127.0.0.1:9"  # in memory: never connected to
    if cfg.socket:
        from client_overhead import start_server

        server, url = start_server(10, False)
    try:
        for mode in ("sync", "async") if cfg.mode == "both" else (cfg.mode,):
            asyncio.run(_measure(mode, url, cfg))
    finally:
        if server is not None:
            from client_overhead import stop_server

            stop_server(server)


if __name__ == "__main__":
    main()
