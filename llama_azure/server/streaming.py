"""The streaming answer (``stream: true``): server-sent events, one ``data:`` event per released token."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse

from . import answers
from .answers import GenerationWaiter
from .engine import Candidate, CandidateDone, Generation, GenerationDone, GenerationFailed, TokenEvent, TokenLogprob
from .intake import PreparedGeneration
from .quota import Reservation
from .structured import ToolCallStreamer

log = logging.getLogger("llama_azure.server")

_DONE = b"data: [DONE]\n\n"


def sse_response(events: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


def _event(body: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(body, ensure_ascii=False).encode("utf-8") + b"\n\n"


async def sse_events(
    prepared: PreparedGeneration,
    generation: Generation,
    reservation: Reservation,
    waiter: GenerationWaiter,
    response_id: str,
    created: int,
    model: str,
) -> AsyncIterator[bytes]:
    """The one streaming path: one ``data:`` event per released token, then ``[DONE]``."""
    n = prepared.params.n
    pending: dict[int, list[TokenLogprob]] = {}

    tool_streams: dict[int, ToolCallStreamer] | None = {} if prepared.plan.tools else None

    def chunk(
        index: int, text: str | None, finish: str | None, *, role: bool = False, usage: dict[str, int] | None = None,
        delta: dict[str, Any] | None = None,
    ) -> bytes:
        entries = pending.pop(index, [])
        body = answers.chunk_body(
            prepared,
            response_id,
            created,
            model,
            index=index,
            text=text,
            finish=finish,
            entries=entries,
            role=role,
            usage=usage,
            delta=delta,
        )
        return _event(body)

    def finish_tools(candidate: Candidate) -> list[bytes]:
        """A tool plan's last deltas; sets the candidate's finish reason (``tool_calls`` for a call)."""
        if tool_streams is None:
            return []
        streamer = tool_streams.setdefault(candidate.index, ToolCallStreamer())
        deltas, candidate.finish_reason = streamer.finish(candidate.finish_reason)
        return [chunk(candidate.index, None, None, delta=d) for d in deltas]

    finished = False
    try:
        if prepared.kind == "chat":
            for index in range(n):
                yield chunk(index, "", None, role=True)
        last_done: Candidate | None = None
        async for event in generation.events():
            if isinstance(event, TokenEvent):
                pending.setdefault(event.candidate, []).extend(event.logprobs)
                if event.text and tool_streams is not None:
                    streamer = tool_streams.setdefault(event.candidate, ToolCallStreamer())
                    for delta in streamer.feed(event.text):
                        yield chunk(event.candidate, None, None, delta=delta)
                elif event.text:
                    yield chunk(event.candidate, event.text, None)
            elif isinstance(event, CandidateDone):
                for piece in finish_tools(event.candidate):
                    yield piece
                if event.candidate.index < n - 1:
                    pending.pop(event.candidate.index, None)  # tokens of text cut by a stop
                    yield chunk(event.candidate.index, None, event.candidate.finish_reason)
                else:
                    last_done = event.candidate
            elif isinstance(event, GenerationDone):
                finished = True
                reservation.settle(event.total_tokens)
                index = last_done.index if last_done else n - 1
                reason = last_done.finish_reason if last_done else "stop"
                pending.pop(index, None)
                yield chunk(index, None, reason, usage=answers.usage(event.prompt_tokens, event.completion_tokens))
                yield _DONE
            elif isinstance(event, GenerationFailed):
                finished = True
                reservation.settle(len(prepared.prompt_tokens))
                log.error("generation failed mid-stream: %r", event.error)
                yield _event({"error": {"code": "InternalServerError", "message": "Generation failed.", "status": 500}})
                yield _DONE
    finally:
        if not finished:
            # The client went away (or the server is stopping): stop generating now.
            waiter.cancel(generation, reservation)
