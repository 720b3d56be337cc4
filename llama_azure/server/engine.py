"""The model: one llama.cpp instance, one worker thread, a queue of generation jobs.

A ``llama_cpp.Llama`` is not thread-safe, so every token is generated on one dedicated worker thread.
Requests are queued, never refused, and served round-robin, one candidate at a time, in arrival order.
Each job streams its tokens back to the event loop with ``loop.call_soon_threadsafe`` into an
``asyncio.Queue``; a per-job cancel flag, checked between tokens, stops generation as soon as the client
goes away.
"""

from __future__ import annotations

import asyncio
import codecs
import collections
import ctypes
import logging
import math
import queue
import random
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from .content_filter import TextScanner
from .cpu import RepackChoice
from .limits import MAX_GRAMMAR_BYTES
from .loading import load_llama, self_check
from .schema_limits import SchemaTooLarge

log = logging.getLogger("llama_azure.server")

_SEED_MODULUS = 2**32 - 1  # 0xFFFFFFFF means "random" to llama.cpp


@dataclass(frozen=True)
class SamplingParams:
    """What to generate; validated by the app before it gets here."""

    max_tokens: int = 16
    temperature: float = 1.0
    top_p: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    stop_token_ids: tuple[int, ...] = ()
    ignore_eos: bool = False
    skip_special_tokens: bool = True
    logprobs: int | None = None
    n: int = 1
    best_of: int | None = None
    blocked: tuple[str, ...] = ()
    grammar: Any = None
    """A ``llama_cpp.LlamaGrammar``: every sampled token keeps the text valid for it (tools, JSON output)."""

    @property
    def candidates(self) -> int:
        return max(self.n, self.best_of or self.n)


@dataclass
class TokenLogprob:
    token: str
    logprob: float
    top: dict[str, float]
    offset: int


@dataclass
class Candidate:
    """One generated answer."""

    index: int
    text: str = ""
    finish_reason: str | None = None
    n_tokens: int = 0
    cumulative_logprob: float = 0.0
    logprobs: list[TokenLogprob] = field(default_factory=list)

    def kept_logprobs(self) -> list[TokenLogprob]:
        """The logprobs of the tokens that lie wholly inside the final text."""
        return [lp for lp in self.logprobs if lp.offset + len(lp.token) <= len(self.text)]


@dataclass
class TokenEvent:
    """Text released by one generated token (may be empty while a possible stop is held back)."""

    candidate: int
    text: str
    logprobs: list[TokenLogprob]


@dataclass
class CandidateDone:
    candidate: Candidate


@dataclass
class GenerationDone:
    prompt_tokens: int
    completion_tokens: int
    candidates: list[Candidate]
    cancelled: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class GenerationFailed:
    error: BaseException


Event = TokenEvent | CandidateDone | GenerationDone | GenerationFailed


class Generation:
    """Handle on one submitted job: iterate its events; :meth:`cancel` stops it between two tokens."""

    def __init__(self, prompt_tokens: Sequence[int], params: SamplingParams, loop: asyncio.AbstractEventLoop):
        self.prompt_tokens = list(prompt_tokens)
        self.params = params
        self._loop = loop
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._cancel = threading.Event()
        self.finished = False

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def _emit(self, event: Event) -> None:  # called on the worker thread
        try:
            self._loop.call_soon_threadsafe(self._events.put_nowait, event)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self._cancel.set()

    async def events(self) -> AsyncIterator[Event]:
        """Events until (and including) ``GenerationDone`` or ``GenerationFailed``."""
        while True:
            event = await self._events.get()
            yield event
            if isinstance(event, GenerationDone | GenerationFailed):
                self.finished = True
                return

    async def result(self) -> GenerationDone:
        async for event in self.events():
            if isinstance(event, GenerationFailed):
                raise event.error
            if isinstance(event, GenerationDone):
                return event
        raise RuntimeError("generation ended without a result")  # pragma: no cover


# llama-cpp-python's JSON-schema converter lets a string hold raw control characters (its `char` rule is
# `[^"\\]`), which JSON forbids: a model once wrote a newline inside "city" and the answer did not parse.
# llama.cpp's own converter excludes them; so does this.
_LOOSE_CHAR_RULE = r'char ::= [^"\\] |'
_JSON_CHAR_RULE = r'char ::= [^"\\\x7F\x00-\x1F] |'


def json_string_chars_only(grammar: str) -> str:
    """The GBNF ``grammar`` with JSON strings limited to what JSON allows in them (no raw control characters)."""
    return grammar.replace(_LOOSE_CHAR_RULE, _JSON_CHAR_RULE)


def _unreadable(error: Exception) -> ValueError:
    """The ValueError for a schema llama-cpp-python could not make a grammar of, saying what it raised."""
    return ValueError(f"{type(error).__name__}: {str(error)[:200]}")


@dataclass
class EngineStats:
    queued: int = 0
    active_generations: int = 0
    tokens_generated: int = 0
    generations_completed: int = 0
    generations_cancelled: int = 0
    last_generation_tokens: int = 0
    prompts_tokenized: int = 0


_STOP = object()


@dataclass
class _Job:
    """A generation in progress: the candidates generated so far."""

    generation: Generation
    candidates: list[Candidate] = field(default_factory=list)
    completion_tokens: int = 0


class Engine:
    """Owns the ``Llama`` instance and the worker thread that feeds it.

    >>> engine = Engine(bundled_model_path())          # doctest: +SKIP
    >>> gen = engine.submit(engine.tokenize("Hello"), SamplingParams(max_tokens=4))  # doctest: +SKIP
    >>> done = await gen.result()                       # doctest: +SKIP
    """

    def __init__(
        self, model_path: Path, *, n_ctx: int = 2048, n_threads: int = 2, weight_repack: RepackChoice = "auto"
    ) -> None:
        import llama_cpp

        self.model_path = model_path
        self._llama_cpp = llama_cpp
        self.llm: Any
        self.llm, self.weights_repacked, self.weights = load_llama(
            llama_cpp, model_path, n_ctx=n_ctx, n_threads=n_threads, repack=weight_repack
        )
        self_check(self.llm, llama_cpp)  # EngineStartError: fail now, not at the first real prompt
        self.n_ctx: int = int(self.llm.n_ctx())
        self.n_vocab: int = int(self.llm.n_vocab())
        self._vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        self._eos_text = self._token_text(self.llm.token_eos())
        self._bos_text = self._token_text(self.llm.token_bos())
        self._formatter = self._make_chat_formatter()
        # Text of more than max_prompt_bytes has more tokens than the context holds, whatever its tokens: the
        # app refuses it by size, without tokenizing (which takes seconds for megabytes).
        self.max_token_bytes = self._longest_token_bytes()
        self.max_prompt_bytes = (self.n_ctx - 1) * self.max_token_bytes
        self.stats = EngineStats()
        self._stats_lock = threading.Lock()
        self._jobs: queue.SimpleQueue[Generation | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="llama-azure-engine", daemon=True)
        self._thread.start()

    # -- prompts -------------------------------------------------------------------------------------

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self.token_bytes(token, special=True).decode("utf-8", errors="replace")

    def token_bytes(self, token: int, *, special: bool) -> bytes:
        """The bytes of text one token stands for.

        Not ``llm.detokenize``: llama-cpp-python reads each piece into 32 bytes and returns nothing for a longer
        one (47 tokens of SmolLM2, runs of ``#``, ``=`` or spaces, lost their text).
        """
        size = 64
        while True:
            buffer = ctypes.create_string_buffer(size)
            n = int(self._llama_cpp.llama_token_to_piece(self._vocab, token, buffer, size, 0, special))
            if n >= 0:
                return buffer.raw[:n]
            size = -n  # the size the piece needs

    def _make_chat_formatter(self) -> Any:
        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            return None
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        return Jinja2ChatFormatter(template=template, eos_token=self._eos_text, bos_token=self._bos_text)

    def _longest_token_bytes(self) -> int:
        """The most bytes of text one token stands for (special tokens included); ~0.1 s for 50k tokens."""
        return max(1, *(len(self.token_bytes(token, special=True)) for token in range(self.n_vocab)))

    def chat_prompt(self, messages: Sequence[dict[str, str]]) -> str:
        """Render messages with the chat template stored in the GGUF (ChatML-like fallback without one)."""
        if self._formatter is not None:
            return str(self._formatter(messages=list(messages)).prompt)
        parts = [f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages]
        return "".join(parts) + "<|im_start|>assistant\n"

    def grammar(self, schema: dict[str, Any]) -> Any:
        """A grammar that allows exactly the JSON valid for ``schema``; ValueError for a schema it cannot read.

        llama-cpp-python parses the grammar only when sampling starts, on the worker thread, where a grammar
        llama.cpp rejects would break the generation: it is tried here first (parsing reads only the vocab).
        """
        import json

        lib = self._llama_cpp
        try:
            from llama_cpp.llama_grammar import json_schema_to_gbnf

            text = json_string_chars_only(json_schema_to_gbnf(json.dumps(schema)))
        except Exception as exc:  # the converter raises many kinds for schemas it does not support
            raise _unreadable(exc) from None
        if len(text) > MAX_GRAMMAR_BYTES:  # before llama.cpp parses it: large enums, many long constants
            raise SchemaTooLarge(f"the grammar built from it has {len(text)} bytes, over this server's limit "
                                 f"of {MAX_GRAMMAR_BYTES}")
        grammar_class: Any = getattr(lib, "LlamaGrammar")  # noqa: B009 - not in its type stubs
        try:
            grammar = grammar_class.from_string(text, verbose=False)
        except Exception as exc:  # a grammar llama.cpp's parser rejects
            raise _unreadable(exc) from None
        sampler = lib.llama_sampler_init_grammar(self._vocab, grammar._grammar.encode(), grammar._root.encode())
        if not sampler:
            raise ValueError("the grammar built from it does not parse")
        lib.llama_sampler_free(sampler)
        return grammar

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        """Prompt tokens of ``text``; safe on any thread (llama.cpp's tokenizer only reads the vocabulary)."""
        with self._stats_lock:
            self.stats.prompts_tokenized += 1
        add_bos = not (self._bos_text and text.startswith(self._bos_text) and special)
        tokens = list(self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special))
        if not tokens:  # an empty prompt: llama.cpp cannot sample from zero tokens, so start from BOS
            bos = int(self.llm.token_bos())
            tokens = [bos if bos >= 0 else int(self.llm.token_eos())]
        return tokens

    def is_end_of_generation(self, token: int) -> bool:
        return bool(self._llama_cpp.llama_vocab_is_eog(self._vocab, token))

    # -- jobs ----------------------------------------------------------------------------------------

    def submit(self, prompt_tokens: Sequence[int], params: SamplingParams) -> Generation:
        """Queue a job (FIFO); must be called on the event loop that will read its events."""
        generation = Generation(prompt_tokens, params, asyncio.get_running_loop())
        with self._stats_lock:
            self.stats.queued += 1
        self._jobs.put(generation)
        return generation

    def close(self, timeout: float = 5.0) -> None:
        self._jobs.put(_STOP)
        self._thread.join(timeout)

    def _work(self) -> None:
        """Round-robin over the admitted jobs, one candidate at a time, in arrival order.

        A job with ``n`` (or ``best_of``) candidates goes to the back of the line after each candidate,
        so a request for 16 candidates delays a single-answer request by one candidate at most.
        """
        line: collections.deque[_Job] = collections.deque()
        while True:
            block = not line
            while True:
                try:
                    item = self._jobs.get(block=block)
                except queue.Empty:
                    break
                if item is _STOP:
                    return
                with self._stats_lock:
                    self.stats.queued -= 1
                    self.stats.active_generations += 1
                line.append(_Job(cast(Generation, item)))
                block = False
            job = line.popleft()
            try:
                finished = self._step(job)
            except BaseException as exc:  # report every failure to the waiting request
                log.exception("generation failed")
                job.generation._emit(GenerationFailed(exc))
                finished = True
            if finished:
                with self._stats_lock:
                    self.stats.active_generations -= 1
            else:
                line.append(job)

    def _step(self, job: _Job) -> bool:
        """Generate the job's next candidate; True when the job is over (and its result was sent)."""
        generation = job.generation
        params = generation.params
        if not generation.cancelled:
            candidate = self._generate_one(generation, len(job.candidates))
            job.completion_tokens += candidate.n_tokens
            job.candidates.append(candidate)
            if not generation.cancelled:
                generation._emit(CandidateDone(candidate))
        if not generation.cancelled and len(job.candidates) < params.candidates:
            return False
        with self._stats_lock:
            if generation.cancelled:
                self.stats.generations_cancelled += 1
            else:
                self.stats.generations_completed += 1
            self.stats.last_generation_tokens = job.completion_tokens
        generation._emit(
            GenerationDone(
                prompt_tokens=len(generation.prompt_tokens),
                completion_tokens=job.completion_tokens,
                candidates=job.candidates,
                cancelled=generation.cancelled,
            )
        )
        return True

    def _generate_one(self, generation: Generation, index: int) -> Candidate:
        import numpy as np

        params = generation.params
        llm = self.llm
        want_logprobs = params.logprobs is not None or params.candidates > params.n
        top_k = params.logprobs or 0
        seed = (params.seed + index) % _SEED_MODULUS if params.seed is not None else random.randrange(2**31)
        llm.set_seed(seed)
        llm.reset()  # no KV prefix reuse: the same input gives bit-identical logits, hence the same answer

        candidate = Candidate(index=index, finish_reason="length")
        scanner = TextScanner(stop=params.stop, blocked=params.blocked)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stop_ids = set(params.stop_token_ids)
        raw_text = ""
        tokens = llm.generate(
            generation.prompt_tokens,
            top_k=0,
            top_p=params.top_p,
            min_p=0.0,
            typical_p=1.0,
            temp=params.temperature,
            repeat_penalty=1.0,
            frequency_penalty=params.frequency_penalty,
            presence_penalty=params.presence_penalty,
            reset=False,
            grammar=params.grammar,
        )
        try:
            for token in tokens:
                if generation.cancelled:
                    candidate.finish_reason = None
                    break
                candidate.n_tokens += 1
                self.stats.tokens_generated += 1
                entry: TokenLogprob | None = None
                if want_logprobs:
                    logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(self.n_vocab,))
                    shifted = logits - logits.max()
                    logprobs = shifted - math.log(float(np.exp(shifted).sum()))
                    candidate.cumulative_logprob += float(logprobs[token])
                    if params.logprobs is not None:
                        top: dict[str, float] = {}
                        if top_k > 0:
                            best = np.argpartition(-logprobs, top_k)[:top_k]
                            for t in sorted(best.tolist(), key=lambda t: -float(logprobs[t])):
                                top.setdefault(self._piece(t, params), float(logprobs[t]))
                        entry = TokenLogprob("", float(logprobs[token]), top, len(raw_text))
                if token in stop_ids or (not params.ignore_eos and self.is_end_of_generation(token)):
                    candidate.finish_reason = "stop"
                    break
                piece = decoder.decode(self._piece_bytes(token, params))
                raw_text += piece
                if entry is not None:
                    entry.token = piece
                    candidate.logprobs.append(entry)
                released, reason = scanner.feed(piece)
                generation._emit(TokenEvent(index, released, [entry] if entry is not None else []))
                if reason is not None:
                    candidate.finish_reason = reason
                    break
                if candidate.n_tokens >= params.max_tokens:
                    break
        finally:
            tokens.close()
        if scanner.finished is None:
            released = ""
            final_piece = decoder.decode(b"", final=True)
            if final_piece:
                released, reason = scanner.feed(final_piece)
                if reason is not None:
                    candidate.finish_reason = reason
            released += scanner.flush()
            if released:
                generation._emit(TokenEvent(index, released, []))
        candidate.text = scanner.text
        return candidate

    def _piece_bytes(self, token: int, params: SamplingParams) -> bytes:
        return self.token_bytes(token, special=not params.skip_special_tokens)

    def _piece(self, token: int, params: SamplingParams) -> str:
        return self._piece_bytes(token, params).decode("utf-8", errors="replace")
