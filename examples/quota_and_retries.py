"""Quotas and 429s: what the client retries for you, and what you see when it stops retrying.

    python examples/quota_and_retries.py

Always runs on the bundled reference server, started with a tiny quota (2 requests per 3-second
window): a real deployment's quota (about 1,000 requests a minute) is too large to hit on purpose.
"""

from __future__ import annotations

import time

import httpx
from _support import endpoint

from llama_azure import LlamaClient, RateLimitError

PROMPT = "Count to three:"


def show_429(response: httpx.Response) -> None:
    """An httpx event hook: print each 429 as it arrives, before the client retries it."""
    if response.status_code == 429:
        print(f"    <- 429, the service asks to wait {response.headers.get('retry-after-ms')} ms")


def main() -> None:
    with endpoint(["--rpm", "2", "--quota-window", "3"], force_local=True) as target:
        # 1. Retried for you: 429 (and 408, 5xx, connection errors) up to max_retries=2 times,
        #    waiting what retry-after-ms / Retry-After asks for.
        #    The injected httpx client brings its hook; the timeout is the LlamaClient's (timeout=, 600 s by
        #    default), sent with each request, so httpx's own 5 s default cannot cut a long answer short.
        hooks = httpx.Client(event_hooks={"response": [show_429]})
        with LlamaClient(target.endpoint, target.api_key, http_client=hooks, timeout=120) as client:
            for i in range(1, 5):
                start = time.perf_counter()
                client.completions.create(prompt=PROMPT, max_tokens=2)
                print(f"request {i}: ok after {time.perf_counter() - start:.1f} s")
        hooks.close()

        # 2. No retries left: max_retries=0 raises the first 429. The quota is used up right now.
        with LlamaClient(target.endpoint, target.api_key, max_retries=0) as client:
            for _ in range(5):  # until the quota refuses one
                try:
                    client.completions.create(prompt=PROMPT, max_tokens=2)
                except RateLimitError as error:
                    print(f"\nmax_retries=0 -> {type(error).__name__}: {error}")
                    print(f"  status_code={error.status_code} retry_after={error.retry_after} s "
                          f"attempts={error.attempts} request_id={error.request_id}")
                    break

        # 3. A wait above max_retry_wait is never slept: the error is raised at once and says why.
        #    (The default cap is 60 s, so a 24-hour Retry-After cannot hang your program.)
        with LlamaClient(target.endpoint, target.api_key, max_retry_wait=0.1) as client:
            for _ in range(5):  # until the quota refuses one
                try:
                    client.completions.create(prompt=PROMPT, max_tokens=2)
                except RateLimitError as error:
                    print(f"\nmax_retry_wait=0.1 -> {type(error).__name__}: {error}")
                    break


if __name__ == "__main__":
    main()
