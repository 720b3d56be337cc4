"""--blocklist: prompts with a listed word are refused; generated text stops before one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from llama_azure.server.content_filter import Blocklist, TextScanner
from llama_azure.server.process import ReferenceServer

# At temperature 0 SmolLM2-135M-Instruct answers this prompt with " The capital of France is Paris."
FRANCE = "Q: What is the capital of France?\nA:"


def test_prompt_filter_on_every_route(client: httpx.Client) -> None:
    api = {"api-version": "2024-05-01-preview"}
    cases: list[tuple[str, dict[str, Any]]] = [
        ("/v1/completions", {"prompt": "Tell me about FORBIDDENWORD please"}),
        ("/completions", {"prompt": "a forbiddenwords b"}),
        ("/v1/chat/completions", {"messages": [{"role": "system", "content": "x ForbiddenWord"}]}),
        ("/chat/completions", {"messages": [{"role": "user", "content": "forbiddenword"}]}),
    ]
    for path, body in cases:
        r = client.post(path, params=api, json={**body, "max_tokens": 1})
        assert r.status_code == 400, (path, r.text)
        assert r.json() == {
            "error": {
                "message": r.json()["error"]["message"],
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
                "innererror": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": {"custom_blocklists": {"filtered": True, "details": [
                        {"filtered": True, "id": "reference-server-blocklist"}]}},
                },
            }
        }
        assert r.json()["error"]["message"].startswith(
            "The response was filtered due to the prompt triggering Azure OpenAI's content management policy."
        )


def test_prompt_filter_on_score(client: httpx.Client) -> None:
    chat = {"input_data": {"input_string": [{"role": "user", "content": "forbiddenword"}]}}
    r = client.post("/score", json=chat)
    assert r.status_code == 200 and r.json() == {}
    text = {"input_data": {"input_string": ["forbiddenword", "Count: one,"], "parameters": {"max_new_tokens": 2}}}
    out = client.post("/score", json=text).json()
    assert out[0] == {"0": ""} and out[1]["0"]


@pytest.fixture(scope="module")
def paris_server() -> Iterator[ReferenceServer]:
    with ReferenceServer(api_key="filter-key", args=["--blocklist", "paris"]) as srv:
        yield srv


def post(srv: ReferenceServer, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{srv.url}{path}", json=body, headers={"api-key": srv.api_key}, timeout=60)


def test_output_filter(paris_server: ReferenceServer) -> None:
    r = post(paris_server, "/v1/completions", {"prompt": FRANCE, "max_tokens": 16, "temperature": 0})
    assert r.status_code == 200, r.text
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "content_filter"
    assert choice["text"] == " The capital of France is "
    assert "paris" not in choice["text"].lower()


def test_output_filter_in_stream(paris_server: ReferenceServer, sse: Any) -> None:
    body = {"prompt": FRANCE, "max_tokens": 16, "temperature": 0, "stream": True}
    events = sse(post(paris_server, "/v1/completions", body))
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    text = "".join(c["choices"][0]["text"] for c in chunks)
    assert text == " The capital of France is "
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "content_filter"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])


def test_output_filter_on_score(paris_server: ReferenceServer) -> None:
    body = {"input_data": {"input_string": [FRANCE], "parameters": {"max_new_tokens": 16, "do_sample": False}}}
    assert post(paris_server, "/score", body).json() == [{"0": ""}]


def test_scanner_holds_back_possible_matches() -> None:
    s = TextScanner(stop=["STOP"], blocked=["banana"])
    assert s.feed("I like ba") == ("I like ", None)
    assert s.feed("nd") == ("band", None)
    assert s.feed(" Ban") == (" ", None)
    assert s.feed("ANA split") == ("", "content_filter")
    assert s.text == "I like band "
    s = TextScanner(stop=["STOP"], blocked=["banana"])
    assert s.feed("abcST") == ("abc", None)
    assert s.feed("O") == ("", None)
    assert s.flush() == "STO"
    s = TextScanner(stop=["\n\n"])
    assert s.feed("one\n") == ("one", None)
    assert s.feed("\ntwo") == ("", "stop")
    assert s.text == "one"


def test_blocklist_is_case_insensitive() -> None:
    b = Blocklist(["Paris", " "])
    assert b.contains("i love pArIs")
    assert not b.contains("par is")
    assert not Blocklist([]).contains("anything")
