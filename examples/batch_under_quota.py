"""A batch of prompts answered under a quota smaller than the load, with no 429 and nothing asked twice.

    python examples/batch_under_quota.py

Always runs on the bundled reference server, started with a small quota (4 requests per 3-second window):
12 prompts at 8 at a time is three windows' worth. The client paces itself (``rate_limit=``), so each call
waits for room instead of bouncing off a 429; ``run_batch`` (the engine of ``llama-azure batch``) writes one
answer line per prompt, and a second run over the same output skips what is already answered;
``read_batch_output`` reads the answers back as typed records.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

from _support import endpoint

from llama_azure import AsyncLlamaClient, ChatCompletion, RateLimit
from llama_azure.batch import read_batch_output, run_batch

RPM, WINDOW, PROMPTS = 4, 3.0, 12
TOPICS = ["the sea", "a cat", "rain", "the moon", "bread", "a train", "snow", "a forest", "coffee", "a clock",
          "the wind", "a river"]


def write_requests(path: Path) -> None:
    with path.open("w", encoding="utf-8") as requests:
        for i, topic in enumerate(TOPICS[:PROMPTS]):
            body = {"messages": [{"role": "user", "content": f"One short sentence about {topic}."}], "max_tokens": 12}
            requests.write(json.dumps({"custom_id": f"topic-{i}", "method": "POST", "url": "/v1/chat/completions",
                                       "body": body}) + "\n")


async def main(url: str, key: str, folder: Path) -> None:
    requests, answers = folder / "requests.jsonl", folder / "answers.jsonl"
    write_requests(requests)
    quota = RateLimit(requests=RPM, window=WINDOW)
    async with AsyncLlamaClient(url, key, max_retries=0, rate_limit=quota) as client:  # no retries: no 429 either
        summary = await run_batch(client, requests, answers, concurrency=8)
        print(f"first run: {summary.answered} answered, {summary.failed} failed, {summary.retries} retries, "
              f"{summary.seconds:.1f} s (the quota allows {PROMPTS} requests in {(PROMPTS / RPM - 1) * WINDOW:.0f} s "
              f"at the earliest)")
        again = await run_batch(client, requests, answers, concurrency=8)
        print(f"second run: {again.skipped} skipped (already answered), {again.answered} asked again")
    for result in list(read_batch_output(answers, ChatCompletion))[:3]:  # typed records: answer or error
        reply = result.answer.content if result.answer else f"failed: {result.error}"
        print(f"- {result.custom_id}: {(reply or '').strip()}")
    print(f"(the same from a shell: llama-azure batch requests.jsonl -o answers.jsonl --rpm {RPM} --window {WINDOW:g})")


if __name__ == "__main__":
    with endpoint(["--rpm", str(RPM), "--quota-window", str(WINDOW)], force_local=True) as target, \
            tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(target.endpoint, target.api_key, Path(tmp)))
