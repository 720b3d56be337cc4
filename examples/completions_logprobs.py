"""A text completion with the log probability of each token and its closest alternatives.

    python examples/completions_logprobs.py "The capital of France is"
"""

from __future__ import annotations

import math
import sys

from _support import endpoint

from llama_azure import LlamaClient


def main() -> None:
    prompt = " ".join(sys.argv[1:]) or "The capital of France is"
    with endpoint() as target, LlamaClient(target.endpoint, target.api_key) as client:
        # logprobs=N asks for each chosen token's log probability and the N most likely candidates.
        result = client.completions.create(prompt=prompt, max_tokens=8, temperature=0, logprobs=3)
        choice = result.choices[0]
        print(f"{prompt}[{choice.text}]")
        if choice.logprobs is None:
            print("(this endpoint returned no logprobs)")
            return
        lp = choice.logprobs
        print(f"{'token':<16} {'logprob':>8} {'prob':>6}  alternatives")
        for i, token in enumerate(lp.tokens or []):
            logprob = lp.token_logprobs[i] if lp.token_logprobs and i < len(lp.token_logprobs) else None
            top = lp.top_logprobs[i] if lp.top_logprobs and i < len(lp.top_logprobs) else None
            alternatives = ", ".join(f"{alt!r} {value:.2f}" for alt, value in (top or {}).items() if alt != token)
            shown = f"{logprob:8.3f} {math.exp(logprob):6.1%}" if logprob is not None else f"{'?':>8} {'?':>6}"
            print(f"{token!r:<16} {shown}  {alternatives}")


if __name__ == "__main__":
    main()
