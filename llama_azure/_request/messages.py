"""Run-time check of chat messages against the per-role TypedDicts (``types/chat_params.py``).

mypy checks typed callers; this gives untyped ones (dicts built at run time, JSON read from a file) a
``ParameterError`` that names the message index and the key, before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any, get_args

from pydantic import TypeAdapter, ValidationError

from .._exceptions import ParameterError
from ..types.chat import ChatMessage
from ..types.chat_params import (
    AssistantMessageParam,
    MessageRole,
    SystemMessageParam,
    ToolMessageParam,
    UserMessageParam,
)

_ROLES: tuple[str, ...] = get_args(MessageRole)
_PARAMS_BY_ROLE: dict[str, Any] = {
    "system": SystemMessageParam,
    "user": UserMessageParam,
    "assistant": AssistantMessageParam,
    "tool": ToolMessageParam,
}


@cache
def _adapter(role: str) -> TypeAdapter[Any]:
    # Built at the first message of the role, not at import: building a validator costs milliseconds.
    return TypeAdapter(_PARAMS_BY_ROLE[role])

_KEYS: dict[str, tuple[str, ...]] = {
    "system": ("role", "content", "name"),
    "user": ("role", "content", "name"),
    "assistant": ("role", "content", "tool_calls", "name"),
    "tool": ("role", "content", "tool_call_id"),
}
# pydantic's names for the members of a union (``str``, ``list[...]``, ``function-after[...]``) are not keys.
_UNION_MEMBER = re.compile(r"^(?:str|int|float|bool|none|list|dict)$|[\[\-']")


def key_path(loc: Sequence[int | str]) -> str:
    parts: list[str] = []
    for part in loc:
        text = str(part)
        if isinstance(part, str) and _UNION_MEMBER.search(text):
            continue
        if parts and parts[-1] == text:  # a content part's tag ("image_url") followed by the same key
            continue
        parts.append(text)
    return ".".join(parts)


def _raise(index: int, role: str, error: ValidationError) -> None:
    # The deepest error is the most precise one (a list of parts beats "content is not a str").
    # An unknown key (a typo) explains a missing one at the same place, so it wins a tie.
    first = max(error.errors(include_url=False), key=lambda e: (len(e["loc"]), e["type"] == "extra_forbidden"))
    key = key_path(first["loc"])
    where = f"messages.{index}.{key}" if key else f"messages.{index}"
    kind = f"a {role} message"
    if first["type"] == "extra_forbidden":
        if len(first["loc"]) == 1:
            message = f"{where}: {kind} has no key {key!r} (its keys: {', '.join(_KEYS[role])})"
        else:
            message = f"{where}: unknown key {str(first['loc'][-1])!r} in {kind}"
    elif first["type"] == "missing":
        message = f"{where}: {kind} needs {str(first['loc'][-1])!r}"
    else:
        received = first.get("input")
        shown = repr(received) if not isinstance(received, (dict, list)) else type(received).__name__
        message = f"{where}: invalid in {kind}: {first['msg']} (got {shown})"
    raise ParameterError(message, param=where) from None


# The key a plain text message may have beside role and content (the tool's one is required).
_THIRD_KEY = {"system": "name", "user": "name", "assistant": "name", "tool": "tool_call_id"}


def _plain_message(message: dict[str, Any], role: str) -> dict[str, Any] | None:
    """The message as its role's validator returns it (a new dict, keys in the TypedDict's order) when it is
    text content of the exact type ``str`` with at most a name (or the tool's ``tool_call_id``); None for
    anything else, which the validator checks. Most conversations are only such messages, and the validator
    cost several times this."""
    content = message.get("content")
    if type(content) is not str:
        return None
    third = _THIRD_KEY[role]
    if len(message) == 2 and role != "tool":
        return {"role": role, "content": content}
    if len(message) == 3 and type(message.get(third)) is str:
        return {"role": role, "content": content, third: message[third]}
    return None


def check_messages(messages: object) -> list[Any]:
    """JSON-ready messages, or a ``ParameterError`` naming the first bad message and key."""
    if type(messages) is not list and (isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence)):
        raise ParameterError(
            "messages must be a list of {'role': ..., 'content': ...} dicts or ChatMessage objects",
            param="messages",
        )
    if not messages:
        raise ParameterError("messages must contain at least one message", param="messages")
    checked: list[Any] = []
    for index, message in enumerate(messages):
        # A dict first: isinstance against a pydantic model class is an ABC check, dearer than the dict's own.
        plain = message if type(message) is dict or not isinstance(message, ChatMessage) else message.to_param()
        if not isinstance(plain, dict):
            raise ParameterError(f"messages.{index} must be a dict with 'role' and 'content', "
                                 f"got {type(plain).__name__}", param=f"messages.{index}")
        role = plain.get("role")
        if role is None:
            raise ParameterError(f"messages.{index} has no 'role' (one of {', '.join(_ROLES)})",
                                 param=f"messages.{index}.role")
        if not isinstance(role, str) or role not in _PARAMS_BY_ROLE:
            raise ParameterError(f"messages.{index}.role: {str(role)[:40]!r} is not a role; use one of "
                                 f"{', '.join(_ROLES)}", param=f"messages.{index}.role")
        fast = _plain_message(plain, role) if type(plain) is dict and type(role) is str else None
        if fast is not None:
            checked.append(fast)
            continue
        try:
            checked.append(_adapter(role).validate_python(plain))
        except ValidationError as error:
            _raise(index, role, error)
        if role == "assistant" and plain.get("content") is None and not plain.get("tool_calls"):
            raise ParameterError(f"messages.{index}.content: an assistant message needs 'content' or 'tool_calls'",
                                 param=f"messages.{index}.content")
    return checked
