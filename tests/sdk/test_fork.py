"""A client made (and used) before ``os.fork()`` opens fresh connections in the child.

The parent's pooled connection shares its socket with the child: reusing it would cross answers
between the two processes. Each test really forks; the child counts the TCP connections it opens
(httpcore's ``connect_tcp.started`` trace) and reports through a pipe, the parent goes on using its own.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from support.fork import in_child, parent_loop
from support.shells import USER_HI

from llama_azure import AsyncLlamaClient, Deployment, LlamaClient
from llama_azure.server.process import ReferenceServer

T = TypeVar("T")

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # fork() in a process with threads (3.12+)
]
CHILD_DEADLINE = 60  # seconds before the child is ended (a hang after a crossed answer)


class _ConnectCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.connects = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("connect_tcp.started"):
            self.connects += 1


def in_child_counting(work: Callable[[], str]) -> dict[str, Any]:
    """Run ``work`` in a forked child: ``{"answer": ..., "connects": its new TCP connections}``, or
    ``{"error": ...}``."""
    def counted() -> dict[str, Any]:
        counter = _ConnectCounter()
        logger = logging.getLogger("httpcore.connection")
        logger.addHandler(counter)
        logger.setLevel(logging.DEBUG)
        answer = work()
        return {"answer": answer, "connects": counter.connects}

    report = in_child(counted, CHILD_DEADLINE)
    return dict(report.get("answer", report))


def make(cls: Any, server: ReferenceServer, deployments: bool) -> Any:
    """A client on ``server``: for its endpoint, or with ``deployments=`` (whose members share its pool)."""
    if deployments:
        return cls(deployments=[Deployment(server.url)], credential=server.api_key, max_retries=0, timeout=30.0)
    return cls(server.url, server.api_key, max_retries=0, timeout=30.0)


BOTH_KINDS = pytest.mark.parametrize("deployments", [False, True], ids=["endpoint", "deployments"])


@BOTH_KINDS
def test_sync_client_from_the_parent_opens_fresh_connections_in_a_child(
    server: ReferenceServer, deployments: bool
) -> None:
    with make(LlamaClient, server, deployments) as client:
        assert client.chat.completions.create(messages=USER_HI, max_tokens=2).content is not None
        child = in_child_counting(lambda: str(client.chat.completions.create(messages=USER_HI, max_tokens=2).content))
        assert "error" not in child, child["error"]
        assert child["connects"] == 1
        assert client.chat.completions.create(messages=USER_HI, max_tokens=2).content is not None  # parent's pool


@BOTH_KINDS
def test_async_client_from_the_parent_opens_fresh_connections_in_a_child(
    server: ReferenceServer, deployments: bool
) -> None:
    client = make(AsyncLlamaClient, server, deployments)
    with parent_loop(client) as run:
        assert run(client.chat.completions.create(messages=USER_HI, max_tokens=2)).content

        async def ask_in_child() -> str:
            reply = await asyncio.wait_for(client.chat.completions.create(messages=USER_HI, max_tokens=2), 30)
            return str(reply.content)

        child = in_child_counting(lambda: asyncio.run(ask_in_child()))
        assert "error" not in child, child["error"]
        assert child["connects"] == 1
        assert run(client.chat.completions.create(messages=USER_HI, max_tokens=2)).content



def test_sync_copies_made_before_a_fork_share_one_new_pool_in_the_child(server: ReferenceServer) -> None:
    with make(LlamaClient, server, deployments=False) as client:
        copy = client.with_options(timeout=20.0)
        assert copy.chat.completions.create(messages=USER_HI, max_tokens=2).content is not None

        def ask_both() -> str:
            first = copy.chat.completions.create(messages=USER_HI, max_tokens=2).content
            second = client.with_options(max_retries=1).chat.completions.create(messages=USER_HI, max_tokens=2)
            third = client.chat.completions.create(messages=USER_HI, max_tokens=2)
            return f"{first}|{second.content}|{third.content}"

        child = in_child_counting(ask_both)
        assert "error" not in child, child["error"]
        assert child["connects"] == 1  # the copy renewed the pool; the original and a new copy use it
        assert client.chat.completions.create(messages=USER_HI, max_tokens=2).content is not None


def test_async_copies_made_before_a_fork_share_one_new_pool_in_the_child(server: ReferenceServer) -> None:
    client = make(AsyncLlamaClient, server, deployments=False)
    copy = client.with_options(timeout=20.0)
    with parent_loop(client) as run:
        assert run(copy.chat.completions.create(messages=USER_HI, max_tokens=2)).content

        async def ask_both() -> str:
            first = await asyncio.wait_for(copy.chat.completions.create(messages=USER_HI, max_tokens=2), 30)
            second = await asyncio.wait_for(client.with_options(max_retries=1).chat.completions.create(
                messages=USER_HI, max_tokens=2), 30)
            third = await asyncio.wait_for(client.chat.completions.create(messages=USER_HI, max_tokens=2), 30)
            return f"{first.content}|{second.content}|{third.content}"

        child = in_child_counting(lambda: asyncio.run(ask_both()))
        assert "error" not in child, child["error"]
        assert child["connects"] == 1
        assert run(client.chat.completions.create(messages=USER_HI, max_tokens=2)).content
