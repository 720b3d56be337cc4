"""The error a call raises is built once, with its whole message: the retry summary by the retry run when it
stops, a 401's credential hint when the error is made. No raised error is rewritten afterwards."""

from __future__ import annotations

import httpx
from tenacity import RetryCallState, Retrying

from llama_azure import AuthenticationError, ContentFilterError, InternalServerError, RateLimitError
from llama_azure._call.prepared import CallOutcome, PreparedCall
from llama_azure._call.retry import RetryPolicy, RetryRun
from llama_azure._exceptions import RetrySummary, after_retries, make_status_error

URL = "https://x.eastus2.models.ai.azure.com/v1/chat/completions"


def answer(status: int, body: bytes, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=body, headers=headers, request=httpx.Request("POST", URL))


def test_after_retries_builds_a_new_error_and_leaves_the_last_attempts_alone() -> None:
    last = make_status_error(answer(429, b'{"error": {"code": "429", "message": "slow down"}}', **{
        "retry-after": "7", "x-request-id": "req-1"}), b'{"error": {"code": "429", "message": "slow down"}}')
    assert isinstance(last, RateLimitError)
    final = after_retries(last, RetrySummary(attempts=3, waited=2.14, note="not retried: why"))
    assert final is not last and type(final) is RateLimitError
    assert str(final) == f"{last} (after 3 attempts, waited 2.1 s; not retried: why)"
    assert final.message == last.message  # without the summary
    assert (final.attempts, final.waited) == (3, 2.14)
    assert (final.retry_after, final.request_id, final.status_code, final.code) == (7.0, "req-1", 429, "429")
    assert (last.attempts, last.waited, str(last)) == (1, 0.0, last.message)  # untouched


def test_after_retries_with_nothing_to_say_is_the_error_itself() -> None:
    error = make_status_error(answer(500, b"{}"), b"{}")
    assert isinstance(error, InternalServerError)
    assert after_retries(error, RetrySummary()) is error


def test_a_filtered_error_keeps_its_categories() -> None:
    raw = (b'{"error": {"code": "content_filter", "message": "filtered", "innererror": {"content_filter_result": '
           b'{"hate": {"filtered": true, "severity": "high"}}}}}')
    error = make_status_error(answer(400, raw), raw)
    assert isinstance(error, ContentFilterError) and error.categories == ["hate"]
    final = after_retries(error, RetrySummary(attempts=2, waited=0.5))
    assert isinstance(final, ContentFilterError) and final.categories == ["hate"]
    assert str(final).endswith("(filtered: hate) (after 2 attempts, waited 0.5 s)")


def test_a_401_is_made_with_what_the_credential_knows() -> None:
    raw = b'{"error": {"code": "InvalidAuthenticationToken", "message": "signature is invalid"}}'
    generic = make_status_error(answer(401, raw), raw)
    assert isinstance(generic, AuthenticationError)
    hint = "Check the key or token, and for Entra ID the scope (audience) the credential asks for."
    assert str(generic).endswith(hint)
    told = make_status_error(answer(401, raw), raw, credential="the token was refused; scope s/.default")
    assert str(told) == str(generic).replace(hint, "The token was refused; scope s/.default.")


def failed(error: BaseException, attempt: int) -> RetryCallState:
    state = RetryCallState(Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.set_exception((type(error), error, None))
    return state


def test_the_decision_is_the_same_whichever_callback_tenacity_asks_first() -> None:
    draws: list[float] = []

    def jitter() -> float:
        draws.append(0.5)
        return 0.5

    error = make_status_error(answer(503, b"{}"), b"{}")
    for ask_wait_first in (True, False):
        draws.clear()
        call = PreparedCall("POST", httpx.URL(URL), (), b"", parse=lambda r, b: None, stream=False,
                            timeout=httpx.Timeout(5.0), max_retries=2, where="x/v1/chat/completions")
        run = RetryRun(RetryPolicy(max_retries=2, jitter=jitter), call, CallOutcome())
        state = failed(error, 1)
        if ask_wait_first:
            wait, retry = run.next_wait(state), run.should_retry(state)
        else:
            retry, wait = run.should_retry(state), run.next_wait(state)
        assert retry and wait == 0.5 * (1 - 0.25 * 0.5) and draws == [0.5]  # one decision, one jitter draw
        assert run.waited == wait
