"""Structured output: ask for JSON valid for a pydantic model and get an instance back.

    python examples/structured_output.py

Uses LLAMA_AZURE_ENDPOINT / LLAMA_AZURE_API_KEY when set, else starts the bundled reference server,
which constrains its small model to the schema with a grammar.
"""

from __future__ import annotations

from typing import Literal

from _support import endpoint
from pydantic import BaseModel, Field

from llama_azure import LlamaClient, StructuredOutputError


class CityFacts(BaseModel):
    city: str = Field(max_length=30)
    country: str = Field(max_length=30)
    size: Literal["small", "medium", "large"]


def main() -> None:
    question = "Give facts about Paris as JSON."
    with endpoint() as target, LlamaClient(target.endpoint, target.api_key, api="model-inference") as client:
        print(f"> {question}")
        try:
            reply = client.chat.completions.parse(
                messages=[{"role": "user", "content": question}], response_format=CityFacts, max_tokens=64)
        except StructuredOutputError as error:  # e.g. cut short by max_tokens: the raw text is kept
            raise SystemExit(f"not a CityFacts: {error.content!r}") from None
        facts = reply.choices[0].message.parsed  # a CityFacts instance
        assert facts is not None
        print(f"city={facts.city!r} country={facts.country!r} size={facts.size}")
        print(f"[parsed={type(facts).__name__}, finish_reason={reply.choices[0].finish_reason}]")


if __name__ == "__main__":
    main()
