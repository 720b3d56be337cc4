"""The sans-IO quota budget and ledger, on a hand-driven clock."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.clock import FakeClock

from llama_azure import ConfigurationError, RateLimit
from llama_azure._pacing.budget import Budget
from llama_azure._pacing.ledger import MARGIN, Limits, LocalLedger
from llama_azure._pacing.token_estimate import IMAGE_TOKENS, estimate_tokens


def make(requests: int | None = None, tokens: int | None = None, window: float = 10.0,
         learn_first: bool = False) -> tuple[Budget, FakeClock]:
    clock = FakeClock(100.0)
    limits = Limits(requests, tokens, window, lease=5.0)
    return Budget(LocalLedger(limits), limits, clock, learn_first=learn_first), clock


def test_calls_go_in_arrival_order_a_small_one_does_not_jump_the_line() -> None:
    budget, clock = make(tokens=100)
    first = budget.enqueue(80)
    assert budget.poll(first) == 0.0
    big, small = budget.enqueue(60), budget.enqueue(10)
    budget.poll(small)
    assert small.lease is None  # it would fit, but `big` is ahead
    assert budget.poll(big) == pytest.approx(10 + 5 + MARGIN)  # window + lease: no answer yet
    budget.answered(first.id, None, None)
    clock.now += 2
    assert budget.poll(big) == pytest.approx(8 + MARGIN)  # the answer started: window from then
    budget.settle(first.id, 30)  # usage: 30 tokens really used
    assert budget.poll(big) == 0.0 and budget.poll(small) == 0.0


def test_a_fresh_budget_sends_one_request_and_learns_from_its_answer_first() -> None:
    budget, _ = make(requests=4, learn_first=True)
    first, second = budget.enqueue(1), budget.enqueue(1)
    assert budget.poll(first) == 0.0 and first.lease is not None
    assert budget.poll(second) == 0.0 and second.lease is None  # waits to be woken by the first answer
    budget.answered(first.id, remaining_requests=1, remaining_tokens=None)  # a restarted program sent 2 more
    assert budget.poll(second) == 0.0 and second.lease is not None
    third = budget.enqueue(1)
    assert budget.poll(third) > 0  # 4 held: our 2 and the 2 the service counted for someone else


def test_a_first_request_without_an_answer_hands_the_learning_to_the_next() -> None:
    budget, _ = make(requests=4, learn_first=True)
    first, second = budget.enqueue(1), budget.enqueue(1)
    budget.poll(first)
    budget.unanswered(first.id)  # e.g. a connection error
    assert budget.poll(second) == 0.0 and second.lease is not None
    third = budget.enqueue(1)
    assert budget.poll(third) == 0.0 and third.lease is None  # the second is the one learning now


def test_requests_leave_the_window_and_cancelled_calls_leave_the_line() -> None:
    budget, clock = make(requests=1)
    a = budget.enqueue(1)
    assert budget.poll(a) == 0.0
    budget.answered(a.id, None, None)
    b, c = budget.enqueue(1), budget.enqueue(1)
    assert budget.usage().waiting == 2
    budget.cancel(b)
    assert budget.usage().waiting == 1
    clock.now += 10 + MARGIN
    assert budget.poll(c) == 0.0
    assert (budget.usage().requests, budget.usage().waiting) == (1, 0)


def test_what_the_service_counts_beyond_our_own_calls_is_held_for_a_window() -> None:
    budget, clock = make(requests=10, tokens=1000)
    a = budget.enqueue(100)
    budget.poll(a)
    budget.answered(a.id, remaining_requests=7, remaining_tokens=600)  # others used 2 requests, 300 tokens
    assert (budget.usage().requests, budget.usage().tokens) == (3, 400)
    budget.answered(a.id, remaining_requests=9, remaining_tokens=950)  # saying more is left frees nothing
    assert (budget.usage().requests, budget.usage().tokens) == (3, 400)
    clock.now += 10 + MARGIN
    assert (budget.usage().requests, budget.usage().tokens) == (0, 0)


def test_the_estimate_never_counts_fewer_tokens_than_the_text_has_bytes() -> None:
    body = b'{"messages":[{"role":"user","content":"\xc3\xa9t\xc3\xa9"}],"max_tokens":10,"n":2}'
    assert estimate_tokens(body) >= len("été".encode()) + 10 * 2
    assert estimate_tokens(b'{"input_data":{"input_string":["a","b"],"parameters":{"max_new_tokens":5}}}') >= 12
    assert estimate_tokens(b'{"prompt":"Hi"}') >= 2 + 16  # the documented default max_tokens


def test_an_image_part_counts_a_bounded_cost_whatever_its_size() -> None:
    def body(*images: int) -> bytes:
        parts: list[Any] = [{"type": "text", "text": "What is this?"}]
        parts += [{"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * size}}
                  for size in images]
        return json.dumps({"messages": [{"role": "user", "content": parts}], "max_tokens": 10}).encode()

    text_only = estimate_tokens(body())
    assert estimate_tokens(body(400_000)) == estimate_tokens(body(10)) == text_only + IMAGE_TOKENS
    assert estimate_tokens(body(400_000, 400_000)) == text_only + 2 * IMAGE_TOKENS


@pytest.mark.parametrize("kwargs, message", [
    ({}, "requests= or tokens="),
    ({"requests": 0}, "requests must be an int >= 1"),
    ({"tokens": 1.5}, "tokens must be an int"),
    ({"requests": 1, "window": float("nan")}, "window must be a finite number"),
    ({"requests": 1, "store": "http://x"}, "must be a Redis URL"),
    ({"requests": 1, "key": ""}, "key must be a non-empty string"),
])
def test_a_bad_rate_limit_says_what_to_fix(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RateLimit(**kwargs)


@pytest.mark.parametrize("store", [
    "redis://user:s3cret@localhost:6379/0",
    "redis://localhost:6379/0?password=s3cret",
    "rediss://localhost/0?db=1&Password=s3cret&socket_timeout=2",
    "unix:///run/redis.sock?db=0&password=s3cret",
])
def test_the_store_password_never_shows(store: str) -> None:
    text = repr(RateLimit(requests=1, store=store))
    assert "s3cret" not in text and "<redacted>" in text


def test_a_waker_registered_after_a_wake_it_missed_is_woken_at_once() -> None:
    budget, _ = make(requests=1)
    seen = budget.changes  # read before a poll that decides to wait
    budget.cancel(budget.enqueue(1))  # the line moved before the waiter registered: a wake nobody heard
    woken: list[str] = []
    with budget.waking(lambda: woken.append("missed"), seen):
        assert woken == ["missed"]
    with budget.waking(lambda: woken.append("current"), budget.changes):
        assert woken == ["missed"]  # nothing changed since: it waits
        budget.cancel(budget.enqueue(1))
        assert woken == ["missed", "current"]
    budget.cancel(budget.enqueue(1))  # after the block the waker is gone
    assert woken == ["missed", "current"]


def test_the_earliest_wait_counts_what_the_answers_out_may_give_back() -> None:
    budget, _ = make(tokens=100)
    first = budget.enqueue(60)
    assert budget.poll(first) == 0.0
    second = budget.enqueue(60)
    assert budget.poll(second) == pytest.approx(10 + 5 + MARGIN)  # as it stands: when `first` expires
    assert second.earliest == 0.0  # but `first` may have used 10 tokens of its 60 estimate
    budget.answered(first.id, None, None)
    budget.settle(first.id, 50)  # it used 50: the room does not come back, and no outcome is left to wait for
    assert budget.poll(second) == second.earliest == pytest.approx(10 + MARGIN)


def test_an_answer_yet_to_start_may_cut_a_requests_hold_by_the_lease() -> None:
    budget, _ = make(requests=1)
    first = budget.enqueue(1)
    assert budget.poll(first) == 0.0
    second = budget.enqueue(1)
    assert budget.poll(second) == pytest.approx(10 + 5 + MARGIN)
    assert second.earliest == pytest.approx(10 + MARGIN)  # its answer could start now: window from now
    budget.unanswered(first.id)  # no answer will come: held as sent, for window + lease
    assert budget.poll(second) == second.earliest == pytest.approx(10 + 5 + MARGIN)
