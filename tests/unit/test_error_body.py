"""Tests for llama_azure._error_body: every documented Azure error shape, and never raising."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llama_azure._error_body import ErrorInfo, parse_error_body, parse_error_bytes

# ---------------------------------------------------------------------------- documented shapes


def test_nested_azure_core() -> None:
    body = {
        "error": {
            "code": "InvalidRequest",
            "message": "  The model field is invalid.  ",
            "target": "model",
            "details": [{"code": "Detail", "message": "ignored", "target": "other"}],
            "innererror": {"code": "ModelNotFound"},
        }
    }
    # The outer code wins over innererror's; messages are stripped.
    assert parse_error_body(body) == ErrorInfo("InvalidRequest", "The model field is invalid.", "model")


def test_nested_innererror_code_used_when_outer_code_missing() -> None:
    body = {"error": {"message": "m", "innererror": {"innererror": {"code": "Deeper"}}}}
    assert parse_error_body(body) == ErrorInfo("Deeper", "m")
    body = {"error": {"message": "m", "innererror": {"code": "Inner", "innererror": {"code": "Deeper"}}}}
    assert parse_error_body(body) == ErrorInfo("Inner", "m")


def test_nested_details_fill_missing_fields() -> None:
    body = {"error": {"details": [{"code": "D", "message": "from details", "target": "messages"}]}}
    assert parse_error_body(body) == ErrorInfo("D", "from details", "messages")


def test_nested_with_status_type_param_and_top_level_status() -> None:
    body: dict[str, Any] = {"error": {"code": "c", "message": "m", "param": "temperature",
                                      "type": "invalid_request_error"}}
    assert parse_error_body(body) == ErrorInfo("c", "m", "temperature", None, "invalid_request_error")
    body = {"error": {"code": "c", "message": "m", "status": 400}, "status": 500}
    assert parse_error_body(body) == ErrorInfo("c", "m", status=400)
    body = {"error": {"code": "c", "message": "m"}, "status": 503}
    assert parse_error_body(body) == ErrorInfo("c", "m", status=503)


def test_content_filter() -> None:
    message = (
        "The response was filtered due to the prompt triggering Azure OpenAI's content management policy."
    )
    body = {"error": {"message": message, "type": None, "param": "prompt", "code": "content_filter", "status": 400}}
    assert parse_error_body(body) == ErrorInfo("content_filter", message, "prompt", 400, None)


def test_flat_unsupported_parameter() -> None:
    body = {
        "status": 422,
        "code": "parameter_not_supported",
        "detail": {"loc": ["body", "response_format"], "input": "json_object"},
        "message": "One of the parameters contain invalid values.",
    }
    assert parse_error_body(body) == ErrorInfo(
        "parameter_not_supported", "One of the parameters contain invalid values.", "body.response_format", 422
    )


def test_flat_error_string_as_identifier_is_code() -> None:
    body = {"error": "rate_limit_exceeded", "message": "Rate limit is exceeded.", "status": 429}
    assert parse_error_body(body) == ErrorInfo("rate_limit_exceeded", "Rate limit is exceeded.", status=429)
    assert parse_error_body({"error": "Unauthorized"}) == ErrorInfo("Unauthorized", None)


def test_flat_error_string_as_text_is_message_when_missing() -> None:
    body = {"error": "Too Many Requests", "message": "Try again in 5 s.", "status": 429}
    assert parse_error_body(body) == ErrorInfo(None, "Try again in 5 s.", status=429)
    body = {"error": "Too Many Requests", "status": 429}
    assert parse_error_body(body) == ErrorInfo(None, "Too Many Requests", status=429)


def test_flat_code_wins_over_error_identifier() -> None:
    body = {"error": "something", "code": "real_code", "message": "m"}
    assert parse_error_body(body) == ErrorInfo("real_code", "m")


def test_odd_status_string_is_message() -> None:
    assert parse_error_body({"status": "Invalid auth token"}) == ErrorInfo(None, "Invalid auth token")


def test_odd_detail_string_is_message() -> None:
    assert parse_error_body({"detail": "Not Found"}) == ErrorInfo(None, "Not Found")


def test_fastapi_validation_errors() -> None:
    body = {
        "detail": [
            {"loc": ["body", "messages", 0, "content"], "msg": "Field required", "type": "missing"},
            {"loc": ["body", "temperature"], "msg": "Input should be a number", "type": "float_type"},
        ]
    }
    assert parse_error_body(body) == ErrorInfo(
        None, "Field required; Input should be a number", "body.messages.0.content", None, "missing"
    )


def test_api_management_status_code() -> None:
    body = {"statusCode": 401, "message": "Access denied due to invalid subscription key."}
    assert parse_error_body(body) == ErrorInfo(None, "Access denied due to invalid subscription key.", status=401)


def test_numeric_status_as_string_and_float() -> None:
    assert parse_error_body({"status": "429", "message": "m"}) == ErrorInfo(None, "m", status=429)
    assert parse_error_body({"status": 404.0}) == ErrorInfo(None, None, status=404)
    # Out-of-range numbers are not statuses; booleans are not numbers.
    assert parse_error_body({"status": 7}) == ErrorInfo(None, None)
    assert parse_error_body({"status": True}) == ErrorInfo(None, None)


def test_numeric_codes_are_strings() -> None:
    assert parse_error_body({"error": {"code": 429, "message": "slow"}}) == ErrorInfo("429", "slow", status=429)
    assert parse_error_body({"code": 5.0, "message": "m"}) == ErrorInfo("5", "m")
    assert parse_error_body({"code": 1.5}) == ErrorInfo("1.5", None)
    assert parse_error_body({"code": True, "message": "m"}) == ErrorInfo(None, "m")
    assert parse_error_body({"code": 10**5000}) == ErrorInfo(None, None)


def test_non_string_fields_are_ignored() -> None:
    body = {"error": {"code": ["x"], "message": {"a": 1}, "param": 3, "type": [], "target": None}}
    assert parse_error_body(body) == ErrorInfo(None, None)


def test_message_list_of_strings_is_joined() -> None:
    assert parse_error_body({"message": ["a", " b ", 3, ""]}) == ErrorInfo(None, "a; b")


def test_double_wrapped_error() -> None:
    body = {"error": {"error": {"code": "inner", "message": "deep"}}}
    assert parse_error_body(body) == ErrorInfo("inner", "deep")


@pytest.mark.parametrize("body", [None, 0, 429, 1.5, True, [], [1, "a"], {}, {"error": None}, {"error": []}])
def test_garbage_gives_empty_info(body: object) -> None:
    assert parse_error_body(body) == ErrorInfo(None, None)


def test_list_with_error_object() -> None:
    assert parse_error_body([{"error": {"code": "c", "message": "m"}}]) == ErrorInfo("c", "m")


def test_plain_json_string_is_message() -> None:
    assert parse_error_body("  upstream timed out ") == ErrorInfo(None, "upstream timed out")
    assert parse_error_body("   ") == ErrorInfo(None, None)


def test_huge_message_is_truncated() -> None:
    info = parse_error_body({"error": {"code": "c" * 5000, "message": "m" * 100_000}})
    assert info.message == "m" * 2000
    assert info.code == "c" * 200


def test_deep_nesting_does_not_raise() -> None:
    body: object = {"code": "bottom"}
    for _ in range(10_000):
        body = {"error": body}
    assert parse_error_body(body) == ErrorInfo(None, None)
    inner: object = {"code": "x"}
    for _ in range(10_000):
        inner = {"innererror": inner}
    assert parse_error_body({"error": {"message": "m", "innererror": inner}}) == ErrorInfo(None, "m")


# ---------------------------------------------------------------------------- bytes


def test_bytes_json() -> None:
    body = {"error": {"code": "content_filter", "message": "filtered", "param": "prompt", "status": 400}}
    info, decoded = parse_error_bytes(json.dumps(body).encode())
    assert info == ErrorInfo("content_filter", "filtered", "prompt", 400)
    assert decoded == body


def test_bytes_not_json_gives_text_message() -> None:
    info, decoded = parse_error_bytes(b"  <html><body>502 Bad Gateway</body></html>\n")
    assert info == ErrorInfo(None, "<html><body>502 Bad Gateway</body></html>")
    assert decoded is None


def test_bytes_text_truncated_to_1000() -> None:
    info, decoded = parse_error_bytes(b"x" * 5000)
    assert info == ErrorInfo(None, "x" * 1000)
    assert decoded is None


def test_bytes_empty_and_whitespace() -> None:
    assert parse_error_bytes(b"") == (ErrorInfo(None, None), None)
    assert parse_error_bytes(b" \r\n ") == (ErrorInfo(None, None), None)


def test_bytes_invalid_utf8() -> None:
    info, decoded = parse_error_bytes(b"bad \xff\xfe body")
    assert info == ErrorInfo(None, "bad \ufffd\ufffd body")
    assert decoded is None


def test_bytes_json_scalars() -> None:
    assert parse_error_bytes(b"null") == (ErrorInfo(None, None), None)
    assert parse_error_bytes(b"429") == (ErrorInfo(None, None), 429)
    text = "Service Unavailable"
    assert parse_error_bytes(b'"Service Unavailable"') == (ErrorInfo(None, text), text)


def test_bytes_pathological_json() -> None:
    info, decoded = parse_error_bytes(b"[" * 100_000)
    assert decoded is None
    assert info.message == "[" * 1000
    info, decoded = parse_error_bytes(b"1" * 10_000)  # int() digit limit
    assert decoded is None
    assert info.message == "1" * 1000
    info, decoded = parse_error_bytes(b'{"status": NaN, "code": Infinity, "message": "m"}')
    assert info == ErrorInfo(None, "m")


def test_bytes_utf16_json() -> None:
    info, _ = parse_error_bytes(json.dumps({"detail": "Not Found"}).encode("utf-16"))
    assert info == ErrorInfo(None, "Not Found")


# ---------------------------------------------------------------------------- properties

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(
        st.sampled_from(
            ["error", "code", "message", "status", "detail", "details", "innererror", "target", "param",
             "type", "loc", "msg", "statusCode", "Message"]
        )
        | st.text(max_size=5),
        children,
        max_size=6,
    ),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_parse_error_body_never_raises(body: object) -> None:
    info = parse_error_body(body)
    assert isinstance(info, ErrorInfo)
    for text in (info.code, info.message, info.param, info.type):
        assert text is None or (isinstance(text, str) and text == text.strip() and text)
    assert info.message is None or len(info.message) <= 2000
    assert info.status is None or 100 <= info.status <= 599


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_parse_error_bytes_roundtrip_of_json(body: object) -> None:
    try:
        raw = json.dumps(body).encode()
    except ValueError:
        return
    info, _decoded = parse_error_bytes(raw)
    assert info == parse_error_body(json.loads(raw))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_parse_error_bytes_never_raises(raw: bytes) -> None:
    info, decoded = parse_error_bytes(raw)
    assert isinstance(info, ErrorInfo)
    assert info.message is None or len(info.message) <= 2000
    if decoded is None:
        assert info.code is None
