"""Azure-shaped error bodies and the exception that carries them to the edge of the app.

Two body families exist on the wire (see docs/azure-llama-wire.md): the nested Azure Core form
``{"error": {"code", "message", ...}}`` and the flat form ``{"status", "code", "message", "detail"}``.
The server emits the nested form except where the wire notes document the flat one
(``parameter_not_supported``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CONTENT_FILTER_MESSAGE = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. "
    "Please modify your prompt and retry. To learn more about our content filtering policies please "
    "read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
)


class ApiError(Exception):
    """An error answered to the client: HTTP status, JSON body and extra headers."""

    def __init__(
        self,
        status: int,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
        error_code: str | None = None,
    ) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})
        self.error_code = error_code

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.error_code:
            headers["x-ms-error-code"] = self.error_code
        return headers


def nested(
    status: int,
    code: str,
    message: str,
    *,
    param: str | None = None,
    details: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ApiError:
    """The Azure Core form: ``{"error": {"code", "message", "status", "param"?, "target"?, "details"?}}``."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if param is not None:
        error["param"] = param
        error["target"] = param
    if details:
        error["details"] = [dict(d) for d in details]
    return ApiError(status, {"error": error}, headers, error_code=code)


def unauthorized() -> ApiError:
    return nested(
        401,
        "Unauthorized",
        "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
        "key for an active subscription and use a correct regional API endpoint for your resource.",
        headers={"www-authenticate": 'Bearer realm="llama-azure"'},
    )


def invalid_token(code: str, message: str) -> ApiError:
    """401 for a refused bearer token (expired, wrong audience, bad signature): the body says why."""
    printable = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in message)
    description = printable[:300]
    return nested(
        401,
        code,
        message,
        headers={"www-authenticate": f'Bearer error="invalid_token", error_description="{description}"'},
    )


def not_found(message: str = "Resource not found") -> ApiError:
    return nested(404, "NotFound", message)


def method_not_allowed(method: str, path: str) -> ApiError:
    return nested(405, "MethodNotAllowed", f"Method {method} is not allowed on {path}.")


def bad_request(message: str, *, param: str | None = None, code: str = "BadRequest") -> ApiError:
    return nested(400, code, message, param=param)


def validation_error(message: str, *, param: str | None, details: Sequence[Mapping[str, Any]]) -> ApiError:
    return nested(422, "invalid_request_error", message, param=param, details=details)


def parameter_not_supported(loc: Sequence[str | int], value: Any, message: str | None = None) -> ApiError:
    """The documented flat 422 body for a parameter the model cannot honour."""
    body = {
        "status": 422,
        "code": "parameter_not_supported",
        "detail": {"loc": list(loc), "input": value},
        "message": message or "One of the parameters contain invalid values.",
    }
    return ApiError(422, body, error_code="parameter_not_supported")


def content_filter(param: str = "prompt") -> ApiError:
    body = {
        "error": {
            "message": CONTENT_FILTER_MESSAGE,
            "type": None,
            "param": param,
            "code": "content_filter",
            "status": 400,
            # Azure OpenAI's shape: which categories tripped (the blocklist is the server's only one).
            "innererror": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_result": {"custom_blocklists": {"filtered": True, "details": [
                    {"filtered": True, "id": "reference-server-blocklist"}]}},
            },
        }
    }
    return ApiError(400, body, error_code="content_filter")


def rate_limited(retry_after_s: float, message: str | None = None) -> ApiError:
    seconds = max(1, int(-(-retry_after_s // 1)))
    ms = max(1, int(retry_after_s * 1000))
    headers = {"retry-after": str(seconds), "retry-after-ms": str(ms), "x-ms-retry-after-ms": str(ms)}
    text = message or f"Rate limit is exceeded. Try again in {seconds} seconds."
    return nested(429, "429", text, headers=headers)


def internal_error(request_id: str) -> ApiError:
    return nested(
        500,
        "InternalServerError",
        f"The server had an error while processing your request (request id {request_id}).",
    )
