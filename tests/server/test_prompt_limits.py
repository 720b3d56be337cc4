"""What a request's text may cost the server: prompts too long for the context are refused by their size
before any tokenizing, invalid Unicode is a 400, and /score has the same token cap as the other routes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from support.server_stats import settled_stats, stats

from llama_azure.server.intake import MAX_TOTAL_TOKENS
from llama_azure.server.process import ReferenceServer

HUGE = "word " * 780_000  # 3.9 MB: under the 4 MiB body limit, tokenized it would take seconds


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/completions", {"prompt": HUGE, "max_tokens": 1}, "prompt"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": HUGE}], "max_tokens": 1}, "messages"),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "word " * 1000}] * 700, "max_tokens": 1},
            "messages",
        ),
        ("/score", {"input_data": {"input_string": [HUGE]}}, "input_string"),
        ("/score", {"input_data": {"input_string": [{"role": "user", "content": HUGE}]}}, "messages"),
    ],
    ids=["completion", "chat", "many-messages", "score-text", "score-chat"],
)
def test_a_prompt_too_big_for_the_context_is_refused_by_size_without_tokenizing(
    client: httpx.Client, path: str, body: dict[str, Any], param: str
) -> None:
    before = settled_stats(client)["prompts_tokenized"]
    r = client.post(path, json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "context_length_exceeded"
    assert error["param"] == param
    assert "bytes of text" in error["message"] and "2048 tokens" in error["message"]
    assert "more than 165807 bytes" in error["message"]  # the figure docs/server.md gives
    assert stats(client)["prompts_tokenized"] == before


def test_the_size_check_refuses_only_what_could_not_fit(client: httpx.Client) -> None:
    """Just under the byte bound the prompt is tokenized, and refused by its token count (or answered)."""
    before = settled_stats(client)["prompts_tokenized"]
    r = client.post("/v1/completions", json={"prompt": "word " * 3000, "max_tokens": 1})
    assert r.status_code == 400
    assert "has 3001 tokens" in r.json()["error"]["message"]
    assert stats(client)["prompts_tokenized"] == before + 1


def test_a_refused_prompt_uses_no_quota() -> None:
    """The choice documented in docs/server.md: refusals are cheap, so they are not counted.

    A server of its own: on the shared one, other tests' requests leave the sliding window meanwhile.
    """
    with ReferenceServer(api_key="limits-key", args=["--rpm", "5"]) as srv, httpx.Client(
        base_url=srv.url, headers={"api-key": srv.api_key}, timeout=60
    ) as client:
        answers = [client.post("/v1/completions", json={"prompt": HUGE, "max_tokens": 1}) for _ in range(2)]
        assert [r.status_code for r in answers] == [400, 400]
        assert [r.headers["x-ratelimit-remaining-requests"] for r in answers] == ["5", "5"]


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/completions", {"prompt": "Hi \ud800", "max_tokens": 1}, "prompt"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "\udfff"}], "max_tokens": 1},
         "messages.0.content"),
        ("/v1/chat/completions",
         {"messages": [{"role": "user", "content": [{"type": "text", "text": "a\ud800b"}]}], "max_tokens": 1},
         "messages.0.content.0.text"),
        ("/score", {"input_data": {"input_string": ["\ud800"]}}, "input_data.input_string.0"),
        ("/v1/completions", {"prompt": "Hi", "max_tokens": 1, "stop": ["\ud800"]}, "stop.0"),
        ("/v1/completions", {"prompt": "Hi", "max_tokens": 1, "\ud800": 1}, "body"),
        ("/v1/completions", {"prompt": "Hi", "max_tokens": 1, "my_extra": "\ud800"}, "my_extra"),
    ],
    ids=["prompt", "chat", "text-part", "score", "stop", "field-name", "extra-field"],
)
def test_a_lone_surrogate_is_a_400_naming_the_field(
    client: httpx.Client, path: str, body: dict[str, Any], param: str
) -> None:
    r = client.post(path, content=json.dumps(body).encode())  # the lone surrogate as the JSON escape \ud800
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param
    assert "surrogate" in error["message"]


def test_a_surrogate_in_its_three_byte_form_is_a_400(client: httpx.Client) -> None:
    r = client.post("/v1/completions", content=b'{"prompt": "Hi \xed\xa0\x80", "max_tokens": 1}')
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "prompt"


def test_valid_surrogate_pairs_are_text(client: httpx.Client) -> None:
    r = client.post("/v1/completions", content=b'{"prompt": "\\ud83e\\udd99 \\\\ud800", "max_tokens": 1}')
    assert r.status_code == 200, r.text


def test_score_applies_the_per_request_token_cap(client: httpx.Client) -> None:
    max_new_tokens = MAX_TOTAL_TOKENS // 16 + 1  # 16 inputs: 16 generations of this many tokens
    body = {"input_data": {"input_string": ["Hi"] * 16, "parameters": {"max_new_tokens": max_new_tokens}}}
    r = client.post("/score", json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["param"] == "input_data.parameters.max_new_tokens"
    assert str(MAX_TOTAL_TOKENS) in error["message"]
    # The cap counts generations: the same max_new_tokens for one chat input is fine.
    chat = {"input_data": {"input_string": [{"role": "user", "content": "Hi"}],
                           "parameters": {"max_new_tokens": 2, "do_sample": False}}}
    assert client.post("/score", json=chat).status_code == 200
