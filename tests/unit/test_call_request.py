"""A call's request as prepared: the usual call (a JSON body, no ``extra_headers``) takes the config's headers
encoded once (``ClientConfig.json_headers``), the headers the general way builds, in the same order; the body is
compact JSON, and one JSON cannot carry is refused before sending."""

from __future__ import annotations

import re
from typing import Any

import pytest

from llama_azure._call.config import ClientConfig
from llama_azure._call.options import ClientOptions
from llama_azure._call.prepare import prepare_chat, prepare_completion
from llama_azure._exceptions import ParameterError

MESSAGES = [{"role": "user", "content": "Hi"}]
ID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
CONFIGS: dict[str, dict[str, Any]] = {
    "plain": {},
    "deployment": {"deployment": "blue"},
    "default headers": {"default_headers": {"X-Team": "red", "Accept": "application/json"}},
    "a fixed request id": {"default_headers": {"x-ms-client-request-id": "fixed-id"}},
    "the request id in other case": {"default_headers": {"X-MS-Client-Request-Id": "mine"}},
    "a content type": {"default_headers": {"content-type": "application/json; charset=utf-8"}},
    "a Content-Type": {"default_headers": {"Content-Type": "application/json; charset=utf-8"}},
    "a header httpx adds": {"default_headers": {"Host": "other.example"}},
}


def config(deployment: str | None = None, **options: Any) -> ClientConfig:
    return ClientConfig.create("https://a.eastus2.models.ai.azure.com", api="model-inference", api_version=None,
                               deployment=deployment, options=ClientOptions(**options))


def without_id(headers: tuple[tuple[bytes, bytes], ...]) -> list[tuple[bytes, bytes]]:
    """The headers, the per-call request id replaced by a mark (a fixed one kept)."""
    return [(name, b"<id>" if name == b"x-ms-client-request-id" and ID.fullmatch(value) else value)
            for name, value in headers]


@pytest.mark.parametrize("case", list(CONFIGS))
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("extra_body", [None, {"top_k": 3}])
def test_the_usual_call_sends_the_headers_the_general_way_builds(case: str, stream: bool,
                                                                  extra_body: dict[str, Any] | None) -> None:
    made = config(**CONFIGS[case])
    usual = prepare_chat(made, MESSAGES, stream, {"extra_body": extra_body})
    general = prepare_chat(made, MESSAGES, stream, {"extra_body": extra_body, "extra_headers": {}})
    assert without_id(usual.headers) == without_id(general.headers)
    assert usual.content == general.content
    text = prepare_completion(made, "Once", stream, {"extra_body": extra_body})
    assert without_id(text.headers) == without_id(
        prepare_completion(made, "Once", stream, {"extra_body": extra_body, "extra_headers": {}}).headers)


def test_each_call_has_its_own_request_id() -> None:
    made = config()
    ids = {dict(prepare_chat(made, MESSAGES, False, {}).headers)[b"x-ms-client-request-id"] for _ in range(50)}
    assert len(ids) == 50 and all(ID.fullmatch(value) for value in ids)


def test_the_usual_call_s_headers_in_order() -> None:
    call = prepare_chat(config(deployment="blue"), MESSAGES, False, {})
    assert [name for name, _ in call.headers] == [
        b"host", b"user-agent", b"accept", b"x-ms-client-request-id", b"azureml-model-deployment", b"content-type",
        b"content-length"]
    assert call.header(b"content-length") == str(len(call.content)) and call.header(b"host") == (
        "a.eastus2.models.ai.azure.com")


def test_the_body_is_compact_json_as_written() -> None:
    call = prepare_chat(config(), [{"role": "user", "content": "Grüße"}], False, {"max_tokens": 4})
    assert call.content == '{"messages":[{"role":"user","content":"Grüße"}],"max_tokens":4}'.encode()


@pytest.mark.parametrize(("extra", "says"), [({"x": float("nan")}, "Out of range float values"),
                                             ({"x": {1, 2}}, "Object of type set is not JSON serializable")])
def test_a_body_json_cannot_carry_is_refused_before_sending(extra: dict[str, Any], says: str) -> None:
    with pytest.raises(ParameterError, match="the request body cannot be sent as JSON") as raised:
        prepare_chat(config(), MESSAGES, False, {"extra_body": extra})
    assert says in str(raised.value) and raised.value.param == "extra_body"
