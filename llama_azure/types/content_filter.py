"""Content filtering results (Azure's content safety): per category, filtered or not, and how severe."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from ._base import ResponseModel


class ContentFilterResult(ResponseModel):
    """One category (``hate``, ``sexual``, ``violence``, ``self_harm``, ``jailbreak``, ...).

    Attributes:
        filtered: Whether this category blocked the text.
        severity: How severe the text is in this category: ``safe``, ``low``, ``medium`` or ``high``; None for
            categories that are only detected.
        detected: For detection categories (``jailbreak``, ``protected_material_text``, ...): whether it was found.
    """

    filtered: bool = False
    severity: str | None = None
    detected: bool | None = None


def _as_results(value: Any) -> Any:
    """A category whose value is not an object (``"custom_blocklists": [...]``) keeps it under ``details``."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for name, result in value.items():
        if isinstance(result, (dict, ContentFilterResult)):
            out[name] = result
        else:
            hits = [item for item in result if isinstance(item, dict)] if isinstance(result, list) else []
            out[name] = {"filtered": any(item.get("filtered") is True for item in hits), "details": result}
    return out


ContentFilterResults = Annotated[dict[str, ContentFilterResult], BeforeValidator(_as_results)]


class PromptFilterResult(ResponseModel):
    """What the filter found in one prompt (``prompt_filter_results`` or the older ``prompt_annotations``).

    Attributes:
        prompt_index: Which prompt of the request (0 for a chat request's messages).
        content_filter_results: Category name to ``ContentFilterResult``; a category sent as a list (custom
            blocklists) keeps it under ``details``.
    """

    prompt_index: int = 0
    content_filter_results: ContentFilterResults = Field(default_factory=dict)


def tripped(results: ContentFilterResults | None) -> list[str]:
    """The categories that were filtered."""
    return sorted(name for name, result in (results or {}).items() if result.filtered)
