"""Which hosts may see the credential, without I/O: plain-http refusal and redirects that drop secrets.

- The key or token is never sent in clear to a host on the network: ``http://`` is refused before
  sending unless the host is loopback (127.0.0.0/8, ::1, ``localhost``) or the caller passed
  ``allow_insecure_http=True``.
- Redirects are followed by the client itself (only when an injected ``http_client`` has
  ``follow_redirects=True``), so that every credential header is dropped when the redirect leaves the
  origin (scheme, host and port) it was sent to: httpx itself strips only ``Authorization``, and would
  send ``api-key`` to another host or over an https -> http downgrade.
"""

from __future__ import annotations

import ipaddress
import re

import httpx

from .._exceptions import ConfigurationError

# Header names that may carry a secret (api-key, authorization, x-functions-key, cookie, ...).
SECRET_HEADER = re.compile(r"auth|key|token|secret|password|cookie|signature|identity", re.IGNORECASE)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1: traffic that never leaves the machine."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_plain_http(url: httpx.URL, allow_insecure_http: bool) -> None:
    """Refuse to send a credential over ``http://`` to a host that is not loopback (nothing is sent)."""
    if url.scheme == "http" and not allow_insecure_http and not is_loopback(url.host):
        raise ConfigurationError(
            f"refusing to send the credential in clear over http:// to {url.host}: use an https:// endpoint, "
            f"or pass allow_insecure_http=True (constructor or with_options) if this network is trusted; "
            f"loopback hosts (localhost, 127.0.0.1, ::1) are always allowed"
        )


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port or _default_port(a)) == (b.scheme, b.host, b.port or _default_port(b))


def _default_port(url: httpx.URL) -> int | None:
    return {"http": 80, "https": 443}.get(url.scheme)


def follows_redirect(http: httpx.Client | httpx.AsyncClient, response: httpx.Response) -> bool:
    """True when ``response`` is a redirect and the httpx client was made with ``follow_redirects=True``."""
    return http.follow_redirects and response.status_code in _REDIRECTS and "location" in response.headers


def redirect_request(http: httpx.Client | httpx.AsyncClient, request: httpx.Request,
                     response: httpx.Response, hops: int) -> httpx.Request:
    """The request that follows the redirect ``response`` (see :func:`follows_redirect`).

    At most ``http.max_redirects`` hops. 301/302/303 turn a POST into a GET without a body (as browsers
    and httpx do); 307/308 resend the same method and body. Leaving the origin drops every secret header.
    """
    if hops >= http.max_redirects:
        raise httpx.TooManyRedirects(f"more than {http.max_redirects} redirects", request=request)
    url = request.url.join(response.headers["location"])
    if url.scheme not in ("http", "https"):
        raise httpx.UnsupportedProtocol(f"a redirect to a {url.scheme!r} URL", request=request)
    method = request.method
    if (response.status_code == 303 and method != "HEAD") or (response.status_code in (301, 302) and method == "POST"):
        method = "GET"
    headers = httpx.Headers(request.headers)
    headers.pop("host", None)
    if method != request.method:
        for name in ("content-length", "content-type", "transfer-encoding"):
            headers.pop(name, None)
    if not same_origin(request.url, url):
        for name in [name for name in headers if SECRET_HEADER.search(name)]:
            headers.pop(name, None)
    content = request.content if method == request.method else None
    return httpx.Request(method, url, headers=headers, content=content or None, extensions=request.extensions)
