"""``POST /score``, the managed-endpoint legacy format: the checked request (one prompt per generation) and the
answer's shape. The route itself is :meth:`~llama_azure.server.app.ReferenceServerApp.score`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .content_filter import Blocklist
from .engine import Engine, SamplingParams
from .intake import (
    chat_prompt,
    check_prompt_bytes,
    check_prompt_length,
    check_token_budget,
    decode_json,
    parse,
    sampling_params,
)
from .schemas import ChatMessage, ScoreRequest


@dataclass
class ScoreJob:
    """A checked ``/score`` request: one prompt per generation, and which inputs the content filter blocks."""

    chat: bool
    prompts: list[list[int]]
    blocked_input: list[bool]
    params: SamplingParams

    def answer(self, outputs: list[str]) -> Any:
        """``{"output": text}`` for chat, ``[{"0": text}, ...]`` for text input strings."""
        if self.chat:
            return {"output": outputs[0]}
        return [{"0": text} for text in outputs]


def prepare_score(engine: Engine, blocklist: Blocklist, raw: bytes) -> ScoreJob:
    """On the prompt thread: decode and check the body, tokenize each input."""
    parsed = parse(ScoreRequest, decode_json(raw))
    data = parsed.input_data
    p = data.parameters
    chat = isinstance(data.input_string[0], ChatMessage)
    generations = 1 if chat else len(data.input_string)
    check_token_budget(generations, p.max_new_tokens,  # the cap n * max_tokens of the other routes
                       f"{generations} input strings * max_new_tokens ({p.max_new_tokens})",
                       ["input_data", "parameters", "max_new_tokens"])
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
    return ScoreJob(chat, prompts, [blocklist.contains(t) for t in texts], sampling_params(p, blocklist))
