"""The sans-IO token cache: reuse until the refresh margin, half-life for short tokens, one fetch per round."""

from __future__ import annotations

from azure.core.credentials import AccessToken
from support.clock import FakeClock

from llama_azure._auth.auth import AsyncTokenAuth, TokenCache


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


def test_a_refused_token_handed_back_is_waited_out_only_when_it_is_about_to_expire() -> None:
    clock = FakeClock()
    cache = TokenCache(margin=300, clock=clock)
    cache.store(AccessToken("expiring", int(clock.now) + 2))
    assert cache.wait_out_refused(AccessToken("expiring", int(clock.now) + 2)) == 0.0  # not refused yet
    cache.invalidate("expiring")  # the service answered 401 to it
    assert 2.0 < cache.wait_out_refused(AccessToken("expiring", int(clock.now) + 2)) < 2.5
    assert cache.wait_out_refused(AccessToken("another", int(clock.now) + 2)) == 0.0  # a new token: send it
    assert cache.wait_out_refused(AccessToken("expiring", int(clock.now) + 3600)) == 0.0  # refused for another reason


def test_a_401_forgets_the_refused_token_only_while_it_is_the_cached_one() -> None:
    cache = TokenCache(margin=300, clock=FakeClock())
    cache.store(AccessToken("a", 10**10))
    assert cache.invalidate("a") and cache.usable() is None  # the first call that got 401 forgets it
    assert cache.invalidate("a")  # a second call refused the same token at once: it sends again too
    cache.store(AccessToken("b", 10**10))
    assert cache.invalidate("a")  # a third, answered after the refresh: send again, with "b"
    token = cache.usable()
    assert token is not None and token.token == "b"  # "b" was not refused: it stays


async def test_an_aio_credential_that_hands_back_the_refused_token_gets_asked_again_after_it_expires() -> None:
    """azure-identity's aio credentials return their cached token until it has expired; the one the service
    refused for expiring in flight must not be sent again (with no retries left, that was a second 401)."""
    import time

    import httpx

    from llama_azure import AsyncLlamaClient

    # Real time, read from 1000.0 when the test starts (by the credential and the client's token cache alike):
    # "old" then has 1 s left, not the random part of a second ``int(time.time()) + 1`` left (10 ms at times,
    # which a slow first call outlasted: the credential handed out "new" at once).
    started = time.time()

    def clock() -> float:
        return 1000.0 + (time.time() - started)

    class CachingCredential:  # what azure.identity.aio's cache does with a token about to expire
        def __init__(self) -> None:
            self.token = AccessToken("old", 1001)
            self.calls = 0

        async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            self.calls += 1
            if self.token.expires_on <= clock():
                self.token = AccessToken("new", int(clock()) + 3600)
            return self.token

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] != "Bearer new":
            return httpx.Response(401, json={"error": {"code": "ExpiredToken", "message": "token expired"}})
        return httpx.Response(200, json={"model_name": "m", "model_type": "chat-completions",
                                         "model_provider_name": "Meta"})

    credential = CachingCredential()
    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with AsyncLlamaClient("https://x.eastus2.models.ai.azure.com", credential, max_retries=0,
                                http_client=http) as client:
        assert isinstance(client._auth, AsyncTokenAuth)
        client._auth._cache.clock = clock
        info = await client.get_model_info()
    await http.aclose()
    assert info.model_name == "m"
    assert credential.calls == 3  # "old", "old" again (waited out), then "new"
