"""A completion or chat request checked against the engine's limits and turned into a
:class:`PreparedGeneration`: prompt tokens and sampling parameters, ready to submit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from . import errors
from .content_filter import Blocklist
from .engine import Engine, SamplingParams
from .schemas import ChatCompletionRequest, ChatMessage, CompletionRequest, InferenceChatCompletionRequest
from .structured import Plan, plan_for, render

MAX_TOTAL_TOKENS = 8192  # n (or best_of) * max_tokens, per request


@dataclass
class PreparedGeneration:
    """A validated generation request, ready for the engine."""

    kind: Literal["chat", "text"]
    prompt_tokens: list[int]
    params: SamplingParams
    stream: bool
    deployment: str
    plan: Plan = field(default_factory=Plan)
    """Tools or structured output: the grammar used, and how the text becomes ``tool_calls``."""
    chat_logprobs: bool = False
    """Logprobs in OpenAI's chat form (``{"content": [...]}``) rather than the Llama API's."""


def prepare(
    parsed: CompletionRequest | ChatCompletionRequest, deployment: str, engine: Engine, blocklist: Blocklist
) -> PreparedGeneration:
    """Checks ``parsed`` (parameters, content filter, context length) and builds what the engine runs.

    Tokenizes: call it on the prompt thread (:class:`~llama_azure.server.prompt_thread.PromptThread`).
    """
    check_supported(parsed, engine)
    plan = Plan()
    if isinstance(parsed, CompletionRequest):
        kind: Literal["chat", "text"] = "text"
        prompt_text = parsed.prompt
        field_name = "prompt"
        check_prompt_bytes(engine, [prompt_text], field_name)
        tokens = engine.tokenize(prompt_text)
    else:
        kind = "chat"
        field_name = "messages"
        plan = plan_for(parsed)
        prompt_text, tokens = chat_prompt(engine, parsed.messages, plan)
    if blocklist.contains(prompt_text):
        raise errors.content_filter(param="prompt")
    check_prompt_length(engine, len(tokens), parsed.max_tokens, field_name)

    frequency_penalty = getattr(parsed, "frequency_penalty", 0.0)
    params = SamplingParams(
        max_tokens=parsed.max_tokens,
        temperature=parsed.temperature,
        top_p=parsed.top_p,
        presence_penalty=parsed.presence_penalty,
        frequency_penalty=float(frequency_penalty),
        seed=parsed.seed,
        stop=tuple(parsed.stop_list()),
        stop_token_ids=tuple(parsed.stop_token_ids or ()),
        ignore_eos=parsed.ignore_eos,
        skip_special_tokens=parsed.skip_special_tokens,
        logprobs=_logprobs(parsed),
        n=parsed.n,
        best_of=parsed.best_of,
        blocked=blocklist.words,
        grammar=_grammar(engine, plan),
    )
    chat_logprobs = isinstance(parsed, InferenceChatCompletionRequest) and parsed.chat_logprobs()
    return PreparedGeneration(kind, tokens, params, parsed.stream, deployment, plan, chat_logprobs)


def _logprobs(parsed: CompletionRequest | ChatCompletionRequest) -> int | None:
    if isinstance(parsed, InferenceChatCompletionRequest):
        return parsed.logprob_alternatives()
    return parsed.logprobs


def _grammar(engine: Engine, plan: Plan) -> object:
    if plan.schema is None:
        return None
    try:
        return engine.grammar(plan.schema)
    except ValueError as exc:
        param = "tools" if plan.tools else "response_format"
        raise errors.bad_request(f"This server cannot constrain the answer to the given JSON schema ({exc}); "
                                 "simplify the schema.", param=param) from None


def chat_prompt(engine: Engine, messages: Sequence[ChatMessage], plan: Plan | None = None) -> tuple[str, list[int]]:
    """The text the content filter reads, and the prompt tokens in the model's chat template."""
    plain = render(messages, plan or Plan())
    check_prompt_bytes(engine, [m["content"] for m in plain], "messages")
    text = "\n".join(m["content"] for m in plain)
    return text, engine.tokenize(engine.chat_prompt(plain), special=True)


def check_prompt_bytes(engine: Engine, texts: Sequence[str], field_name: str) -> None:
    """Refuses text that cannot fit in the context by its size alone, before any template or tokenizing.

    No token stands for more than ``engine.max_token_bytes`` bytes, so text over ``engine.max_prompt_bytes``
    has at least ``n_ctx`` tokens: the answer is the one tokenizing would give, for a fraction of the cost.
    """
    size = sum(len(text.encode("utf-8")) for text in texts)
    if size > engine.max_prompt_bytes:
        raise errors.bad_request(
            f"This model's maximum context length is {engine.n_ctx} tokens, but the {field_name} has {size} "
            f"bytes of text: more than {engine.max_prompt_bytes} bytes cannot fit in {engine.n_ctx} tokens. "
            f"Shorten the {field_name}.",
            param=field_name,
            code="context_length_exceeded",
        )


def check_prompt_length(engine: Engine, prompt_tokens: int, max_tokens: int, field_name: str) -> None:
    if prompt_tokens >= engine.n_ctx:
        raise errors.bad_request(
            f"This model's maximum context length is {engine.n_ctx} tokens, but the {field_name} "
            f"has {prompt_tokens} tokens. Shorten the {field_name}.",
            param=field_name,
            code="context_length_exceeded",
        )
    if prompt_tokens + max_tokens > engine.n_ctx:
        raise errors.bad_request(
            f"This model's maximum context length is {engine.n_ctx} tokens. However, you requested "
            f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in the {field_name}, {max_tokens} for "
            "the completion). Reduce the length of the prompt or max_tokens.",
            param="max_tokens",
            code="context_length_exceeded",
        )


def check_supported(parsed: CompletionRequest | ChatCompletionRequest, engine: Engine) -> None:
    if parsed.use_beam_search:
        raise errors.parameter_not_supported(
            ["body", "use_beam_search"],
            True,
            "use_beam_search is not supported by this server's engine; use best_of instead.",
        )
    best_of = parsed.best_of
    if best_of is not None and best_of < parsed.n:
        raise errors.validation_error(
            f"best_of ({best_of}) must be greater than or equal to n ({parsed.n}).",
            param="best_of",
            details=[{"loc": ["body", "best_of"], "msg": "must be >= n", "type": "value_error"}],
        )
    if best_of is not None and best_of > 1 and parsed.stream:
        raise errors.validation_error(
            "best_of cannot be used with stream: candidates are ranked after they are all generated.",
            param="best_of",
            details=[{"loc": ["body", "best_of"], "msg": "not streamable", "type": "value_error"}],
        )
    candidates = max(parsed.n, best_of or 1)
    if candidates * parsed.max_tokens > MAX_TOTAL_TOKENS:
        raise errors.validation_error(
            f"n (or best_of) * max_tokens = {candidates * parsed.max_tokens} exceeds this server's "
            f"limit of {MAX_TOTAL_TOKENS} tokens per request.",
            param="max_tokens",
            details=[{"loc": ["body", "max_tokens"], "msg": "too many tokens", "type": "value_error"}],
        )
    for token_id in parsed.stop_token_ids or ():
        if not 0 <= token_id < engine.n_vocab:
            raise errors.validation_error(
                f"stop_token_ids contains {token_id}, outside the vocabulary (0..{engine.n_vocab - 1}).",
                param="stop_token_ids",
                details=[{"loc": ["body", "stop_token_ids"], "msg": "unknown token", "type": "value_error"}],
            )
