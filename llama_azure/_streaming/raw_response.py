"""``with_raw_response``: the HTTP answer behind a call (headers, status, retries taken) and ``.parse()``.

``raw = client.chat.completions.with_raw_response.create(messages=..., max_tokens=8)``;
``raw.headers["x-ratelimit-remaining-tokens"]``, ``raw.retries_taken``, ``reply = raw.parse()``.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import httpx

from .._call.prepared import CallOutcome
from .._exceptions import request_id_of

R = TypeVar("R")


class RawResponse(Generic[R]):
    """One call's final HTTP answer and its parsed result (as in openai-python's ``with_raw_response``).

    For ``stream=True`` the body is not read: ``parse()`` returns the ``Stream`` to iterate.
    """

    def __init__(self, response: httpx.Response, parsed: R, retries_taken: int, deployment: Any = None) -> None:
        self.http_response = response
        self.deployment = deployment
        """With ``LlamaClient(deployments=[...])``: the ``Deployment`` that answered; else None."""
        self._parsed = parsed
        self.retries_taken = retries_taken
        """Retries before this answer (0 when the first attempt succeeded)."""

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def request_id(self) -> str | None:
        return request_id_of(self.http_response.headers)

    @property
    def url(self) -> httpx.URL:
        return self.http_response.request.url

    def parse(self) -> R:
        """The typed result the plain ``create`` returns."""
        return self._parsed

    def __repr__(self) -> str:
        return f"<RawResponse [{self.status_code}] retries_taken={self.retries_taken}>"


def raw_response(outcome: CallOutcome, result: R) -> RawResponse[R]:
    """Wrap the result of a call that has run (its last answer is ``outcome.response``)."""
    assert outcome.response is not None, "the call has not been sent"
    return RawResponse(outcome.response, result, outcome.retries_taken, outcome.deployment)
