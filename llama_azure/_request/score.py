"""The managed endpoints' legacy ``/score`` format, mapped to and from the typed results.

Request: ``{"input_data": {"input_string": [...], "parameters": {...}}}``; chat answers
``{"output": "..."}``, text answers ``[{"0": "..."}]``. With the content-safety wrapper a blocked input
answers ``{}`` and a blocked output is ``""`` (reported as ``finish_reason="content_filter"``).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from .._error_body import ErrorInfo
from .._exceptions import APIError, APIResponseValidationError, ParameterError, status_error_from_info
from ..types.chat import ChatCompletion, ChatCompletionChoice, ChatMessage
from ..types.completion import Completion, CompletionChoice

_SUPPORTED = {"temperature", "top_p", "max_tokens", "seed"}


def score_parameters(params: dict[str, Any]) -> dict[str, Any]:
    """Map Llama API parameters to the scoring script's; refuse what it cannot do."""
    unsupported = sorted(set(params) - _SUPPORTED - {"n"})
    if params.get("n", 1) != 1:
        unsupported.insert(0, "n")
    if unsupported:
        raise ParameterError(
            f"the score route does not support {', '.join(unsupported)}; use api='model-inference' or "
            f"'llama' on an endpoint that serves those routes, or drop the parameter",
            param=unsupported[0],
        )
    out: dict[str, Any] = {}
    if "temperature" in params:
        out["temperature"] = params["temperature"]
        out["do_sample"] = params["temperature"] > 0
    if "top_p" in params:
        out["top_p"] = params["top_p"]
    if "max_tokens" in params:
        out["max_new_tokens"] = params["max_tokens"]
    if "seed" in params:
        out["seed"] = params["seed"]
    return out


def score_body(input_string: list[Any], params: dict[str, Any]) -> dict[str, Any]:
    return {"input_data": {"input_string": input_string, "parameters": score_parameters(params)}}


def _blocked(response: httpx.Response, body: object) -> APIError:
    info = ErrorInfo(
        code="content_filter",
        message="the endpoint's content-safety wrapper blocked the input (it answered {})",
    )
    return status_error_from_info(response, info, body, status_code=400)


def _loads(content: bytes, response: httpx.Response, what: str) -> object:
    try:
        return json.loads(content)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        raise APIResponseValidationError(
            f"the score route answered {what} that is not JSON: {content[:200]!r}"
        ) from None


def _finish(text: str) -> str | None:
    return "content_filter" if text == "" else None


def parse_score_chat(response: httpx.Response, content: bytes) -> ChatCompletion:
    body = _loads(content, response, "a chat reply")
    if body == {}:
        raise _blocked(response, body)
    if isinstance(body, dict) and isinstance(body.get("output"), str):
        text = body["output"]
    elif isinstance(body, list) and body and isinstance(body[0], dict) and isinstance(body[0].get("0"), str):
        text = body[0]["0"]
    else:
        raise APIResponseValidationError(f"the score route's chat reply has no 'output' string: {str(body)[:200]}")
    message = ChatMessage(role="assistant", content=text)
    return ChatCompletion(choices=[ChatCompletionChoice(index=0, message=message, finish_reason=_finish(text))])


def parse_score_completion(response: httpx.Response, content: bytes) -> Completion:
    body = _loads(content, response, "a text reply")
    if body == {} or body == []:
        raise _blocked(response, body)
    texts: list[str] = []
    if isinstance(body, list):
        for item in body:
            if isinstance(item, dict) and isinstance(item.get("0"), str):
                texts.append(item["0"])
            elif isinstance(item, str):
                texts.append(item)
            else:
                texts = []
                break
    elif isinstance(body, dict) and isinstance(body.get("output"), str):
        texts = [body["output"]]
    if not texts:
        raise APIResponseValidationError(f"the score route's text reply is not [{{'0': text}}]: {str(body)[:200]}")
    return Completion(
        choices=[CompletionChoice(index=i, text=t, finish_reason=_finish(t)) for i, t in enumerate(texts)]
    )
