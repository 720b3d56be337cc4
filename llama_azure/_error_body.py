"""Read any error body an Azure Llama endpoint sends into a code and a message, never raising.

Shapes understood (see docs: the wire notes, "Errors"):

* nested Azure Core: ``{"error": {"code", "message", "target"?, "details"?, "innererror"?, "status"?,
  "type"?, "param"?}}`` (content-filter errors use this shape with ``"param": "prompt"``);
* flat: ``{"status": 422, "code": "...", "message": "...", "detail": {"loc": [...], ...}}`` and
  ``{"error": "...", "message": "...", "status": 429}``;
* odd: ``{"status": "Invalid auth token"}``, ``{"detail": "Not Found"}``, FastAPI validation errors
  ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}``, API Management
  ``{"statusCode": 401, "message": "..."}``;
* anything else (lists, numbers, ``null``, garbage): whatever can be found, possibly nothing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ErrorInfo", "parse_error_body", "parse_error_bytes"]

#: Longest message kept (characters); longer ones are cut.
MAX_MESSAGE_CHARS = 2000
#: Longest text kept when the body is not JSON (characters).
MAX_TEXT_CHARS = 1000
#: Longest code / param / type kept (characters).
MAX_FIELD_CHARS = 200

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_.:\-]{0,99}")
_MAX_DEPTH = 4  # how far down "error" / "innererror" chains are followed


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What could be read from an error body; every field may be ``None``."""

    code: str | None
    message: str | None
    param: str | None = None  # "param" or "target", or a joined detail.loc like "body.response_format"
    status: int | None = None  # a numeric status found in the body, if any
    type: str | None = None


_EMPTY = ErrorInfo(None, None)


def parse_error_body(body: object) -> ErrorInfo:
    """Read code, message, param, status and type from an already-decoded JSON error body.

    Never raises: unexpected shapes give an :class:`ErrorInfo` with whatever could be found.
    """
    try:
        return _parse(body)
    except Exception:  # pragma: no cover - defensive: the helpers below do not raise on JSON values
        return _EMPTY


def parse_error_bytes(raw: bytes) -> tuple[ErrorInfo, object | None]:
    """Decode ``raw`` as JSON and read it with :func:`parse_error_body`.

    Returns ``(info, decoded_json)``.  If ``raw`` is not JSON, ``decoded_json`` is ``None`` and the
    message is the (UTF-8, errors replaced) text, stripped and cut to 1,000 characters, or ``None`` if
    empty.  Never raises.
    """
    try:
        data = bytes(raw)
    except Exception:
        return _EMPTY, None
    try:
        decoded: object = json.loads(data)
    except Exception:  # JSONDecodeError, UnicodeDecodeError, RecursionError, int-size ValueError ...
        text = data.decode("utf-8", "replace").strip()
        return ErrorInfo(None, text[:MAX_TEXT_CHARS].strip() or None), None
    return parse_error_body(decoded), decoded


# ---------------------------------------------------------------------------- value helpers


def _clean(value: str, limit: int) -> str | None:
    value = value.strip()
    if len(value) > limit:
        value = value[:limit].rstrip()
    return value or None


def _message(value: object) -> str | None:
    """A message from a string (or number, or list of strings)."""
    if isinstance(value, str):
        return _clean(value, MAX_MESSAGE_CHARS)
    if isinstance(value, list):
        parts = [_clean(v, MAX_MESSAGE_CHARS) for v in value[:20] if isinstance(v, str)]
        joined = "; ".join(p for p in parts if p)
        return _clean(joined, MAX_MESSAGE_CHARS)
    number = _number_text(value)
    return number


def _number_text(value: object) -> str | None:
    """``str`` of an int (not bool) or an integral float; ``None`` otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if abs(value) >= 10**100:  # str() of huge ints is slow (and limited); no real code is that big
            return None
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        if value.is_integer() and abs(value) < 1e18:
            return str(int(value))
        return _clean(repr(value), MAX_FIELD_CHARS)
    return None


def _code(value: object) -> str | None:
    if isinstance(value, str):
        return _clean(value, MAX_FIELD_CHARS)
    return _number_text(value)


def _field(value: object) -> str | None:
    if isinstance(value, str):
        return _clean(value, MAX_FIELD_CHARS)
    return None


def _status(value: object) -> int | None:
    """An HTTP-like status (100-599) given as an int, an integral float or a string of digits."""
    if isinstance(value, bool):
        return None
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 3:
            number = int(text)
    if number is not None and 100 <= number <= 599:
        return number
    return None


def _loc(value: object) -> str | None:
    """Join a validation ``loc`` (list of str/int) with dots; a plain string is kept."""
    if isinstance(value, str):
        return _field(value)
    if isinstance(value, list):
        parts = [p for p in (_code(v) for v in value[:50]) if p is not None]
        return _clean(".".join(parts), MAX_FIELD_CHARS)
    return None


def _first(*values: str | None) -> str | None:
    for value in values:
        if value is not None:
            return value
    return None


# ---------------------------------------------------------------------------- shapes


def _parse(body: object) -> ErrorInfo:
    if isinstance(body, Mapping):
        return _parse_mapping(body, 0)
    if isinstance(body, str):
        return ErrorInfo(None, _message(body))
    if isinstance(body, list):
        # e.g. [{"error": {...}}]: read the first object.
        for item in body[:5]:
            if isinstance(item, Mapping):
                return _parse_mapping(item, 0)
    return _EMPTY


def _parse_mapping(d: Mapping[object, object], depth: int) -> ErrorInfo:
    error = d.get("error")
    if isinstance(error, Mapping) and depth < _MAX_DEPTH:
        return _merge(_parse_nested(error, depth + 1), _parse_flat(d))
    return _parse_flat(d)


def _parse_nested(err: Mapping[object, object], depth: int) -> ErrorInfo:
    """The object under ``"error"`` (Azure Core / OpenAI style)."""
    code = _code(err.get("code"))
    if code is None:
        code = _innererror_code(err.get("innererror"))
    message = _message(err.get("message"))
    param = _first(_field(err.get("param")), _field(err.get("target")))
    details = err.get("details")
    if isinstance(details, list):
        msgs: list[str] = []  # FastAPI-style details: {"loc": [...], "msg": "..."}
        for item in details[:20]:
            if isinstance(item, Mapping):
                code = _first(code, _code(item.get("code")))
                message = _first(message, _message(item.get("message")))
                param = _first(param, _field(item.get("target")), _field(item.get("param")), _loc(item.get("loc")))
                msg = _message(item.get("msg"))
                if msg is not None:
                    msgs.append(msg)
        if msgs:
            joined = "; ".join(msgs)
            message = _clean(f"{message}: {joined}" if message else joined, MAX_MESSAGE_CHARS)
    info = ErrorInfo(
        code=code,
        message=message,
        param=param,
        status=_status(err.get("status")),
        type=_field(err.get("type")),
    )
    nested = err.get("error")
    if isinstance(nested, Mapping) and depth < _MAX_DEPTH:
        # {"error": {"error": {...}}}: some proxies wrap the body once more.
        info = _merge(info, _parse_nested(nested, depth + 1))
    # A flat shape inside "error" ({"error": {"detail": ..., "status": "..."}}).
    return _merge(info, _parse_flat(err))


def _innererror_code(inner: object) -> str | None:
    for _ in range(_MAX_DEPTH):
        if not isinstance(inner, Mapping):
            return None
        code = _code(inner.get("code"))
        if code is not None:
            return code
        inner = inner.get("innererror")
    return None


def _parse_flat(d: Mapping[object, object]) -> ErrorInfo:
    """Top-level fields: code, message, error (string), status, detail, statusCode, ..."""
    code = _first(_code(d.get("code")), _code(d.get("error_code")), _code(d.get("errorCode")))
    message = _first(_message(d.get("message")), _message(d.get("Message")), _message(d.get("msg")))
    param = _first(_field(d.get("param")), _field(d.get("target")))
    type_ = _field(d.get("type"))

    error = d.get("error")
    if isinstance(error, list):  # {"error": ["msg", ...]} from some gateways
        message = _first(message, _message(error))
    if isinstance(error, str):
        text = error.strip()
        if _IDENTIFIER.fullmatch(text):
            code = _first(code, text)
        else:
            message = _first(message, _message(text))

    detail = d.get("detail")
    if isinstance(detail, str):
        message = _first(message, _message(detail))
    elif isinstance(detail, Mapping):
        # {"loc": [...], "input": ..., "msg"?: ...}
        param = _first(param, _loc(detail.get("loc")))
        message = _first(message, _message(detail.get("msg")), _message(detail.get("message")))
        type_ = _first(type_, _field(detail.get("type")))
    elif isinstance(detail, list):
        # FastAPI / pydantic validation errors.
        msgs: list[str] = []
        for item in detail[:20]:
            if isinstance(item, Mapping):
                msg = _message(item.get("msg"))
                if msg is None:
                    msg = _message(item.get("message"))
                if msg is not None:
                    msgs.append(msg)
                param = _first(param, _loc(item.get("loc")))
                type_ = _first(type_, _field(item.get("type")))
            elif isinstance(item, str):
                msg = _message(item)
                if msg is not None:
                    msgs.append(msg)
        if msgs:
            message = _first(message, _clean("; ".join(msgs), MAX_MESSAGE_CHARS))

    status_value = d.get("status")
    status = _status(status_value)
    if status is None:
        if isinstance(status_value, str):
            # {"status": "Invalid auth token"}
            message = _first(message, _message(status_value))
        status = _first_status(d.get("statusCode"), d.get("status_code"), d.get("code"))

    return ErrorInfo(code=code, message=message, param=param, status=status, type=type_)


def _first_status(*values: object) -> int | None:
    for value in values:
        status = _status(value)
        if status is not None:
            return status
    return None


def _merge(primary: ErrorInfo, fallback: ErrorInfo) -> ErrorInfo:
    """Fields of ``primary``, each missing one taken from ``fallback``."""
    return ErrorInfo(
        code=_first(primary.code, fallback.code),
        message=_first(primary.message, fallback.message),
        param=_first(primary.param, fallback.param),
        status=primary.status if primary.status is not None else fallback.status,
        type=_first(primary.type, fallback.type),
    )
