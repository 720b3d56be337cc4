"""One HTTP exchange of an attempt, without I/O: the request sent (the call's parts with the credential's headers,
logged without secrets) and what the answer, or a transport failure, means (a typed result or our error)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import httpx

from .._exceptions import APIConnectionError, APITimeoutError, ConfigurationError, make_status_error, request_id_of
from .._http.origins import SECRET_HEADER
from .config import _SENDABLE_VALUE
from .prepared import PreparedCall

if TYPE_CHECKING:
    from ..types.chat import ChatCompletionChunk
    from ..types.completion import Completion

logger = logging.getLogger("llama_azure")
T = TypeVar("T")


# Header names that may carry a secret: never logged in clear (api-key, x-functions-key, authorization, ...).
_SECRET_HEADER = SECRET_HEADER


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to log: credentials replaced by ``<redacted>``."""
    return {k: ("<redacted>" if _SECRET_HEADER.search(k) else v) for k, v in headers.items()}


def loggable_url(url: httpx.URL) -> str:
    """The URL for a log line: query values hidden (a SAS-style ``?code=`` is a secret), api-version kept."""
    if not url.query:
        return str(url.copy_with(query=None))
    shown = "&".join(f"{k}={v if k == 'api-version' else '<redacted>'}" for k, v in url.params.multi_items())
    return f"{url.copy_with(query=None)}?{shown}"


def interpret(call: PreparedCall[T], response: httpx.Response, content: bytes, credential: str | None = None) -> T:
    """A typed result for a 2xx answer, or the typed exception for an error answer (``credential``: what the
    credential was, for a 401's message)."""
    if response.status_code >= 400:
        raise make_status_error(response, content, where=call.where, credential=credential)
    result = call.parse(response, content)
    result._request_id = request_id_of(response.headers)  # type: ignore[attr-defined]
    return result


def stream_chunk_type(
    call: PreparedCall[Any], response: httpx.Response
) -> type[ChatCompletionChunk] | type[Completion] | None:
    """The chunk type when this answer starts a stream; None when its body is to be read whole."""
    return call.chunk_type if call.stream and response.status_code < 400 else None


def raise_transport_error(error: httpx.HTTPError, call: PreparedCall[Any]) -> NoReturn:
    """Raise our error for an httpx failure. A request httpx refused to send is not chained to httpx's
    error, whose message may quote a header value (a malformed key), and is not retried."""
    if isinstance(error, (httpx.LocalProtocolError, httpx.UnsupportedProtocol)):
        raise ConfigurationError(
            f"{call.method} {call.where} could not be sent: {type(error).__name__} (a header value, "
            f"such as the key, holds characters HTTP does not allow, or the URL scheme is not http(s))"
        ) from None
    raise transport_error(error, call) from error


def transport_error(error: httpx.HTTPError, call: PreparedCall[Any]) -> APIConnectionError:
    """Our error for an httpx transport failure (no secrets: httpx puts no headers in messages)."""
    if isinstance(error, httpx.PoolTimeout):
        return APITimeoutError(
            f"{call.method} {call.where}: no free connection in the pool in time (PoolTimeout): "
            f"close streams you leave early (`with stream:`), or raise the httpx client's limits",
            request=call.request)
    if isinstance(error, httpx.TimeoutException):
        expired = call.timer.expired(f"{call.method} {call.where}")
        if expired is not None:
            expired.request = call.request
            return expired
        return APITimeoutError(
            f"{call.method} {call.where} timed out ({type(error).__name__}); raise timeout= if the "
            f"model needs longer", request=call.request)
    return APIConnectionError(
        f"{call.method} {call.where} failed: {type(error).__name__}: {error}", request=call.request)


def with_auth(call: PreparedCall[Any], auth_headers: Mapping[str, str], attempt: int) -> httpx.Request:
    """A new request for one attempt: fresh credential headers, the call's timeout (cut to ``total_timeout``)."""
    call.timer.check(f"{call.method} {call.where}")
    for name, value in auth_headers.items():
        if not _SENDABLE_VALUE.fullmatch(value):
            raise ConfigurationError(
                f"the credential's {name} header cannot be sent: the key or token holds line breaks, control or "
                f"non-ASCII characters (check for a stray newline; the value is not shown)"
            )
    # The call's headers (Host and Content-Length included) are already checked and encoded, the credential's
    # go after them; the body is the call's bytes, not encoded again.
    headers = [*call.headers, *[(name.encode(), value.encode()) for name, value in auth_headers.items()]]
    request = httpx.Request(call.method, call.url, headers=headers, stream=httpx.ByteStream(call.content),
                            extensions={"timeout": call.timer.clamp(call.timeout).as_dict()})
    request.read()  # ``request.content``, as for a request made with ``content=``
    log_attempt(call, attempt, request.headers)
    return request


def log_attempt(call: PreparedCall[Any], attempt: int, headers: Mapping[str, str]) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s %s attempt %d headers=%s", call.method, loggable_url(call.url), attempt,
                     redact_headers(headers))
