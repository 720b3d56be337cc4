"""The final error of a call is made by its class's constructor (``after_retries``): every attribute the class
sets is there, the retry summary is in its text, and the last attempt's error is left as it was."""

from __future__ import annotations

import httpx

from llama_azure import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    DeploymentsUnavailableError,
    ResponseTooLargeError,
    StructuredOutputError,
    ToolArgumentsError,
)
from llama_azure._exceptions import APIErrorT, RetrySummary, after_retries

REQUEST = httpx.Request("POST", "https://x.eastus2.models.ai.azure.com/v1/chat/completions")


def _final(error: APIErrorT) -> APIErrorT:
    final = after_retries(error, RetrySummary(attempts=3, waited=1.0, errors=(error, error, error)))
    assert final is not error and type(final) is type(error)
    assert str(final) == f"{error.message} (after 3 attempts, waited 1.0 s)" and final.message == error.message
    assert (final.attempts, final.waited, final.attempt_errors) == (3, 1.0, (error, error, error))
    assert (error.attempts, str(error)) == (1, error.message)
    return final


def test_each_class_keeps_its_own_attributes() -> None:
    assert _final(ResponseTooLargeError("too big", limit=10, request=REQUEST)).limit == 10
    assert _final(APIConnectionError(request=REQUEST)).request is REQUEST
    assert _final(APITimeoutError("slow", request=REQUEST)).message == "slow"
    parsed = _final(StructuredOutputError("bad", content="{", finish_reason="length"))
    assert (parsed.content, parsed.finish_reason) == ("{", "length")
    tool = _final(ToolArgumentsError("bad", tool_name="f", tool_call_id="c1", content="{}", finish_reason=None,
                                     problems="x: missing"))
    assert (tool.tool_name, tool.tool_call_id, tool.problems) == ("f", "c1", "x: missing")
    cause = APIConnectionError("reset")
    every = _final(DeploymentsUnavailableError("none left", {"a": cause}))
    assert every.errors == {"a": cause} and every.failures == {"a": "APIConnectionError: reset"}
    assert _final(APIError("plain", code="c")).code == "c"
