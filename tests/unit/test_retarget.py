"""A call prepared once is retargeted to another deployment's config: the same request as preparing it there,
in the first call's time and trace."""

from __future__ import annotations

import json
from typing import Any

import httpx
from support.wire import chat_answer

from llama_azure._call.config import ClientConfig
from llama_azure._call.options import ClientOptions
from llama_azure._call.prepare import prepare_chat, prepare_completion, prepare_parse
from llama_azure._call.prepared import PreparedCall
from llama_azure._request.routes import ApiStyle

MESSAGES = [{"role": "user", "content": "Hi"}]


def config(endpoint: str, api: ApiStyle, **options: Any) -> ClientConfig:
    return ClientConfig.create(endpoint, api=api, api_version=None, deployment=options.pop("deployment", None),
                               options=ClientOptions(**options))


def same_request(one: PreparedCall[Any], other: PreparedCall[Any]) -> None:
    assert one.request.url == other.request.url
    assert {k: v for k, v in one.request.headers.items() if k != "x-ms-client-request-id"} == {
        k: v for k, v in other.request.headers.items() if k != "x-ms-client-request-id"}
    assert json.loads(one.request.content) == json.loads(other.request.content)
    assert (one.where, one.stream, one.chunk_type, one.operation) == (other.where, other.stream, other.chunk_type,
                                                                      other.operation)


def test_a_chat_call_moves_to_another_deployment_of_the_same_route_style() -> None:
    first = config("https://a.eastus2.models.ai.azure.com", "model-inference", model="one")
    second = config("https://b.eastus2.models.ai.azure.com", "model-inference", model="two", deployment="blue")
    kwargs: dict[str, Any] = {"max_tokens": 4, "temperature": 0.5, "extra_headers": {"x-team": "red"}}
    call = prepare_chat(first, MESSAGES, True, kwargs)
    moved = call.for_config(second)
    same_request(moved, prepare_chat(second, MESSAGES, True, kwargs))
    assert json.loads(moved.request.content)["model"] == "two"
    assert moved.timer is call.timer and moved.request.headers["azureml-model-deployment"] == "blue"
    named = prepare_chat(first, MESSAGES, False, {"model": "mine"}).for_config(second)
    assert json.loads(named.request.content)["model"] == "mine"  # the call's own model goes everywhere


def test_another_route_style_prepares_the_call_anew() -> None:
    first = config("https://a.eastus2.models.ai.azure.com", "llama")
    scoring = config("https://c.eastus2.inference.ml.azure.com", "score")
    call = prepare_chat(first, MESSAGES, False, {"max_tokens": 4})
    same_request(call.for_config(scoring), prepare_chat(scoring, MESSAGES, False, {"max_tokens": 4}))
    assert call.for_config(scoring).timer is call.timer
    text = prepare_completion(first, "Once", False, {"max_tokens": 4})
    same_request(text.for_config(scoring), prepare_completion(scoring, "Once", False, {"max_tokens": 4}))


def test_a_parse_call_still_reads_its_answer_into_the_model_after_a_move() -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        text: str

    first = config("https://a.eastus2.models.ai.azure.com", "model-inference")
    second = config("https://b.eastus2.models.ai.azure.com", "model-inference", model="two")
    call = prepare_parse(first, MESSAGES, Answer, False, {"max_tokens": 4})
    moved = call.for_config(second)
    same_request(moved, prepare_parse(second, MESSAGES, Answer, False, {"max_tokens": 4}))
    answer = json.dumps(chat_answer('{"text": "hi"}')).encode()
    reply = moved.parse(httpx.Response(200, content=answer, request=moved.request), answer)
    assert reply.choices[0].message.parsed == Answer(text="hi")
