"""Many prompts at once with AsyncLlamaClient, at most LIMIT in flight (an asyncio.Semaphore).

    python examples/async_batch.py
"""

from __future__ import annotations

import asyncio
import time

from _support import endpoint

from llama_azure import AsyncLlamaClient

TOPICS = ["the sea", "a mountain", "the moon", "a forest", "the desert"]
LIMIT = 3  # requests in flight at once: stay well under the deployment's quota


async def ask(client: AsyncLlamaClient, limit: asyncio.Semaphore, topic: str) -> tuple[str, str, int]:
    async with limit:  # wait here while LIMIT requests are already running
        reply = await client.chat.completions.create(
            messages=[{"role": "user", "content": f"Describe {topic} in one short sentence."}],
            max_tokens=16,
            temperature=0.7,
        )
    tokens = reply.usage.total_tokens if reply.usage else 0
    return topic, (reply.choices[0].message.content or "").strip(), tokens


async def run(endpoint_url: str, api_key: str) -> None:
    limit = asyncio.Semaphore(LIMIT)
    start = time.perf_counter()
    # One client for the whole batch: it holds the connection pool that all tasks share.
    async with AsyncLlamaClient(endpoint_url, api_key) as client:
        results = await asyncio.gather(*(ask(client, limit, topic) for topic in TOPICS))
    elapsed = time.perf_counter() - start
    for topic, text, _ in results:
        print(f"- {topic}: {text}")
    total = sum(tokens for _, _, tokens in results)
    print(f"[{len(results)} prompts, at most {LIMIT} at once, {total} tokens in total, {elapsed:.1f} s]")


def main() -> None:
    with endpoint() as target:
        asyncio.run(run(target.endpoint, target.api_key))


if __name__ == "__main__":
    main()
