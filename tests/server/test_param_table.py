"""The SDK and the reference server agree with the one parameter table (llama_azure/_request/param_table.py), on every
parameter and route: which routes have it, its range (the server's own caps aside) and its default."""

from __future__ import annotations

from typing import Annotated, get_args, get_origin

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from llama_azure import ParameterError
from llama_azure._request.param_table import PARAMS, ROUTES, Bounds
from llama_azure._request.params import ChatParams, CompletionParams, validate_chat, validate_completion
from llama_azure._request.route_params import check_route_params
from llama_azure._request.score import score_parameters
from llama_azure.server.openai_v1 import OpenAIChatCompletionRequest
from llama_azure.server.schemas import (
    ChatCompletionRequest,
    CompletionRequest,
    InferenceChatCompletionRequest,
    ScoreParameters,
)

SERVER: dict[str, type[BaseModel]] = {
    "llama/chat": ChatCompletionRequest,
    "llama/completions": CompletionRequest,
    "model-inference/chat": InferenceChatCompletionRequest,  # also Foundry Models' /models/chat/completions
    "model-inference/completions": CompletionRequest,
    "openai-v1/chat": OpenAIChatCompletionRequest,
    "openai-v1/completions": CompletionRequest,
    "score/chat": ScoreParameters,
    "score/completions": ScoreParameters,
}
NOT_PARAMETERS = {"stream", "messages", "prompt", "do_sample"}  # do_sample: the SDK derives it from temperature


def server_name(name: str, route: str) -> str:
    return (PARAMS[name].score_name or name) if route.startswith("score/") else name


def bounds_of(info: FieldInfo) -> Bounds:
    found: dict[str, float] = {}
    metadata = list(info.metadata)
    for member in get_args(info.annotation):  # a union: the bounds sit on its Annotated int member
        if get_origin(member) is Annotated:
            metadata += get_args(member)[1:]
    for item in metadata:
        if isinstance(item, FieldInfo):  # Annotated[int, Field(ge=0)]: its constraints are its metadata
            metadata += item.metadata
        for side in ("ge", "gt", "le"):
            if getattr(item, side, None) is not None:
                found[side] = getattr(item, side)
    return Bounds(**found)


def test_the_table_has_every_route_and_the_server_every_route() -> None:
    assert set(SERVER) == set(ROUTES)


@pytest.mark.parametrize("route", ROUTES)
def test_the_server_schema_of_each_route_has_exactly_the_table_parameters(route: str) -> None:
    fields = set(SERVER[route].model_fields) - NOT_PARAMETERS
    expected = {server_name(p.name, route) for p in PARAMS.values() if route in p.routes}
    if route.startswith("score/"):
        expected.discard("n")  # the SDK takes n=1 there and sends nothing (one answer per input string)
    assert fields == expected


@pytest.mark.parametrize("route", ROUTES)
def test_the_server_ranges_and_defaults_are_the_table_ones(route: str) -> None:
    fields = SERVER[route].model_fields
    for param in PARAMS.values():
        name = server_name(param.name, route)
        if route not in param.routes or name not in fields:
            continue
        expected = param.bounds_on(route) or Bounds()
        if param.server_cap is not None:
            expected = Bounds(ge=expected.ge, gt=expected.gt, le=param.server_cap)
        assert bounds_of(fields[name]) == expected, (route, name)
        assert fields[name].default == param.default_on(route), (route, name)


def test_the_sdk_types_every_table_parameter() -> None:
    assert set(PARAMS) == set(ChatParams.__annotations__) | set(CompletionParams.__annotations__)
    assert set(PARAMS) - set(CompletionParams.__annotations__) == {
        p.name for p in PARAMS.values() if not any(r.endswith("/completions") for r in p.routes)}


@pytest.mark.parametrize("route", ROUTES)
def test_the_sdk_refuses_exactly_the_parameters_the_route_lacks(route: str) -> None:
    api, operation = route.split("/")
    for param in PARAMS.values():
        try:
            check_route_params(api, [param.name], operation=operation)
            if api == "score":
                score_parameters({param.name: 1})
        except ParameterError:
            assert route not in param.routes, (route, param.name)
        else:
            assert route in param.routes, (route, param.name)


def _validate(route: str, name: str, value: float) -> None:
    api, operation = route.split("/")
    if operation == "chat":
        validate_chat([{"role": "user", "content": "Hi"}], {name: value}, False, api)
    else:
        validate_completion("Hi", {name: value}, False, api)


@pytest.mark.parametrize("route", ROUTES)
def test_the_sdk_takes_exactly_the_route_range(route: str) -> None:
    for param in PARAMS.values():
        found = param.bounds_on(route)
        if route not in param.routes or found is None:
            continue
        integer = param.name in ("max_tokens", "n", "best_of", "logprobs", "top_logprobs", "seed")
        step = 1 if integer else 0.25
        if param.name == "top_logprobs" or (param.name == "logprobs" and route.endswith("/chat")):
            continue  # checked with their partner below (logprobs=True goes with top_logprobs)
        edges = [(v, True) for v in (found.ge, found.le) if v is not None]
        edges += [(v - step, False) for v in (found.ge,) if v is not None]
        edges += [(v + step, False) for v in (found.le,) if v is not None]
        if found.gt is not None:
            edges += [(found.gt, False), (found.gt + step, True)]
        for value, ok in edges:
            value = int(value) if integer else value
            if param.name == "best_of" and value > 1:
                continue  # best_of > 1 needs n: a combination rule, not a range
            try:
                _validate(route, param.name, value)
            except ParameterError:
                assert not ok, (route, param.name, value)
            else:
                assert ok, (route, param.name, value)
