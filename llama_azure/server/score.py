"""``POST /score``: the managed-endpoint legacy format, one generation per input string."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .engine import SamplingParams
from .generation_request import chat_prompt, check_prompt_length
from .quota import Reservation
from .request_checks import json_body, parse
from .schemas import ChatMessage, ScoreRequest

if TYPE_CHECKING:
    from .app import ReferenceServerApp


async def score(server: ReferenceServerApp, request: Request) -> Response:
    """The managed-endpoint legacy format."""
    deployment = server.authorize(request)
    body = await json_body(request)
    parsed = parse(ScoreRequest, body)
    data = parsed.input_data
    p = data.parameters
    temperature = p.temperature if p.do_sample else 0.0
    base = SamplingParams(
        max_tokens=p.max_new_tokens,
        temperature=temperature,
        top_p=p.top_p,
        seed=p.seed,
        blocked=server.blocklist.words,
    )
    engine = server.engine
    prompts: list[list[int]]
    texts: list[str]
    chat = isinstance(data.input_string[0], ChatMessage)
    if chat:
        text, tokens = chat_prompt(engine, [m for m in data.input_string if isinstance(m, ChatMessage)])
        texts = [text]
        prompts = [tokens]
    else:
        texts = [s for s in data.input_string if isinstance(s, str)]
        prompts = [engine.tokenize(t) for t in texts]
    for tokens in prompts:
        check_prompt_length(engine, len(tokens), p.max_new_tokens, "input_string")
    blocked_input = [server.blocklist.contains(t) for t in texts]
    if chat and blocked_input[0]:
        return JSONResponse({})  # the content-safety wrapper's answer to a blocked input
    reservation = server.admit(deployment, sum(len(t) for t in prompts) + p.max_new_tokens * len(prompts))
    outputs: list[str] = []
    used = 0
    try:
        for tokens, blocked in zip(prompts, blocked_input, strict=True):
            if blocked:
                outputs.append("")
                continue
            generation = engine.submit(tokens, base)
            done = await server.waiter.result(request, generation, _NullReservation())
            if done is None:
                return Response(status_code=499)
            used += done.total_tokens
            candidate = done.candidates[0]
            outputs.append("" if candidate.finish_reason == "content_filter" else candidate.text)
    finally:
        reservation.settle(used)
    if chat:
        return JSONResponse({"output": outputs[0]})
    return JSONResponse([{"0": text} for text in outputs])


class _NullReservation(Reservation):
    """Each input's generation settles nothing: the one reservation for the whole request is settled above."""

    def __init__(self) -> None:
        self.settled = False

    def settle(self, actual_tokens: int) -> None:
        self.settled = True
