"""One question, one answer.

    python examples/chat.py "What is the capital of France?"

Uses LLAMA_AZURE_ENDPOINT / LLAMA_AZURE_API_KEY when set, else starts the bundled reference server.
"""

from __future__ import annotations

import sys

from _support import endpoint

from llama_azure import LlamaClient


def main() -> None:
    question = " ".join(sys.argv[1:]) or "What is the capital of France? Answer in one sentence."
    with endpoint() as target, LlamaClient(target.endpoint, target.api_key) as client:
        reply = client.chat.completions.create(
            messages=[
                {"role": "system", "content": "You are a concise assistant."},
                {"role": "user", "content": question},
            ],
            max_tokens=48,
            temperature=0,  # deterministic: the same question gives the same answer
        )
        # A ChatCompletion: typed fields, plus the service's request id for support tickets.
        print(f"> {question}")
        print(reply.choices[0].message.content)
        usage = reply.usage
        print(f"[model={reply.model}, finish_reason={reply.choices[0].finish_reason}, "
              f"tokens={usage.total_tokens if usage else '?'}, request_id={reply.request_id}]")


if __name__ == "__main__":
    main()
