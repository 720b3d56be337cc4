"""The fast paths of the request checks (plain scalar parameters, plain text messages) give what pydantic gives.

``plain_params`` and ``messages._plain_message`` skip pydantic for the common shapes; for any input, the
checked call must build the same body (same keys in the same order, same values of the same types) or
raise the same ``ParameterError`` as the pydantic path alone.
"""

from __future__ import annotations

import itertools
import json
import random
from typing import Any
from unittest import mock

import pytest
from pydantic import ValidationError

from llama_azure._exceptions import ParameterError
from llama_azure._request import messages as messages_module
from llama_azure._request import params as params_module
from llama_azure._request.plain_params import plain_params

VALUES: list[Any] = [
    0, 1, 2, 3, 5, 16, 20, 21, 128, 129, -1, -2, -3, 2**63, 2**64, -(2**63) - 1, 2**53 + 1, 10**400,
    0.0, 0.5, 1.0, 1.5, 2.0, 2.5, -2.0, -2.5, 1e-9, float("nan"), float("inf"), -float("inf"),
    True, False, None, "", "5", "stop", ["a", "b"], [], ["a", 1], ("a",), {"a": 1}, b"x",
]
NAMES = ["max_tokens", "max_completion_tokens", "temperature", "top_p", "n", "stop", "best_of", "logprobs",
         "presence_penalty", "frequency_penalty", "ignore_eos", "use_beam_search", "skip_special_tokens",
         "seed", "top_logprobs", "model", "parallel_tool_calls", "stop_token_ids", "tool_choice", "nope"]


def _outcome(call: Any) -> tuple[str, str]:
    """What a check gave: the body as JSON with its Python types, or the error's message and param."""
    try:
        result = call()
    except ParameterError as error:
        return "error", f"{error} | {error.param}"
    return "ok", json.dumps([[k, type(v).__name__, v] for k, v in result.items()], allow_nan=True)


def _pydantic_only(params: dict[str, Any], chat: bool) -> dict[str, Any]:
    adapter = params_module._CHAT_ADAPTER if chat else params_module._COMPLETION_ADAPTER
    try:
        return dict(adapter.validate_python(dict(params)))
    except ValidationError as error:
        params_module._raise_for(error)


# Values each parameter takes (the common calls), mixed with the others above in the sets of several.
GOOD: dict[str, list[Any]] = {
    "max_tokens": [1, 64], "max_completion_tokens": [8], "temperature": [0, 0.2, 1, 2.0], "top_p": [0.9, 1],
    "n": [1, 2], "stop": ["\n", ["a", "b"], None], "best_of": [1, 3], "logprobs": [True, 3, None],
    "presence_penalty": [0.5, -2], "frequency_penalty": [0, 1.5], "ignore_eos": [True], "use_beam_search": [False],
    "skip_special_tokens": [False], "seed": [42, -(2**63)], "top_logprobs": [2], "model": ["m"],
    "parallel_tool_calls": [True],
}


def _param_sets() -> list[dict[str, Any]]:
    rng = random.Random(21)
    sets: list[dict[str, Any]] = [{}]
    sets += [{name: value} for name in NAMES for value in VALUES + GOOD.get(name, [])]
    for _ in range(3000):
        names = rng.sample(NAMES, rng.randint(2, 4))
        good = rng.random() < 0.7
        sets.append({name: rng.choice(GOOD[name] if good and name in GOOD else VALUES) for name in names})
    return sets


@pytest.mark.parametrize("chat", [True, False], ids=["chat", "completion"])
def test_plain_params_agree_with_pydantic(chat: bool) -> None:
    ranks = params_module._CHAT_RANKS if chat else params_module._COMPLETION_RANKS
    taken = 0
    for params in _param_sets():
        fast = plain_params(params, ranks)
        slow = _outcome(lambda params=params: _pydantic_only(params, chat))
        if fast is not None:
            taken += 1
            assert _outcome(lambda fast=fast: fast) == slow, params
    assert taken > 500  # the fast path is exercised, not only declined


@pytest.mark.parametrize("chat", [True, False], ids=["chat", "completion"])
def test_validate_gives_the_body_or_error_of_pydantic_alone(chat: bool) -> None:
    messages = [{"role": "user", "content": "hi"}]
    for params in _param_sets()[:800]:
        if chat:
            got = _outcome(lambda params=params: params_module.validate_chat(messages, params, False)[1])
        else:
            got = _outcome(lambda params=params: params_module.validate_completion("hi", params, False))
        expected = _outcome(lambda params=params: _reference_body(params, chat))
        assert got == expected, params


def _reference_body(params: dict[str, Any], chat: bool) -> dict[str, Any]:
    if not chat and isinstance(params.get("logprobs"), bool):
        return dict(params_module.validate_completion("hi", params, False))  # its own error, before pydantic
    body = _pydantic_only(params, chat)
    params_module._check_combinations(body, False)
    return body


MESSAGE_KEYS: dict[str, list[Any]] = {
    "role": ["system", "user", "assistant", "tool", "robot", 1, None],
    "content": ["hi", "", None, 5, [{"type": "text", "text": "a"}], [{"type": "image_url", "image_url": {"url": "u"}}],
                [{"type": "text"}], b"x"],
    "name": ["bob", 3, None],
    "tool_call_id": ["call_1", 7],
    "tool_calls": [[{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}], []],
    "extra": ["x"],
}


def _messages() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    optional = ["name", "tool_call_id", "tool_calls", "extra"]
    for role, content in itertools.product(MESSAGE_KEYS["role"], MESSAGE_KEYS["content"]):
        out.append({"role": role, "content": content})
        out.append({"content": content, "role": role})  # the validator's order wins either way
        out.append({"role": role})
        for key in optional:
            for value in MESSAGE_KEYS[key]:
                out.append({"role": role, "content": content, key: value})
                out.append({key: value, "content": content, "role": role})
    return out


def _reference_message(message: dict[str, Any]) -> dict[str, Any]:
    """check_messages of one message with the fast path off: the validator of its role only."""
    with mock.patch.object(messages_module, "_plain_message", lambda message, role: None):
        return dict(messages_module.check_messages([message])[0])


def test_plain_messages_agree_with_the_role_validators() -> None:
    taken = 0
    for message in _messages():
        role = message.get("role")
        if isinstance(role, str) and role in messages_module._THIRD_KEY and type(message.get("content")) is str:
            taken += messages_module._plain_message(message, role) is not None
        got = _outcome(lambda message=message: dict(messages_module.check_messages([message])[0]))
        assert got == _outcome(lambda message=message: _reference_message(message)), message
    assert taken > 20


def test_a_plain_message_is_a_new_dict() -> None:
    message = {"role": "user", "content": "hi"}
    checked = messages_module.check_messages([message])[0]
    assert checked == message and checked is not message


def test_a_plain_stop_list_is_a_copy_as_pydantic_makes() -> None:
    stop = ["a", "b"]
    body = plain_params({"stop": stop}, params_module._CHAT_RANKS)
    assert body == {"stop": ["a", "b"]} and body["stop"] is not stop
