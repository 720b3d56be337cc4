"""``POST /score``: the managed-endpoint legacy format, one generation per input string."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import errors
from .engine import SamplingParams
from .generation_request import MAX_TOTAL_TOKENS, chat_prompt, check_prompt_bytes, check_prompt_length
from .quota import Reservation
from .request_checks import decode_json, parse, read_body
from .schemas import ChatMessage, ScoreRequest

if TYPE_CHECKING:
    from .app import ReferenceServerApp
    from .content_filter import Blocklist
    from .engine import Engine


@dataclass
class _ScoreJob:
    """A checked ``/score`` request: one prompt per generation, and which inputs the content filter blocks."""

    chat: bool
    prompts: list[list[int]]
    blocked_input: list[bool]
    params: SamplingParams


async def score(server: ReferenceServerApp, request: Request) -> Response:
    """The managed-endpoint legacy format."""
    deployment = server.authorize(request)
    raw = await read_body(request, server.config.body_timeout_s)
    job = await server.prompts.run(_prepare, server.engine, server.blocklist, raw)
    if job.chat and job.blocked_input[0]:
        return JSONResponse({})  # the content-safety wrapper's answer to a blocked input
    prompts = job.prompts
    reservation = server.admit(deployment, sum(len(t) for t in prompts) + job.params.max_tokens * len(prompts))
    outputs: list[str] = []
    used = 0
    try:
        for tokens, blocked in zip(prompts, job.blocked_input, strict=True):
            if blocked:
                outputs.append("")
                continue
            generation = server.engine.submit(tokens, job.params)
            done = await server.waiter.result(request, generation, _NullReservation())
            if done is None:
                return Response(status_code=499)
            used += done.total_tokens
            candidate = done.candidates[0]
            outputs.append("" if candidate.finish_reason == "content_filter" else candidate.text)
    finally:
        reservation.settle(used)
    if job.chat:
        return JSONResponse({"output": outputs[0]})
    return JSONResponse([{"0": text} for text in outputs])


def _prepare(engine: Engine, blocklist: Blocklist, raw: bytes) -> _ScoreJob:
    """On the prompt thread: decode and check the body, tokenize each input."""
    parsed = parse(ScoreRequest, decode_json(raw))
    data = parsed.input_data
    p = data.parameters
    chat = isinstance(data.input_string[0], ChatMessage)
    generations = 1 if chat else len(data.input_string)
    if generations * p.max_new_tokens > MAX_TOTAL_TOKENS:  # the cap n * max_tokens of the other routes
        raise errors.validation_error(
            f"{generations} input strings * max_new_tokens ({p.max_new_tokens}) = {generations * p.max_new_tokens} "
            f"exceeds this server's limit of {MAX_TOTAL_TOKENS} tokens per request.",
            param="input_data.parameters.max_new_tokens",
            details=[
                {
                    "loc": ["body", "input_data", "parameters", "max_new_tokens"],
                    "msg": "too many tokens",
                    "type": "value_error",
                }
            ],
        )
    base = SamplingParams(
        max_tokens=p.max_new_tokens,
        temperature=p.temperature if p.do_sample else 0.0,
        top_p=p.top_p,
        seed=p.seed,
        blocked=blocklist.words,
    )
    texts: list[str]
    prompts: list[list[int]]
    if chat:
        text, tokens = chat_prompt(engine, [m for m in data.input_string if isinstance(m, ChatMessage)])
        texts, prompts = [text], [tokens]
    else:
        texts = [s for s in data.input_string if isinstance(s, str)]
        for text in texts:
            check_prompt_bytes(engine, [text], "input_string")
        prompts = [engine.tokenize(t) for t in texts]
    for tokens in prompts:
        check_prompt_length(engine, len(tokens), p.max_new_tokens, "input_string")
    return _ScoreJob(chat, prompts, [blocklist.contains(t) for t in texts], base)


class _NullReservation(Reservation):
    """Each input's generation settles nothing: the one reservation for the whole request is settled above."""

    def __init__(self) -> None:
        self.settled = False

    def settle(self, actual_tokens: int) -> None:
        self.settled = True
