"""The sans-IO token cache: reuse until the refresh margin, half-life for short tokens, one fetch per round."""

from __future__ import annotations

from azure.core.credentials import AccessToken
from support.clock import FakeClock

from llama_azure._auth import TokenCache


def test_reused_until_the_margin_then_stale() -> None:
    clock = FakeClock()
    cache = TokenCache(margin=300, clock=clock)
    cache.store(AccessToken("t1", int(clock.now) + 3600))
    clock.now += 3299
    assert cache.usable() is not None
    clock.now += 2
    assert cache.usable() is None


def test_short_tokens_are_refreshed_at_half_life_not_every_call() -> None:
    clock = FakeClock()
    cache = TokenCache(margin=300, clock=clock)
    cache.store(AccessToken("t1", int(clock.now) + 60))
    clock.now += 29
    assert cache.usable() is not None
    clock.now += 2
    assert cache.usable() is None


def test_a_caller_that_waited_uses_the_token_another_fetched() -> None:
    clock = FakeClock()
    cache = TokenCache(margin=300, clock=clock)
    seen = cache.generation
    cache.store(AccessToken("fresh-but-short", int(clock.now) + 1))
    clock.now += 0.9
    assert cache.usable() is None
    assert cache.usable_since(seen) is not None  # fetched while we waited: use it, do not fetch again
    assert cache.usable_since(cache.generation) is None
    clock.now += 0.2
    assert cache.usable_since(seen) is None  # expired: fetch


def test_repr_shows_no_token() -> None:
    cache = TokenCache()
    cache.store(AccessToken("secret-token-value", 10**10))
    assert "secret-token-value" not in repr(cache)
