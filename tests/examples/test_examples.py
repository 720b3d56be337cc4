"""Every script in examples/ runs as a subprocess, starts its own reference server and prints what it promises.

The environment has no LLAMA_AZURE_* variables, so no example talks to a real endpoint. Scripts added
later (e.g. entra_id.py) are picked up automatically; without specific checks they must exit 0, print
something and leave no traceback.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# find_spec, not importorskip: importing llama_cpp here would leave its /dev/null handle open at exit.
if importlib.util.find_spec("llama_cpp") is None:
    pytest.skip("the examples start the reference server (server extra)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))


def run_example(path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMA_AZURE_")}
    env["PYTHONUNBUFFERED"] = "1"
    return subprocess.run([sys.executable, str(path)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=110, check=False)


def check_chat(out: str) -> None:
    assert out.startswith("> "), out
    answer = out.splitlines()[1]
    assert any(ch.isalpha() for ch in answer), out
    meta = re.search(r"\[model=(\S+), finish_reason=(\w+), tokens=(\d+), request_id=(\S+)\]", out)
    assert meta, out
    assert int(meta.group(3)) > 0 and meta.group(4) != "None"


def check_chat_stream(out: str) -> None:
    assert out.startswith("> "), out
    meta = re.search(r"\[finish_reason=(\w+), tokens=(\d+), request_id=(\S+)\]", out)
    assert meta and meta.group(1) in ("stop", "length") and int(meta.group(2)) > 0, out
    body = out[out.index("\n") + 1 : meta.start()]
    assert any(ch.isalpha() for ch in body), out


def check_logprobs(out: str) -> None:
    assert out.startswith("The capital of France is["), out
    assert re.search(r"^token\s+logprob\s+prob\s+alternatives$", out, re.M), out
    rows = re.findall(r"^'.*'\s+(-?\d+\.\d{3})\s+(\d+\.\d)%", out, re.M)
    assert len(rows) >= 2, out
    for logprob, percent in rows:
        assert float(logprob) <= 0 and 0 < float(percent) <= 100


def check_async_batch(out: str) -> None:
    answers = [line for line in out.splitlines() if line.startswith("- ")]
    assert len(answers) == 5 and all(len(line.split(": ", 1)[1]) > 0 for line in answers), out
    summary = re.search(r"\[5 prompts, at most 3 at once, (\d+) tokens in total, (\d+\.\d) s\]", out)
    assert summary and int(summary.group(1)) > 5 * 5, out


def check_managed(out: str) -> None:
    assert "route style: score, deployment: blue" in out, out
    chat = re.search(r"^chat: (.+)$", out, re.M)
    completion = re.search(r"^completion: (.*\S.*)$", out, re.M)
    assert chat and completion, out


def check_quota(out: str) -> None:
    assert re.search(r"^request 4: ok after \d+\.\d s$", out, re.M), out
    assert re.search(r"max_retries=0 -> RateLimitError: 429 from 127\.0\.0\.1/v1/completions", out), out
    assert re.search(r"status_code=429 retry_after=\d+(\.\d+)? s attempts=1 request_id=\S+", out), out
    assert re.search(r"max_retry_wait=0\.1 -> RateLimitError: 429 .*not retried: the service asked to wait "
                     r"\d+ s, above max_retry_wait=0\.1 s", out), out


def check_batch_under_quota(out: str) -> None:
    assert re.search(r"^first run: 12 answered, 0 failed, 0 retries, \d+\.\d s", out, re.M), out
    assert "second run: 12 skipped (already answered), 0 asked again" in out, out
    assert len(re.findall(r"^- topic-\d+: \S", out, re.M)) == 3, out


def check_failover(out: str) -> None:
    summary = r"^answered: 12/12 \(east \d+, west \d+\); moved after: (APIConnectionError|nothing)$"
    assert re.search(summary, out, re.M), out
    after = out[out.index("east stopped"):]
    assert "answered by east" not in after and "call 12: answered by west" in after, out


def check_errors(out: str) -> None:
    assert "content filter -> ContentFilterError (status 400, code content_filter, param prompt)" in out, out
    assert "validation -> ParameterError on 'temperature'" in out, out
    assert "unknown parameter -> ParameterError: unknown parameter 'top_k'" in out, out
    assert "wrong key -> AuthenticationError: 401 from 127.0.0.1" in out, out
    assert "no answer -> APIConnectionError:" in out, out
    assert "not-the-right-key" not in out  # secrets never reach a message


def check_tools(out: str) -> None:
    assert out.startswith("> "), out
    assert re.search(r"\[tool call get_weather\(\{\"city\": .*\) -> '22 C and sunny in ", out), out
    assert "[finish_reason=tool_calls then " in out, out
    answer = out.splitlines()[2]  # after the question and the call: the model's answer, in words
    assert any(ch.isalpha() for ch in answer) and not answer.lstrip().startswith(("{", "[")), out


def check_tool_runner(out: str) -> None:
    assert out.startswith("> "), out
    call = r"^\[round 0: get_weather\(\{\s*\"city\": .*\) -> '22 C and sunny in .*' in \d+\.\d\d ms\]$"
    calls = re.findall(call, out, re.M)
    assert len(calls) == 2, out
    assert re.search(r"^\[2 rounds, 1 call\(s\), 4 messages, finish_reason=(stop|length)\]$", out, re.M), out
    assert "[streamed run: 2 rounds, 1 call(s)]" in out, out


def check_structured(out: str) -> None:
    assert out.startswith("> "), out
    assert re.search(r"city='.*' country='.*' size=(small|medium|large)", out), out
    assert "[parsed=CityFacts, " in out, out


def check_tracing(out: str) -> None:
    spans = re.findall(r"^span '(chat[^']*)' kind=CLIENT status=(\w+)$", out, re.M)
    assert [status for _, status in spans] == ["UNSET", "UNSET", "ERROR"], out
    assert "gen_ai.provider.name = 'azure.ai.inference'" in out, out
    assert re.search(r"gen_ai\.usage\.output_tokens = [1-9]", out), out
    assert re.search(r"gen_ai\.response\.time_to_first_chunk = 0\.\d+", out), out
    assert "error.type = '401'" in out and "not-the-key" not in out, out
    assert re.search(r"^metric gen_ai\.client\.operation\.duration \[ok\] count=2 ", out, re.M), out
    assert re.search(r"^metric gen_ai\.client\.token\.usage \[output\] count=2 ", out, re.M), out


CHECKS: dict[str, Callable[[str], None]] = {
    "tools.py": check_tools,
    "tool_runner.py": check_tool_runner,
    "structured_output.py": check_structured,
    "chat.py": check_chat,
    "chat_stream.py": check_chat_stream,
    "completions_logprobs.py": check_logprobs,
    "async_batch.py": check_async_batch,
    "managed_endpoint.py": check_managed,
    "quota_and_retries.py": check_quota,
    "errors.py": check_errors,
    "tracing.py": check_tracing,
    "batch_under_quota.py": check_batch_under_quota,
    "failover.py": check_failover,
}


def test_the_documented_examples_exist() -> None:
    assert set(CHECKS) <= {p.name for p in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example(path: Path) -> None:
    result = run_example(path)
    assert result.returncode == 0, f"{path.name} failed:\n{result.stdout}\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout.strip(), f"{path.name} printed nothing"
    check = CHECKS.get(path.name)
    if check is not None:
        assert "starting the bundled reference server" in result.stderr  # no LLAMA_AZURE_* set
        check(result.stdout)


def test_examples_use_the_configured_endpoint(server: object) -> None:
    """With LLAMA_AZURE_ENDPOINT / LLAMA_AZURE_API_KEY set, an example starts no server of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMA_AZURE_")}
    env.update(LLAMA_AZURE_ENDPOINT=server.url, LLAMA_AZURE_API_KEY=server.api_key)  # type: ignore[attr-defined]
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "chat.py"), "Say hi."], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=110, check=False)
    assert result.returncode == 0, result.stderr
    assert "starting the bundled reference server" not in result.stderr
    check_chat(result.stdout)
