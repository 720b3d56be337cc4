"""The per-call ``x-ms-client-request-id``: a random version 4 UUID in its canonical text form."""

from __future__ import annotations

import uuid

import httpx

from llama_azure._call.prepare import new_request_id
from llama_azure._exceptions import request_id_of


def test_request_ids_are_canonical_random_version_4_uuids() -> None:
    ids = [new_request_id() for _ in range(2000)]
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert len(set(ids)) == len(ids)
    assert {text[19] for text in ids} == set("89ab")  # every variant digit turns up


def test_the_service_s_request_id_is_read_from_the_first_header_that_has_one() -> None:
    def read(*pairs: tuple[str, str]) -> str | None:
        return request_id_of(httpx.Headers(list(pairs)))

    assert read(("X-MS-Request-Id", "ms"), ("apim-request-id", "apim")) == "apim"  # the order of the names wins
    assert read(("x-request-id", ""), ("x-ms-client-request-id", "client")) == "client"  # an empty one is skipped
    assert read(("x-request-id", "a"), ("X-Request-Id", "b")) == "a, b"  # repeated: joined, as httpx does
    assert read(("content-type", "application/json")) is None
    assert request_id_of(None) is None
