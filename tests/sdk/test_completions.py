"""Text completions through both shells against the real reference server."""

from __future__ import annotations

from support.shells import Shell

from llama_azure import Completion

PROMPT = "Once upon a time"


async def test_completion_reply(shell: Shell) -> None:
    result = await shell.run(lambda c: c.completions.create(prompt=PROMPT, max_tokens=6, temperature=0))
    assert isinstance(result, Completion)
    assert result.object == "text_completion"
    assert result.text and result.text == result.choices[0].text
    assert result.choices[0].finish_reason in ("stop", "length")
    assert result.usage is not None and 0 < (result.usage.completion_tokens or 0) <= 6
    assert result.request_id


async def test_completion_logprobs_are_real(shell: Shell) -> None:
    result = await shell.run(
        lambda c: c.completions.create(prompt=PROMPT, max_tokens=5, temperature=0, logprobs=2)
    )
    logprobs = result.choices[0].logprobs
    assert logprobs is not None and logprobs.tokens
    assert len(logprobs.tokens) == len(logprobs.token_logprobs or []) == len(logprobs.text_offsets or [])
    assert "".join(logprobs.tokens) == result.text
    assert all(lp is not None and lp <= 0.0 for lp in logprobs.token_logprobs or [])
    offsets = logprobs.text_offsets or []
    assert offsets == sorted(offsets)
    assert logprobs.top_logprobs is not None
    assert all(top is not None and 1 <= len(top) <= 2 for top in logprobs.top_logprobs)


async def test_completion_stream_and_accumulate(shell: Shell) -> None:
    stream = await shell.run(
        lambda c: c.completions.create(prompt=PROMPT, max_tokens=6, temperature=0, stream=True)
    )
    chunks = await shell.chunks(stream)
    assert all(isinstance(chunk, Completion) for chunk in chunks)
    streamed = "".join(chunk.choices[0].text for chunk in chunks if chunk.choices)
    whole = await shell.run(lambda c: c.completions.create(prompt=PROMPT, max_tokens=6, temperature=0))
    assert streamed == whole.text
    again = await shell.run(lambda c: c.completions.create(prompt=PROMPT, max_tokens=6, temperature=0, stream=True))
    final = await shell.until_done(again)
    assert final.text == whole.text
    assert final.choices[0].finish_reason in ("stop", "length")


async def test_completion_n_and_best_of(shell: Shell) -> None:
    result = await shell.run(
        lambda c: c.completions.create(prompt=PROMPT, max_tokens=4, n=2, best_of=3, temperature=1.0, seed=3)
    )
    assert sorted(choice.index for choice in result.choices) == [0, 1]
