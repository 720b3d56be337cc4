"""One worker process of the shared-budget test: a burst of short calls, printed as JSON counts.

``python pacing_worker.py URL KEY DEPLOYMENT KIND CALLS RPM WINDOW [STORE]`` (KIND: sync or async).
"""

from __future__ import annotations

import asyncio
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from llama_azure import AsyncLlamaClient, LlamaClient, RateLimit, RateLimitError
from llama_azure.types import ChatMessageParam

PROMPT: list[ChatMessageParam] = [{"role": "user", "content": "Hi"}]


def main() -> None:
    url, key, deployment, kind, calls, rpm, window = sys.argv[1:8]
    store = sys.argv[8] if len(sys.argv) > 8 else None
    rate_limit = RateLimit(requests=int(rpm), window=float(window), store=store, key=f"test-{deployment}")
    options: dict[str, Any] = {"deployment": deployment, "max_retries": 0, "rate_limit": rate_limit}
    if kind == "async":
        async def run() -> list[Any]:
            async with AsyncLlamaClient(url, key, **options) as client:
                return list(await asyncio.gather(
                    *(client.chat.completions.create(messages=PROMPT, max_tokens=1) for _ in range(int(calls))),
                    return_exceptions=True))
        results = asyncio.run(run())
    else:
        with LlamaClient(url, key, **options) as client, ThreadPoolExecutor(int(calls)) as pool:
            def call(_: int) -> Any:
                try:
                    return client.chat.completions.create(messages=PROMPT, max_tokens=1)
                except Exception as error:
                    return error
            results = list(pool.map(call, range(int(calls))))
    print(json.dumps({
        "answered": sum(not isinstance(r, BaseException) for r in results),
        "rate_limited": sum(isinstance(r, RateLimitError) for r in results),
        "other_errors": [repr(r) for r in results
                         if isinstance(r, BaseException) and not isinstance(r, RateLimitError)],
    }))


if __name__ == "__main__":
    main()
