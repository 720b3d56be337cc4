"""Reading content-filter refusals: which categories tripped, and whether on the prompt or the completion."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# The managed endpoints' content-safety wrapper: "... request input violates Azure AI Content Safety ...".
_SAFETY = re.compile(r"violates\s+azure\s+ai\s+content\s+safety", re.IGNORECASE)


def is_content_safety_refusal(message: str | None) -> bool:
    return bool(message and _SAFETY.search(message))


def filter_categories(body: Any) -> list[str]:
    """Categories marked ``filtered`` in ``error.innererror.content_filter_result`` (or ``content_filter_results``)."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return []
    inner = error.get("innererror")
    results: Any = None
    for holder in (inner, error):
        if isinstance(holder, Mapping):
            results = holder.get("content_filter_result") or holder.get("content_filter_results")
            if results:
                break
    if not isinstance(results, Mapping):
        return []
    return sorted(str(name) for name, value in results.items()
                  if isinstance(value, Mapping) and value.get("filtered") is True)


def filter_source(param: str | None, message: str | None) -> str | None:
    """``"prompt"`` or ``"completion"`` when the service says which was filtered."""
    text = (message or "").lower()
    if param == "prompt" or "prompt" in text or "request input" in text:
        return "prompt"
    if "completion" in text or "response" in text or "output" in text:
        return "completion"
    return None
