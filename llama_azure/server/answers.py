"""The answer to a generation: waiting for it while watching for the client to disconnect, settling its quota
reservation with the tokens really used however it ends, and the JSON bodies of completion and chat answers
(whole responses, stream chunks, usage, logprobs)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request

from .engine import Candidate, Generation, GenerationDone, TokenLogprob
from .intake import PreparedGeneration
from .quota import Reservation
from .structured import message_for


class GenerationWaiter:
    """Holds the background tasks that settle reservations of generations nobody waits for any more.

    A ``reservation`` of ``None`` settles nothing: the caller settles one reservation for several
    generations (``/score``)."""

    def __init__(self) -> None:
        self._background: set[asyncio.Task[None]] = set()

    async def result(self, request: Request, generation: Generation,
                     reservation: Reservation | None) -> GenerationDone | None:
        """The result, or None when the client disconnects first (the generation is then cancelled)."""
        result = asyncio.ensure_future(generation.result())
        disconnect = asyncio.ensure_future(_disconnected(request))
        try:
            await asyncio.wait({result, disconnect}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            disconnect.cancel()
            if not result.done():
                generation.cancel()
                self._settle_later(result, reservation)
        if not result.done():
            return None
        try:
            done: GenerationDone = result.result()
        except BaseException:
            _settle(reservation, 0)
            raise
        _settle(reservation, done.total_tokens)
        return done

    def cancel(self, generation: Generation, reservation: Reservation) -> None:
        """Stops ``generation`` now; its reservation is settled once it has really stopped."""
        generation.cancel()
        self._settle_later(asyncio.ensure_future(generation.result()), reservation)

    def _settle_later(self, result: asyncio.Future[GenerationDone], reservation: Reservation | None) -> None:
        async def settle() -> None:
            try:
                done = await result
                _settle(reservation, done.total_tokens)
            except BaseException:
                _settle(reservation, 0)

        task = asyncio.ensure_future(settle())
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _settle(reservation: Reservation | None, tokens: int) -> None:
    if reservation is not None:
        reservation.settle(tokens)


async def _disconnected(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return



def response_id(prepared: PreparedGeneration) -> str:
    return ("chatcmpl-" if prepared.kind == "chat" else "cmpl-") + uuid.uuid4().hex


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def logprobs_body(entries: Sequence[TokenLogprob]) -> dict[str, Any]:
    """The Llama API shape of token logprobs."""
    return {
        "text_offsets": [e.offset for e in entries],
        "token_logprobs": [e.logprob for e in entries],
        "tokens": [e.token for e in entries],
        "top_logprobs": [e.top for e in entries],
    }


def chat_logprobs_body(entries: Sequence[TokenLogprob]) -> dict[str, Any]:
    """OpenAI's chat shape: ``{"content": [{token, logprob, bytes, top_logprobs: [...]}]}``."""
    return {"content": [
        {"token": e.token, "logprob": e.logprob, "bytes": list(e.token.encode("utf-8")),
         "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode("utf-8"))} for t, lp in e.top.items()]}
        for e in entries
    ]}


def _logprobs(prepared: PreparedGeneration, entries: Sequence[TokenLogprob]) -> dict[str, Any]:
    return chat_logprobs_body(entries) if prepared.chat_logprobs else logprobs_body(entries)


def ranked(prepared: PreparedGeneration, candidates: list[Candidate]) -> list[Candidate]:
    if prepared.params.candidates > prepared.params.n:
        candidates = sorted(candidates, key=lambda c: c.cumulative_logprob, reverse=True)
    return candidates[: prepared.params.n]


def completion_body(
    prepared: PreparedGeneration, done: GenerationDone, response_id: str, created: int, model: str
) -> dict[str, Any]:
    """The whole answer: ``chat.completion`` or ``text_completion``."""
    choices: list[dict[str, Any]] = []
    want_logprobs = prepared.params.logprobs is not None
    for index, candidate in enumerate(ranked(prepared, done.candidates)):
        logprobs = _logprobs(prepared, candidate.kept_logprobs()) if want_logprobs else None
        if prepared.kind == "chat":
            message: dict[str, Any] = {"role": "assistant", "content": candidate.text}
            finish = candidate.finish_reason
            if prepared.plan.tools:
                message, finish = message_for(candidate.text, finish)
            choice: dict[str, Any] = {"index": index, "message": message, "finish_reason": finish}
            if want_logprobs:
                choice["logprobs"] = logprobs
        else:
            choice = {
                "index": index,
                "text": candidate.text,
                "finish_reason": candidate.finish_reason,
                "logprobs": logprobs,
            }
        choices.append(choice)
    return {
        "id": response_id,
        "object": "chat.completion" if prepared.kind == "chat" else "text_completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": usage(done.prompt_tokens, done.completion_tokens),
    }


def chunk_body(
    prepared: PreparedGeneration,
    response_id: str,
    created: int,
    model: str,
    *,
    index: int,
    text: str | None,
    finish: str | None,
    entries: Sequence[TokenLogprob] = (),
    role: bool = False,
    usage: dict[str, int] | None = None,
    delta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One stream chunk for candidate ``index``; ``text=None`` is the empty delta of a closing chunk
    (``delta`` replaces the text delta: tool-call pieces)."""
    chat = prepared.kind == "chat"
    choice: dict[str, Any] = {"index": index}
    if delta is not None:
        choice["delta"] = delta
    elif chat:
        if text is None:
            choice["delta"] = {}
        elif role:
            choice["delta"] = {"role": "assistant", "content": text}
        else:
            choice["delta"] = {"content": text}
    else:
        choice["text"] = text or ""
    if prepared.params.logprobs is not None:
        choice["logprobs"] = _logprobs(prepared, entries) if entries else None
    elif not chat:
        choice["logprobs"] = None
    choice["finish_reason"] = finish
    body: dict[str, Any] = {
        "id": response_id,
        "object": "chat.completion.chunk" if chat else "text_completion",
        "created": created,
        "model": model,
        "choices": [choice],
    }
    if usage is not None:
        body["usage"] = usage
    return body
