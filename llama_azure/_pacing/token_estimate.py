"""How many quota tokens a request will hold, estimated from its body before it is sent (no tokenizer).

The service reserves ``prompt tokens + max_tokens x candidates`` when it admits a request. The prompt is
counted as one token per UTF-8 byte of its text (a token of a byte-level or byte-fallback tokenizer covers at
least one byte) plus the chat template's markers: never fewer than the service counts. An image part counts
``IMAGE_TOKENS`` whatever its size: a model sees an image as a bounded number of tiles, never its bytes. The
surplus is given back once the answer's ``usage`` says what was really used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

# The Llama API's documented default when a request gives no max_tokens (the reference server's too).
DEFAULT_MAX_TOKENS = 16
# Chat templates wrap each message in role markers and may add a default system prompt
# (Llama 3.1: "Cutting Knowledge Date..."; SmolLM2: "You are a helpful AI assistant named SmolLM...").
PER_MESSAGE = 8
PER_PROMPT = 48
# The most a Llama model counts for one image: Llama 3.2 Vision cuts it into at most 4 tiles of 560 x 560 pixels,
# each 1,601 tokens (40 x 40 patches of 14 pixels + 1); Llama 4 at most 16 tiles + 1 overview of 144 tokens each.
IMAGE_TOKENS = 4 * 1601
_IMAGE_PARTS = frozenset({"image_url", "input_image", "image"})


def estimate_tokens(content: bytes | None) -> int:
    """Quota tokens of a JSON request body: ``estimate_tokens(b'{"prompt": "Hi", "max_tokens": 4}') == 54``."""
    if not content:
        return 0
    try:
        body = json.loads(content)
    except ValueError:
        return len(content) + PER_PROMPT
    if not isinstance(body, dict):
        return len(content) + PER_PROMPT
    if isinstance(body.get("input_data"), dict):  # the managed endpoints' /score body
        data = body["input_data"]
        prompts = data.get("input_string")
        parameters = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
        count = len(prompts) if isinstance(prompts, list) else 1
        return _text_bytes(prompts) + PER_PROMPT * count + _int(parameters.get("max_new_tokens")) * count
    messages = body.get("messages")
    prompt = _text_bytes(messages if messages is not None else body.get("prompt"))
    if isinstance(messages, list):
        prompt += PER_MESSAGE * len(messages)
    candidates = max(_int(body.get("n"), 1), _int(body.get("best_of"), 1))
    limit = body.get("max_tokens", body.get("max_completion_tokens"))  # OpenAI's name of the same limit
    return prompt + PER_PROMPT + _int(limit) * candidates


def _int(value: Any, default: int = DEFAULT_MAX_TOKENS) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _text_bytes(value: Any) -> int:
    """UTF-8 bytes of every string inside ``value`` (message contents, names, tool-call arguments); an image
    part (``{"type": "image_url", ...}``, often a base64 data URI) counts ``IMAGE_TOKENS``."""
    if isinstance(value, str):
        return len(value.encode("utf-8", errors="replace"))
    if isinstance(value, dict):
        if value.get("type") in _IMAGE_PARTS:
            return IMAGE_TOKENS
        return sum(_text_bytes(v) for v in value.values())
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        return sum(_text_bytes(v) for v in value)
    return 0
