"""Stream a chat answer token by token (what `make demo` runs).

    python examples/chat_stream.py "Why is the sky blue?"
"""

from __future__ import annotations

import sys

from _support import endpoint

from llama_azure import LlamaClient


def main() -> None:
    question = " ".join(sys.argv[1:]) or "Write a haiku about the sea."
    with endpoint() as target, LlamaClient(target.endpoint, target.api_key) as client:
        print(f"> {question}")
        stream = client.chat.completions.create(
            messages=[{"role": "user", "content": question}], max_tokens=48, temperature=0.7, stream=True
        )
        with stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    print(chunk.choices[0].delta.content, end="", flush=True)
        final = stream.until_done()  # already read to the end: returns the accumulated reply
        usage = final.usage
        print(f"\n[finish_reason={final.choices[0].finish_reason}, "
              f"tokens={usage.completion_tokens if usage else '?'}, request_id={stream.request_id}]")


if __name__ == "__main__":
    main()
