"""A budget shared through a real Redis (``RateLimit(store="redis://...")``): by the threads or tasks of one
client, and by several processes, against a real server with a small quota (4 requests per 3 s window)."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from support.bursts import HI, burst, count_429, unexpected
from support.closing import closing_all
from support.quota import QUOTA_WINDOW, QuotaLimits, long_quota_window
from support.shells import Shell, make_client
from support.waiting import eventually

from llama_azure import QuotaStoreError, RateLimit
from llama_azure._pacing.ledger import Limits, Usage
from llama_azure._pacing.redis_ledger import RedisLedger
from llama_azure.server.process import ReferenceServer
from llama_azure.server.redis_process import RedisServer

WORKER = Path(__file__).with_name("pacing_worker.py")


def run_workers(server: ReferenceServer, deployment: str, limits: Any, store: str | None) -> list[dict[str, Any]]:
    """Three processes (sync, async, sync) sending 4 calls each at once, all on one deployment."""
    args = [server.url, server.api_key, deployment]
    quota = [str(limits.rpm), str(limits.window)] + ([store] if store else [])
    workers = [subprocess.Popen([sys.executable, str(WORKER), *args, kind, "4", *quota],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for kind in ("sync", "async", "sync")]
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=90)
        assert worker.returncode == 0, err[-2000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def test_three_processes_sharing_redis_get_no_429_together(
        quota_server: ReferenceServer, quota_deployment: str, quota_limits: Any, redis_url: str) -> None:
    outputs = run_workers(quota_server, quota_deployment, quota_limits, redis_url)
    assert [o["other_errors"] for o in outputs] == [[], [], []]
    assert [o["rate_limited"] for o in outputs] == [0, 0, 0]
    assert sum(o["answered"] for o in outputs) == 12


@long_quota_window  # the server keeps the calls an hour: slow process starts cannot spread them over windows
def test_three_processes_pacing_alone_do_get_429s(quota_server: ReferenceServer, quota_deployment: str,
                                                  quota_limits: QuotaLimits) -> None:
    paced_as_usual = quota_limits._replace(window=QUOTA_WINDOW)  # each process paces for the 3 s window
    outputs = run_workers(quota_server, quota_deployment, paced_as_usual, None)
    assert sum(o["rate_limited"] for o in outputs) > 0, outputs


async def test_one_client_paced_through_redis_gets_no_429(
        shell_kind: str, quota_server: ReferenceServer, quota_deployment: str, quota_limits: Any, redis_url: str
) -> None:
    rate_limit = RateLimit(requests=quota_limits.rpm, tokens=quota_limits.tpm, window=quota_limits.window,
                           store=redis_url, key=f"one-client-{quota_deployment}")
    async with Shell(make_client(shell_kind, quota_server.url, quota_server.api_key, deployment=quota_deployment,
                                 max_retries=0, rate_limit=rate_limit)) as shell:
        results = await burst(shell, 2 * quota_limits.rpm + 1,
                              lambda c: c.chat.completions.create(messages=HI, max_tokens=1))
    assert unexpected(results) == [] and count_429(results) == 0


def record_threads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Which thread runs each Redis step: ``(operation, thread id)`` in the order they ran."""
    ran_on: list[tuple[str, int]] = []
    for name in ("try_acquire", "answered", "settle"):
        original = getattr(RedisLedger, name)

        def recorded(self: RedisLedger, *args: Any, _original: Any = original, _name: str = name) -> Any:
            ran_on.append((_name, threading.get_ident()))
            return _original(self, *args)

        monkeypatch.setattr(RedisLedger, name, recorded)
    return ran_on


@pytest.mark.parametrize("stream", [False, True], ids=["answer", "stream"])
async def test_redis_round_trips_never_wait_on_the_event_loop(
    shell_kind: str, stream: bool, quota_server: ReferenceServer, quota_deployment: str, quota_limits: Any,
    redis_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An async client runs each Redis step in a worker thread (its loop serves other tasks meanwhile); a sync
    client runs them in the calling thread. A stream's usage is recorded when it ends."""
    ran_on = record_threads(monkeypatch)
    rate_limit = RateLimit(requests=quota_limits.rpm, window=quota_limits.window, store=redis_url,
                           key=f"off-the-loop-{stream}-{quota_deployment}")
    async with Shell(make_client(shell_kind, quota_server.url, quota_server.api_key, deployment=quota_deployment,
                                 max_retries=0, rate_limit=rate_limit)) as shell:
        if stream:
            streamed = await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=1, stream=True))
            reply = await shell.until_done(streamed)
        else:
            reply = await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=1))

        async def all_recorded() -> bool:  # an async stream hands its usage to a worker thread, not awaited
            return sorted({name for name, _ in ran_on}) == ["answered", "settle", "try_acquire"]

        await eventually(all_recorded, what="the three Redis steps")
    assert reply.choices
    this_thread = threading.get_ident()
    assert all((ident != this_thread) == (shell_kind == "async") for _, ident in ran_on), ran_on


async def test_an_unreachable_redis_is_a_clear_error_and_nothing_is_sent(
    shell_kind: str, quota_server: ReferenceServer
) -> None:
    dead = "redis://:s3cret@127.0.0.1:1/0"  # nothing listens on port 1
    shown = r"Redis store redis://:<redacted>@127.0.0.1:1/0 could not be used"
    async with Shell(make_client(shell_kind, quota_server.url, quota_server.api_key,
                                 rate_limit=RateLimit(requests=5, store=dead))) as shell:
        with pytest.raises(QuotaStoreError, match=shown) as info:
            await shell.run(lambda c: c.chat.completions.create(messages=HI, max_tokens=1))
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize("store, shown", [
    ("redis://127.0.0.1:1/0?password=s3cret", "redis://127.0.0.1:1/0?password=<redacted>"),
    ("unix:///nonexistent/redis.sock?db=0&password=s3cret", "unix:///nonexistent/redis.sock?db=0&password=<redacted>"),
])
def test_a_store_error_shows_no_password_given_in_the_query(store: str, shown: str) -> None:
    ledger = RedisLedger(store, "dead", Limits(1, None, 1.0))
    with pytest.raises(QuotaStoreError, match=re.escape(shown) + ".*nothing was sent") as info:
        ledger.try_acquire("a", 1, 0.0)
    assert "s3cret" not in str(info.value)
    with pytest.raises(QuotaStoreError, match="the answer had come") as info:
        ledger.answered("a", 0.0)
    assert "s3cret" not in str(info.value) and "nothing was sent" not in str(info.value)


async def test_a_store_failing_after_the_answer_came_says_so_and_keeps_the_answer(
    shell_kind: str, quota_server: ReferenceServer, quota_deployment: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis stops while the answer is on its way: the call returns the answer, and the warning does not
    claim that nothing was sent."""
    with RedisServer() as redis:
        rate_limit = RateLimit(requests=10, window=3, store=redis.url, key=f"after-answer-{quota_deployment}")

        def stop_redis(response: httpx.Response) -> None:
            redis.stop()

        async def stop_redis_async(response: httpx.Response) -> None:
            redis.stop()

        http: Any = (httpx.AsyncClient(event_hooks={"response": [stop_redis_async]}) if shell_kind == "async"
                     else httpx.Client(event_hooks={"response": [stop_redis]}))
        client = make_client(shell_kind, quota_server.url, quota_server.api_key, deployment=quota_deployment,
                             max_retries=0, rate_limit=rate_limit, http_client=http)
        async with closing_all(client, http):
            with caplog.at_level(logging.WARNING, logger="llama_azure"):
                reply = await Shell(client).run(lambda c: c.chat.completions.create(messages=HI, max_tokens=1))
    assert reply.choices
    assert "could not record the answer's start" in caplog.text
    assert "the answer had come" in caplog.text and "nothing was sent" not in caplog.text


def test_the_entries_of_a_process_that_died_expire(redis_url: str) -> None:
    limits = Limits(requests=1, tokens=None, window=0.5, lease=0.5)
    dead = RedisLedger(redis_url, "died", limits)
    started = time.monotonic()
    assert dead.try_acquire("never-answered", 1, 0.0) == 0.0  # the process dies before its answer comes
    survivor = RedisLedger(redis_url, "died", limits)
    wait = survivor.try_acquire("next", 1, 0.0)
    elapsed = time.monotonic() - started  # however long a loaded machine took between the two
    assert 1.0 - elapsed <= wait <= 1.1  # held for window + lease from the first, not forever
    time.sleep(wait)  # let the lease run out (Redis's clock decides)
    assert survivor.try_acquire("next", 1, 0.0) == 0.0


def test_redis_ledger_moves_an_answered_entry_and_gives_back_settled_tokens(redis_url: str) -> None:
    # Windows far longer than the test: nothing leaves them while it runs, however loaded the machine
    # (expiries are rounded up to 1/100 of window + lease).
    ledger = RedisLedger(redis_url, "moves", Limits(requests=3, tokens=100, window=600.0, lease=600.0))
    assert ledger.try_acquire("a", 80, 0.0) == ledger.try_acquire("small", 1, 0.0) == 0.0
    assert 1190 < ledger.wait_for(1, 50, 0.0) <= 1215  # a holds 80 tokens for window + lease
    ledger.settle("a", 10)  # a used 10 tokens: 89 free
    assert ledger.usage(0.0) == Usage(2, 11)
    assert ledger.wait_for(1, 50, 0.0) == ledger.try_acquire("b", 1, 0.0) == 0.0
    assert 1190 < ledger.try_acquire("c", 1, 0.0) <= 1215  # 3 requests held: c waits for a
    ledger.answered("a", 0.0)  # a's answer started: it leaves the window 600 s from now, not 1200
    assert 590 < ledger.try_acquire("c", 1, 0.0) <= 615
    ledger.observe(0, None, 0.0)  # the service counts 3 requests, as we do: nothing unseen
    assert ledger.usage(0.0) == Usage(3, 12)
    ledger.observe(0, 50, 0.0)  # it counts 50 tokens, we 12: 38 more are held for a window
    assert ledger.usage(0.0) == Usage(3, 50)


def commands_run(client: Any, step: Any) -> int:
    """How many Redis commands ``step()`` ran (each command of a Lua script counts)."""
    client.config_resetstat()
    step()
    stats = client.info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if k not in ("cmdstat_info", "cmdstat_config"))


def test_a_redis_step_does_not_do_more_work_when_more_entries_are_held(redis_url: str) -> None:
    """Redis runs one script at a time: a step that walked every entry held stalled every client of that
    Redis (15-25 ms at 10k entries). benchmarks/quota.py --ledger-entries times it; here, the work is counted."""
    work = {}
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    for held in (10, 1000):
        ledger = RedisLedger(redis_url, f"work-{held}", Limits(requests=held, tokens=None, window=600.0))
        for i in range(held):
            ledger.try_acquire(f"e{i}", 5, 0.0)
        work[held] = [commands_run(client, step) for step in (
            partial(ledger.try_acquire, "one-more", 1, 0.0), partial(ledger.wait_for, 2, 1, 0.0),
            partial(ledger.usage, 0.0), partial(ledger.answered, "e1", 0.0), partial(ledger.settle, "e2", 1))]
    client.close()
    assert all(many <= few + 2 for few, many in zip(work[10], work[1000], strict=True)), work


def test_a_redis_restart_mid_window_holds_the_whole_budget_until_the_window_passes() -> None:
    """The restarted store forgot what was sent: a process that saw it before notices and holds the budget full
    for window + lease from the restart; a process started after the restart sees that too."""
    limits = Limits(requests=2, tokens=None, window=2.0, lease=0.5)
    with RedisServer() as redis_server:
        running = RedisLedger(redis_server.url, "restart", limits)
        assert running.try_acquire("before", 1, 0.0) == 0.0
        redis_server.stop()
        redis_server.start()  # the same port, nothing kept
        noticed = time.monotonic()
        assert 2.0 < running.try_acquire("after", 1, 0.0) <= 2.6
        started_after = RedisLedger(redis_server.url, "restart", limits)
        wait = started_after.try_acquire("after", 1, 0.0)
        assert 2.5 - (time.monotonic() - noticed) <= wait <= 2.6  # from the first notice, however slow the machine
        assert running.usage(0.0) == Usage(2, 0)  # the whole budget, once, however many processes noticed
        time.sleep(running.wait_for(1, 0, 0.0))  # Redis's clock decides when the window has passed
        assert started_after.try_acquire("after", 1, 0.0) == 0.0


async def test_a_paced_client_sends_no_more_than_the_quota_across_a_redis_restart(
    shell_kind: str, quota_server: ReferenceServer, quota_deployment: str, quota_limits: Any
) -> None:
    with RedisServer() as redis_server:
        rate_limit = RateLimit(requests=quota_limits.rpm, window=quota_limits.window, store=redis_server.url,
                               key=f"restart-{quota_deployment}")
        async with Shell(make_client(shell_kind, quota_server.url, quota_server.api_key, deployment=quota_deployment,
                                     max_retries=0, rate_limit=rate_limit)) as shell:
            first = await burst(shell, quota_limits.rpm, lambda c: c.chat.completions.create(messages=HI, max_tokens=1))
            redis_server.stop()
            redis_server.start()  # mid-window: the quota is spent, the new store does not know it
            then = await burst(shell, quota_limits.rpm, lambda c: c.chat.completions.create(messages=HI, max_tokens=1))
    assert unexpected(first + then) == [] and count_429(first + then) == 0
