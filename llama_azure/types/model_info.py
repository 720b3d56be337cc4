"""The answer of ``GET /info``."""

from __future__ import annotations

from ._base import ResultModel

# Spellings seen in the wild for a chat model's type; all mean the same.
_CHAT_TYPES = frozenset({"chat-completions", "chat-completion", "chat_completion", "chat_completions", "chat"})


class ModelInfo(ResultModel):
    """What the endpoint serves: ``info.model_name``, ``info.model_type``, ``info.model_provider_name``.

    Attributes:
        model_name: The model's name, e.g. ``Meta-Llama-3.1-8B-Instruct``.
        model_type: What it does, e.g. ``chat-completions`` (spellings vary; see ``is_chat``).
        model_provider_name: Who made it, e.g. ``Meta``.
    """

    model_name: str | None = None
    model_type: str | None = None
    model_provider_name: str | None = None

    @property
    def is_chat(self) -> bool:
        """True when the model serves chat completions, whichever spelling the service used."""
        return (self.model_type or "").strip().lower() in _CHAT_TYPES
