"""The error hierarchy. Every error says what went wrong and, where it can, what to do about it.

    LlamaAzureError
    ├── ParameterError (also a ValueError)          a bad argument; nothing was sent
    ├── ConfigurationError (also a ValueError)      a bad client setting; nothing was sent
    │   └── TracingUnavailableError (also an ImportError)   llama_azure.tracing without its extra
    ├── CredentialError                             the credential could not get a token; nothing was sent
    ├── QuotaTimeoutError (also a TimeoutError)     rate_limit=: the budget could not come in time; nothing sent
    ├── QuotaStoreError                             rate_limit=: the shared budget's store failed; nothing sent
    ├── BatchFileError (also a ValueError)          run_batch: the output file cannot be used
    ├── ToolCallError                               run_tools(raise_tool_errors=True): a tool call failed
    └── APIError                                    anything the service or the network did
        ├── APIResponseValidationError              a 2xx answer whose body makes no sense
        │   ├── ResponseTooLargeError               an answer or stream event above a size limit
        │   ├── StructuredOutputError               parse(): the answer is not valid for the model
        │   │   └── ToolArgumentsError              a tool call's arguments are not valid for its model
        │   └── UnknownToolError                    run_tools: the model called a tool it was not given
        ├── APIStatusError                          an HTTP error answer (or an error inside a stream)
        │   ├── BadRequestError 400 ── ContentFilterError (400, code content_filter)
        │   ├── AuthenticationError 401, PermissionDeniedError 403, NotFoundError 404
        │   ├── UnprocessableEntityError 422, RateLimitError 429, InternalServerError >= 500
        ├── APIConnectionError ── APITimeoutError   no usable answer arrived
        └── DeploymentsUnavailableError             deployments=: every deployment failed or cools down
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._content_filter import filter_categories, filter_source, is_content_safety_refusal
from ._error_body import ErrorInfo, parse_error_bytes
from ._http.retry_after import retry_after_seconds

if TYPE_CHECKING:
    from .types.chat import ChatMessage
    from .types.chat_params import ChatMessageParam
    from .types.tool_calls import ToolCallRecord

_MAX_DETAIL = 500  # characters of a credential's own error kept in a CredentialError
_REQUEST_ID_HEADERS = ("x-request-id", "apim-request-id", "x-ms-request-id", "x-ms-client-request-id")


def request_id_of(headers: httpx.Headers | None) -> str | None:
    """The service's id for a response, from whichever header this endpoint uses."""
    if headers is None:
        return None
    names = headers.keys()  # one pass: httpx's get() of an absent header scans them and raises KeyError inside
    for name in _REQUEST_ID_HEADERS:
        if name in names:
            value = headers.get(name)
            if value:
                return str(value)
    return None


class LlamaAzureError(Exception):
    """The base of every error this package raises."""


class ParameterError(LlamaAzureError, ValueError):
    """A call's argument is invalid; no request was sent. ``error.param`` names the argument."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class ConfigurationError(LlamaAzureError, ValueError):
    """The client is missing a setting (endpoint, credential) or has an invalid one."""


class TracingUnavailableError(ConfigurationError, ImportError):
    """The ``tracing`` extra is not installed."""


class CredentialError(LlamaAzureError):
    """The credential (e.g. an azure-identity ``DefaultAzureCredential``) could not get a token; nothing was sent.

    The credential's own exception is the ``__cause__``. It is not an ``APIError``, so it is never retried:
    a missing login or a refused client secret does not fix itself between attempts.

    >>> from llama_azure import CredentialError
    >>> str(CredentialError.from_exception(RuntimeError("no login\\nmore"), "https://ml.azure.com/.default"))
    'the credential could not get a token for scope https://ml.azure.com/.default: RuntimeError: no login'
    """

    def __init__(self, message: str, *, scope: str | None = None) -> None:
        super().__init__(message)
        self.scope = scope

    @classmethod
    def from_exception(cls, error: BaseException, scope: str) -> CredentialError:
        """The error for ``error`` raised by ``credential.get_token(scope)``: its type and first line only."""
        text = str(error).strip()
        detail = error_line(error, text.splitlines()[0].strip() if text else "", limit=_MAX_DETAIL)
        return cls(f"the credential could not get a token for scope {scope}: {detail}", scope=scope)


class QuotaTimeoutError(LlamaAzureError, TimeoutError):
    """The call's budget could not come within its timeout; nothing was sent and no quota was held.

    ``error.wait`` is the shortest wait the budget foresaw (seconds), ``error.limit`` the time the call allowed.
    """

    def __init__(self, message: str, *, wait: float, limit: float) -> None:
        super().__init__(message)
        self.wait = wait
        self.limit = limit


class QuotaStoreError(LlamaAzureError):
    """The shared budget's store (``RateLimit(store="redis://...")``) could not be used; nothing was sent.

    There is no silent fallback to pacing in this process only: N processes each pacing alone would send N
    times the quota. Start the store, or drop ``store=`` on purpose.
    """


class BatchFileError(LlamaAzureError, ValueError):
    """A batch file cannot be used: the input is missing or unreadable, or the output is the input or holds
    lines that are not batch records. Nothing was sent, and the output was not changed."""


class ToolCallError(LlamaAzureError):
    """A tool call failed and ``run_tools(..., raise_tool_errors=True)`` was asked: ``error.record`` is the call
    (its ``error`` is also this exception's ``__cause__``), ``error.messages`` the conversation so far."""

    def __init__(self, message: str, *, record: ToolCallRecord,
                 messages: list[ChatMessageParam | ChatMessage]) -> None:
        super().__init__(message)
        self.record = record
        self.messages = messages


APIErrorT = TypeVar("APIErrorT", bound="APIError")


class APIError(LlamaAzureError):
    """An error from the service or the network, with how many attempts were made."""

    _made_with: tuple[tuple[Any, ...], dict[str, Any]]
    """The arguments its constructor was given: :func:`after_retries` builds the call's final error with them."""

    def __new__(cls: type[APIErrorT], *args: Any, **kwargs: Any) -> APIErrorT:
        error = super().__new__(cls, *args)
        error._made_with = (args, kwargs)
        return error

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        body: object | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self._base_message = message
        self.request = request
        self.body = body
        self.code = code
        self.attempts = 1
        self.waited = 0.0
        self.attempt_errors: tuple[APIError, ...] = ()
        """The error of each failed attempt, first to last, when the call made more than one (else empty)."""

    @property
    def message(self) -> str:
        """The message without the retry summary."""
        return self._base_message

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else self._base_message


@dataclass(frozen=True)
class RetrySummary:
    """How a call's retries went: HTTP requests sent, seconds waited between them, why retrying stopped."""

    attempts: int = 1
    waited: float = 0.0
    note: str | None = None
    errors: tuple[APIError, ...] = ()
    """Every failed attempt's error, the last one included."""

    def suffix(self) -> str:
        """`` (after 3 attempts, waited 2.1 s; attempt 1: ...; not retried: ...)``, or empty with nothing to say."""
        parts = []
        if self.attempts > 1:
            parts.append(f"after {self.attempts} attempts, waited {self.waited:.1f} s")
        parts.extend(earlier_causes(self.errors))
        if self.note:
            parts.append(self.note)
        return f" ({'; '.join(parts)})" if parts else ""


_CAUSE_CHARS = 200


def error_line(error: BaseException, text: str, *, limit: int | None = None) -> str:
    """``Type: text``, ``text`` cut to ``limit`` characters (``...`` at the cut); the type alone if ``text`` is
    empty. The one way an error is told inside another's message."""
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def cause_of(error: APIError) -> str:
    """One line saying why an attempt failed: ``APIConnectionError: server disconnected ...``."""
    return error_line(error, " ".join(error.message.split()), limit=_CAUSE_CHARS)


def earlier_causes(errors: tuple[APIError, ...]) -> list[str]:
    """What the attempts before the last failed with, when it differs from the last's cause (which the message
    already says), runs of the same cause told once: ``["attempt 1: APIConnectionError: server disconnected"]``.
    """
    causes = [cause_of(error) for error in errors]
    last = causes[-1] if causes else None
    while causes and causes[-1] == last:
        causes.pop()
    told: list[str] = []
    first = 0
    for i in range(1, len(causes) + 1):
        if i == len(causes) or causes[i] != causes[first]:
            which = f"attempt {first + 1}" if i - first == 1 else f"attempts {first + 1}-{i}"
            told.append(f"{which}: {causes[first]}")
            first = i
    return told


def after_retries(error: APIErrorT, summary: RetrySummary) -> APIErrorT:
    """The error a call raises to its caller when its retries stop, built once here.

    ``error`` is the last attempt's (raised only inside the retry loop, and left as it is). With nothing to add
    (one attempt, no note) it is the answer; else a new exception of the same class, made by its constructor with
    the arguments ``error`` was made with (so its class sets every attribute: retry_after, categories, limit,
    ...), whose message ends with the summary, e.g. ``... (after 3 attempts, waited 2.1 s)``.
    """
    if summary.attempts == 1 and summary.note is None:
        return error
    args, kwargs = error._made_with
    final = type(error)(*args, **kwargs)
    final.args = (error.message + summary.suffix(),)  # str(); ``final.message`` stays without the summary
    final.attempts, final.waited = summary.attempts, summary.waited
    final.attempt_errors = summary.errors if len(summary.errors) > 1 else ()
    return final.with_traceback(error.__traceback__)  # where the last attempt failed


class APIStatusError(APIError):
    """The service answered with an error status (or sent an error object inside a stream)."""

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        status_code: int | None = None,
        body: object | None = None,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message, request=response.request if _has_request(response) else None,
                         body=body, code=code)
        self.response = response
        self.status_code = status_code if status_code is not None else response.status_code
        self.headers = response.headers
        self.request_id = request_id_of(response.headers)
        self.param = param


class BadRequestError(APIStatusError):
    status_code = 400


class ContentFilterError(BadRequestError):
    """The service's content filter refused the request (400, code ``content_filter``, or the managed
    endpoints' "violates Azure AI Content Safety"). ``error.categories`` lists the categories that tripped
    (``hate``, ``violence``, ...) when the service says; ``error.source`` is ``"prompt"`` or ``"completion"``."""

    def __init__(self, message: str, *, categories: list[str] | None = None, source: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.categories: list[str] = categories or []
        self.source = source


class AuthenticationError(APIStatusError):
    """401: the key or token was refused. The message says which credential (for Entra ID: the scope asked for)."""

    status_code = 401


class PermissionDeniedError(APIStatusError):
    status_code = 403


class NotFoundError(APIStatusError):
    status_code = 404


class ConflictError(APIStatusError):
    status_code = 409


class UnprocessableEntityError(APIStatusError):
    status_code = 422


class RateLimitError(APIStatusError):
    """429: quota or rate limit. ``error.retry_after`` is the wait the service asked for, if any."""

    status_code = 429

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after: float | None = retry_after_seconds(self.headers)


class InternalServerError(APIStatusError):
    pass


class APIResponseValidationError(APIError):
    """The service answered 2xx, but with a body that is not what the route documents."""


class ResponseTooLargeError(APIResponseValidationError):
    """An answer (``max_response_bytes``), one stream event (16 MiB) or what a stream keeps for ``until_done()``
    (``max_response_bytes``) is larger than its limit; not retried.

    ``error.limit`` is the limit in bytes. Reading (or keeping) stopped there, so memory stays bounded.
    """

    def __init__(self, message: str, *, limit: int, request: httpx.Request | None = None) -> None:
        super().__init__(message, request=request)
        self.limit = limit


class StructuredOutputError(APIResponseValidationError):
    """The model's answer is not valid for the requested pydantic model.

    ``error.content`` is the raw text the model wrote; ``error.finish_reason`` says whether it was cut
    short (``"length"``: raise ``max_tokens``).
    """

    def __init__(self, message: str, *, content: str | None, finish_reason: str | None) -> None:
        super().__init__(message)
        self.content = content
        self.finish_reason = finish_reason


class ToolArgumentsError(StructuredOutputError):
    """The arguments of a tool call are not valid for the tool's pydantic model.

    ``error.tool_name`` names the tool, ``error.tool_call_id`` the call, ``error.content`` holds the raw
    arguments (JSON text) and ``error.problems`` what is wrong with them.
    """

    def __init__(self, message: str, *, tool_name: str, tool_call_id: str, content: str | None,
                 finish_reason: str | None, problems: str = "") -> None:
        super().__init__(message, content=content, finish_reason=finish_reason)
        self.tool_name = tool_name
        self.tool_call_id = tool_call_id
        self.problems = problems


class UnknownToolError(APIResponseValidationError):
    """The model called a tool that is not among ``run_tools``' tools."""


class APIConnectionError(APIError):
    """No usable answer: the connection failed, was reset, or a stream ended early."""

    def __init__(self, message: str = "Connection error.", *, request: httpx.Request | None = None) -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError):
    """The request (or a stream between two chunks) took longer than its timeout."""

    def __init__(self, message: str = "Request timed out.", *, request: httpx.Request | None = None) -> None:
        super().__init__(message, request=request)


class DeploymentsUnavailableError(APIError):
    """Every deployment failed or cools down, and the call may not wait any longer.

    ``failures`` maps each deployment's name to its last failure; ``errors`` holds the errors themselves.
    """

    def __init__(self, message: str, errors: dict[str, APIError]) -> None:
        super().__init__(message)
        self.errors = errors
        self.failures = {name: failure_text(error) for name, error in errors.items()}


def failure_text(error: APIError) -> str:
    """``RateLimitError: 429 from ...``: how one deployment failed, for ``DeploymentsUnavailableError``."""
    return error_line(error, error.message)


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises RuntimeError when the response was built by hand
    except RuntimeError:
        return False
    return True


def error_class_for(status: int, code: str | None) -> type[APIStatusError]:
    """The exception class for an HTTP status and Azure error code."""
    if code == "content_filter" and status in (200, 400):
        return ContentFilterError
    if status >= 500:
        return InternalServerError
    return _BY_STATUS.get(status, APIStatusError)


def _describe(status: int, info: ErrorInfo, where: str, credential: str | None = None) -> str:
    text = f"{status} from {where}" if where else str(status)
    if info.code:
        text += f" [{info.code}]"
    if info.message:
        text += f": {info.message}"
    if info.param:
        text += f" (parameter: {info.param})"
    if status == 400 and info.code == "content_filter":
        hint: str | None = "Rephrase the prompt; the endpoint's content filter refused it."
    elif status == 422 and info.code not in _PASS_THROUGH_CODES:  # a bad value: extra_body would not help
        hint = "A parameter's value is not accepted here (type or range); fix the value."
    elif status == 401 and credential:  # what the client's credential knows about itself
        hint = credential[:1].upper() + credential[1:] + ("" if credential.endswith(".") else ".")
    else:
        hint = _HINTS.get(status)
    if hint:
        text += f"{'' if text.endswith(('.', '!', '?')) else '.'} {hint}"
    return text


_HINTS = {
    401: "Check the key or token, and for Entra ID the scope (audience) the credential asks for.",
    403: "The credential is valid but lacks access to this endpoint or deployment.",
    404: "Check the endpoint URL, the route style (api=...) and the deployment name.",
    422: "A parameter is not supported here; remove it, or send it with extra_body= (pass-through).",
}
# The 422 codes of an unknown body field, which the extra-parameters: pass-through header (extra_body=) lets in.
_PASS_THROUGH_CODES = frozenset({"parameter_not_supported", "extra_parameters_not_allowed"})


def make_status_error(
    response: httpx.Response,
    raw: bytes,
    *,
    where: str = "",
    status_code: int | None = None,
    credential: str | None = None,
) -> APIStatusError:
    """Turn an error answer (status and body bytes) into the matching typed exception.

    ``credential`` says what the client's credential was (``Auth.describe_failure()``): a 401's hint.
    """
    info, body = parse_error_bytes(raw)
    return status_error_from_info(response, info, body, where=where, status_code=status_code,
                                  credential=credential)


def status_error_from_info(
    response: httpx.Response,
    info: ErrorInfo,
    body: Any,
    *,
    where: str = "",
    status_code: int | None = None,
    credential: str | None = None,
) -> APIStatusError:
    status = status_code if status_code is not None else response.status_code
    if not info.message and not info.code:
        info = ErrorInfo(code=None, message=response.reason_phrase or "error", param=info.param)
    cls = error_class_for(status, info.code)
    if status == 400 and is_content_safety_refusal(info.message):
        cls = ContentFilterError
    message = _describe(status, info, where, credential)
    if not issubclass(cls, ContentFilterError):
        return cls(message, response=response, status_code=status, body=body, code=info.code, param=info.param)
    categories, source = filter_categories(body), filter_source(info.param, info.message)
    return ContentFilterError(message + _filter_note(categories, source), response=response, status_code=status,
                              body=body, code=info.code, param=info.param, categories=categories, source=source)


def _filter_note(categories: list[str], source: str | None) -> str:
    """Which categories tripped and where (prompt or completion), for a content filter error's message."""
    said = []
    if categories:
        said.append(f"filtered: {', '.join(categories)}")
    if source:
        said.append(f"on the {source}")
    return f" ({'; '.join(said)})" if said else ""
