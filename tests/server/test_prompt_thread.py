"""Prompts are prepared off the event loop: the server answers other clients while one prompt is tokenized.

The app runs in this process (httpx's ASGI transport) around a real engine, so the test can hold one
tokenization in progress, deterministically, and ask ``/info`` meanwhile. Tokenizing on the event loop
would block that loop, and so this test's own requests, until the hold gives up.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from llama_azure.server.app import ServerConfig, create_app
from llama_azure.server.engine import Engine
from llama_azure.server.model_path import bundled_model_path

HOLD_S = 20.0  # how long a held tokenization waits for the test before it gives up (and the test fails)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    engine = Engine(bundled_model_path(), n_ctx=512, n_threads=1)
    yield engine
    engine.close()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/completions", {"prompt": "Count: one, two,", "max_tokens": 2, "temperature": 0}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}),
        ("/score", {"input_data": {"input_string": ["Count: one, two,"], "parameters": {"max_new_tokens": 2}}}),
    ],
    ids=["completion", "chat", "score"],
)
async def test_info_answers_while_a_prompt_is_being_tokenized(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, path: str, body: dict[str, Any]
) -> None:
    tokenizing = threading.Event()
    go_on = threading.Event()
    loop_thread = threading.get_ident()
    tokenized_on: list[int] = []
    real_tokenize = engine.tokenize

    def held_tokenize(text: str, **kwargs: Any) -> list[int]:
        tokenized_on.append(threading.get_ident())
        tokenizing.set()
        go_on.wait(HOLD_S)
        return real_tokenize(text, **kwargs)

    monkeypatch.setattr(engine, "tokenize", held_tokenize)
    app = create_app(ServerConfig(api_keys=["k"], model_name="m"), engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://server", headers={"api-key": "k"}) as client:
        generation = asyncio.ensure_future(client.post(path, json=body))
        assert await asyncio.to_thread(tokenizing.wait, HOLD_S)
        info = await client.get("/info", params={"api-version": "2025-04-01"})
        answered_while_held = not go_on.is_set()
        go_on.set()
        reply = await generation
    assert info.status_code == 200
    assert answered_while_held
    assert loop_thread not in tokenized_on
    assert reply.status_code == 200, reply.text
