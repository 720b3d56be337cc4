"""Sampling parameters really change what the model generates."""

from __future__ import annotations

import math
import subprocess
import sys

import httpx

COUNT = "Count: one, two, three,"


def complete(client: httpx.Client, **body: object) -> dict:  # type: ignore[type-arg]
    r = client.post("/v1/completions", json={"prompt": COUNT, **body})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_temperature_zero_is_deterministic(client: httpx.Client) -> None:
    first = complete(client, max_tokens=8, temperature=0)["choices"][0]["text"]
    second = complete(client, max_tokens=8, temperature=0)["choices"][0]["text"]
    assert first == second == " four, five, six, seven,"


def test_seed_is_deterministic(client: httpx.Client) -> None:
    texts = {complete(client, max_tokens=8, temperature=2.0, seed=1234)["choices"][0]["text"] for _ in range(2)}
    assert len(texts) == 1
    other = {complete(client, max_tokens=8, temperature=2.0, seed=s)["choices"][0]["text"] for s in range(3)}
    assert len(other | texts) > 1  # at temperature 2 different seeds give different texts


def test_chat_is_deterministic_at_temperature_zero(client: httpx.Client) -> None:
    body = {"messages": [{"role": "user", "content": "Name a fruit."}], "max_tokens": 8, "temperature": 0}
    a = client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"]
    b = client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"]
    assert a == b and a


def test_n_generates_that_many_candidates(client: httpx.Client) -> None:
    body = complete(client, max_tokens=4, temperature=1.5, n=3, seed=7)
    choices = body["choices"]
    assert [c["index"] for c in choices] == [0, 1, 2]
    assert all(c["finish_reason"] in ("stop", "length") for c in choices)
    assert len({c["text"] for c in choices}) > 1  # different seeds per candidate
    tokens = body["usage"]["completion_tokens"]
    assert 3 <= tokens <= 12


def test_n_chat(client: httpx.Client) -> None:
    body = client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3, "n": 2, "temperature": 0},
    ).json()
    assert len(body["choices"]) == 2
    assert body["choices"][0]["message"] == body["choices"][1]["message"]  # temperature 0: same answer twice


def test_best_of_generates_all_and_returns_the_most_likely(client: httpx.Client) -> None:
    body = complete(client, max_tokens=4, temperature=1.0, n=1, best_of=4, seed=3, logprobs=0)
    (choice,) = body["choices"]
    assert body["usage"]["completion_tokens"] > 4  # four candidates were generated
    assert body["usage"]["completion_tokens"] <= 16
    best = sum(choice["logprobs"]["token_logprobs"])
    singles = [
        sum(
            complete(client, max_tokens=4, temperature=1.0, seed=3 + i, logprobs=0)["choices"][0]["logprobs"][
                "token_logprobs"
            ]
        )
        for i in range(4)
    ]
    assert math.isclose(best, max(singles), abs_tol=1e-3)


def test_logprobs_shape_and_values(client: httpx.Client) -> None:
    body = complete(client, max_tokens=6, temperature=0, logprobs=3)
    choice = body["choices"][0]
    lp = choice["logprobs"]
    n = len(lp["tokens"])
    assert n == 6
    assert len(lp["token_logprobs"]) == len(lp["text_offsets"]) == len(lp["top_logprobs"]) == n
    assert all(isinstance(x, float) and x <= 0 for x in lp["token_logprobs"])
    assert any(x < 0 for x in lp["token_logprobs"])
    assert lp["text_offsets"][0] == 0
    assert lp["text_offsets"] == sorted(lp["text_offsets"]) and len(set(lp["text_offsets"])) == n
    assert "".join(lp["tokens"]) == choice["text"]
    for offset, token in zip(lp["text_offsets"], lp["tokens"], strict=True):
        assert choice["text"][offset : offset + len(token)] == token
    for token, logprob, top in zip(lp["tokens"], lp["token_logprobs"], lp["top_logprobs"], strict=True):
        assert 1 <= len(top) <= 3
        assert all(v <= 0 for v in top.values())
        # Greedy: the chosen token is the most likely one.
        assert math.isclose(max(top.values()), logprob, abs_tol=1e-4)
        assert top.get(token) == logprob


def test_logprobs_on_chat(client: httpx.Client) -> None:
    body = client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3, "temperature": 0, "logprobs": 1},
    ).json()
    lp = body["choices"][0]["logprobs"]
    assert len(lp["tokens"]) >= 1 and all(x <= 0 for x in lp["token_logprobs"])


def test_stop_sequences(client: httpx.Client) -> None:
    choice = complete(client, max_tokens=12, temperature=0, stop=[" six", "zzz"])["choices"][0]
    assert choice["text"] == " four, five,"
    assert choice["finish_reason"] == "stop"
    choice = complete(client, max_tokens=12, temperature=0, stop=",")["choices"][0]
    assert choice["text"] == " four"
    assert choice["finish_reason"] == "stop"


def test_stop_token_ids(client: httpx.Client) -> None:
    # The id of "," in the model's vocabulary, looked up in a child process: importing llama_cpp here
    # would leave its module-level /dev/null files to a ResourceWarning at exit.
    code = (
        "import llama_cpp; from llama_azure.server.model_path import bundled_model_path; "
        "v = llama_cpp.Llama(model_path=str(bundled_model_path()), vocab_only=True, verbose=False); "
        "print(v.tokenize(b',', add_bos=False)[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    comma = int(out.stdout.split()[-1])
    choice = complete(client, max_tokens=12, temperature=0, stop_token_ids=[comma])["choices"][0]
    assert choice["text"] == " four"
    assert choice["finish_reason"] == "stop"


def test_max_tokens_gives_length(client: httpx.Client) -> None:
    body = complete(client, max_tokens=2, temperature=0)
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 2


def test_ignore_eos_generates_past_the_end(client: httpx.Client) -> None:
    messages = [{"role": "user", "content": "Say hello."}]
    normal = client.post("/v1/chat/completions", json={"messages": messages, "max_tokens": 40, "temperature": 0}).json()
    assert normal["choices"][0]["finish_reason"] == "stop"
    n = normal["usage"]["completion_tokens"]
    forced = client.post(
        "/v1/chat/completions",
        json={"messages": messages, "max_tokens": n + 3, "temperature": 0, "ignore_eos": True},
    ).json()
    assert forced["choices"][0]["finish_reason"] == "length"
    assert forced["usage"]["completion_tokens"] == n + 3


def test_presence_penalty_changes_the_answer(client: httpx.Client) -> None:
    prompt = "Repeat after me: banana banana banana"
    plain = complete(client, prompt=prompt, max_tokens=8, temperature=0)["choices"][0]["text"]
    penalised = complete(client, prompt=prompt, max_tokens=8, temperature=0, presence_penalty=2.0)["choices"][0]["text"]
    assert plain == " banana" * 8
    assert plain != penalised


def test_frequency_penalty_on_inference_chat(client: httpx.Client) -> None:
    r = client.post(
        "/chat/completions",
        params={"api-version": "2024-05-01-preview"},
        json={
            "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": 3,
            "frequency_penalty": 0.5,
            "seed": 1,
            "response_format": {"type": "text"},
        },
    )
    assert r.status_code == 200, r.text
