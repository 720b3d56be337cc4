"""Checks on the parts of a request every route reads: ``api-version``, the JSON body, the
``extra-parameters`` header, and the body's pydantic validation (answered as Azure 422 bodies)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request

from . import errors
from .errors import ApiError
from .limits import BODY_TIMEOUT_S, MAX_BODY_BYTES

API_VERSIONS = ("2024-05-01-preview", "2025-04-01")

ExtraMode = Literal["error", "drop", "pass-through"]
_Model = TypeVar("_Model", bound=BaseModel)


def check_api_version(request: Request) -> None:
    version = request.query_params.get("api-version")
    if version is None:
        raise errors.bad_request(
            "Missing required query parameter 'api-version'. Supported: " + ", ".join(API_VERSIONS) + ".",
            param="api-version",
            code="MissingApiVersionParameter",
        )
    if version not in API_VERSIONS:
        raise errors.bad_request(
            f"Unsupported api-version '{version[:64]}'. Supported: " + ", ".join(API_VERSIONS) + ".",
            param="api-version",
            code="UnsupportedApiVersion",
        )


def decode_json(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object of valid Unicode (run it off the event loop: up to 4 MiB of JSON)."""
    if not raw.strip():
        raise errors.bad_request("The request body is empty; a JSON object is required.", param="body")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise errors.bad_request(f"The request body is not valid JSON: {exc}", param="body") from None
    if not isinstance(body, dict):
        raise errors.bad_request("The request body must be a JSON object.", param="body")
    check_unicode(raw, body)
    return body


async def read_body(request: Request, timeout_s: float = BODY_TIMEOUT_S) -> bytes:
    """The raw body; 413 as soon as it is known to be too large (``Content-Length`` first), 408 when slow.

    After a 413 the rest of the body is read and dropped (for ``--body-timeout`` at most, see
    :mod:`.connections`), so the client, still sending, can read the answer instead of a connection reset.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()

    async def read() -> bytes:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:  # a chunked body, or one longer than it said
                raise _too_large()
        return bytes(body)

    try:
        return await asyncio.wait_for(read(), timeout_s)
    except asyncio.TimeoutError:
        raise errors.nested(
            408,
            "RequestTimeout",
            f"The request body did not arrive within {timeout_s:g} s; send it at once.",
            headers={"connection": "close"},
        ) from None
    except ClientDisconnect:  # nobody will read the answer; no need to log it as a failure
        raise errors.bad_request("The client disconnected while sending the body.", param="body") from None


def _too_large() -> ApiError:
    return errors.nested(
        413,
        "RequestTooLarge",
        f"The request body exceeds {MAX_BODY_BYTES} bytes ({MAX_BODY_BYTES // 2**20} MiB); send a smaller one.",
    )


# A surrogate reaches a str from a JSON escape (\ud800..\udfff) or from its 3-byte form (json.loads decodes
# bytes with "surrogatepass"); such a str cannot be encoded, so tokenizing or echoing it would fail.
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\xed[\xa0-\xbf]")


def check_unicode(raw: bytes, body: dict[str, Any]) -> None:
    """400 naming the field when a string of the body holds a lone UTF-16 surrogate (``"\\ud800"``)."""
    if _SURROGATE.search(raw) is None:  # valid pairs also match; they are checked below and pass
        return
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), body)]
    while stack:
        path, value = stack.pop()
        items: list[tuple[str | int, Any]] = []
        if isinstance(value, dict):
            items = list(value.items())
        elif isinstance(value, list):
            items = list(enumerate(value))
        elif isinstance(value, str) and not _encodable(value):
            name = field_name(path)
            raise errors.bad_request(
                f"Invalid value for '{name}': the string holds a lone UTF-16 surrogate (such as \\ud800), "
                "which is not valid Unicode. Send valid UTF-8 text.",
                param=name,
            )
        for key, item in items:
            if isinstance(key, str) and not _encodable(key):
                raise errors.bad_request(
                    "A field name holds a lone UTF-16 surrogate, which is not valid Unicode.", param="body"
                )
            stack.append(((*path, key), item))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def extra_mode(request: Request) -> ExtraMode:
    value = request.headers.get("extra-parameters", "error").strip().lower()
    if value in ("pass-through", "allow", "pass_through"):
        return "pass-through"
    if value == "drop":
        return "drop"
    if value == "error":
        return "error"
    raise errors.bad_request(
        f"Invalid extra-parameters header '{value[:32]}'; use error, drop or pass-through.",
        param="extra-parameters",
    )


def reject_extras(extras: Mapping[str, Any], mode: ExtraMode) -> None:
    """Unknown body fields are an error unless ``extra-parameters`` says to drop or pass them."""
    if extras and mode == "error":
        names = sorted(extras)
        raise errors.parameter_not_supported(
            ["body", names[0]],
            extras[names[0]],
            f"Extra parameters {names} are not allowed when extra-parameters is not set or set to be "
            "'error'. Set extra-parameters to 'drop' or 'pass-through' to send them.",
        )


def parse(model: type[_Model], body: dict[str, Any]) -> _Model:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from None


_UNION_TAG = re.compile(r"^(?:str|int|float|bool|list|dict|none|constrained-\w+)$|[\[\-]")


def field_name(loc: Sequence[Any]) -> str:
    """``("stop", "list[constrained-str]", 3)`` -> ``"stop.3"``: pydantic's union member tags are dropped."""
    parts = [str(p) for p in loc if isinstance(p, int) or not _UNION_TAG.search(str(p))]
    return ".".join(parts) or "body"


def validation_error(exc: ValidationError) -> ApiError:
    details = [{"loc": ["body", *err["loc"]], "msg": err["msg"], "type": err["type"]} for err in exc.errors()]
    first = exc.errors()[0]
    name = field_name(first["loc"])
    return errors.validation_error(f"Invalid value for '{name}': {first['msg']}", param=name, details=details)
