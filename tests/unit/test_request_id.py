"""The per-call ``x-ms-client-request-id``: a random version 4 UUID in its canonical text form."""

from __future__ import annotations

import uuid

from llama_azure._call.prepare import new_request_id


def test_request_ids_are_canonical_random_version_4_uuids() -> None:
    ids = [new_request_id() for _ in range(2000)]
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert len(set(ids)) == len(ids)
    assert {text[19] for text in ids} == set("89ab")  # every variant digit turns up
