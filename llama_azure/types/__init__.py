"""Typed models of what the endpoints answer."""

from .chat import (
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionChunkChoice,
    ChatMessage,
    ChatMessageParam,
    Delta,
)
from .completion import Completion, CompletionChoice
from .model_info import ModelInfo
from .shared import FinishReason, Logprobs, Usage

__all__ = [
    "ChatCompletion",
    "ChatCompletionChoice",
    "ChatCompletionChunk",
    "ChatCompletionChunkChoice",
    "ChatMessage",
    "ChatMessageParam",
    "Completion",
    "CompletionChoice",
    "Delta",
    "FinishReason",
    "Logprobs",
    "ModelInfo",
    "Usage",
]
