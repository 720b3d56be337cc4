"""Checks on the parts of a request every route reads: ``api-version``, the JSON body, the
``extra-parameters`` header, and the body's pydantic validation (answered as Azure 422 bodies)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from . import errors
from .errors import ApiError

API_VERSIONS = ("2024-05-01-preview", "2025-04-01")
MAX_BODY_BYTES = 4 * 1024 * 1024

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


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise errors.nested(413, "RequestTooLarge", f"The request body exceeds {MAX_BODY_BYTES} bytes.")
    if not raw.strip():
        raise errors.bad_request("The request body is empty; a JSON object is required.", param="body")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise errors.bad_request(f"The request body is not valid JSON: {exc}", param="body") from None
    if not isinstance(body, dict):
        raise errors.bad_request("The request body must be a JSON object.", param="body")
    return body


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
