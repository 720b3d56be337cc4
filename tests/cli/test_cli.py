"""The ``llama-azure`` command, run as a real subprocess (``python -m llama_azure``, same entry point)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.broken_engine import broken_engine_env

# find_spec, not importorskip: importing llama_cpp here would leave its /dev/null handle open at exit.
if importlib.util.find_spec("llama_cpp") is None:
    pytest.skip("the CLI's --local mode needs the server extra", allow_module_level=True)


def run(*args: str, timeout: float = 100, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMA_AZURE_")}
    return subprocess.run([sys.executable, "-m", "llama_azure", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("serve", "chat", "info", "batch"):
        assert command in result.stdout


@pytest.mark.parametrize("command, expected", [
    ("chat", "--max-tokens"), ("info", "--json"), ("serve", "--quota-window"), ("batch", "--concurrency"),
])
def test_help_of_each_command(command: str, expected: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


def test_chat_local_streams_an_answer() -> None:
    result = run("chat", "--local", "--max-tokens", "16", "--temperature", "0", "--system", "Be brief.",
                 "What is the capital of France?")
    assert result.returncode == 0, result.stderr
    answer = result.stdout.strip()
    assert len(answer) > 3 and any(ch.isalpha() for ch in answer)
    assert "Traceback" not in result.stderr


def test_info_local_prints_the_model() -> None:
    result = run("info", "--local")
    assert result.returncode == 0, result.stderr
    assert "model_name: SmolLM2" in result.stdout
    assert "model_type: chat-completions" in result.stdout


def test_bad_endpoint_is_one_line_on_stderr() -> None:
    result = run("chat", "--endpoint", "http://127.0.0.1:9", "--api-key", "k", "--max-retries", "0", "Hi")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("llama-azure: error: APIConnectionError:")
    assert "Traceback" not in result.stderr


def test_missing_endpoint_says_what_to_do() -> None:
    result = run("info")
    assert result.returncode == 1
    assert "LLAMA_AZURE_ENDPOINT" in result.stderr and "--local" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_error_exits_2() -> None:
    result = run("chat", "--max-tokens", "0", "Hi")
    assert result.returncode == 2
    assert "must be >= 1" in result.stderr


def test_wrong_key_is_one_line_on_stderr(server: object) -> None:
    result = run("chat", "--endpoint", server.url, "--api-key", "wrong-key", "Hi")  # type: ignore[attr-defined]
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("llama-azure: error: AuthenticationError: 401"), result.stderr
    assert "wrong-key" not in result.stderr


def test_model_option_on_the_v1_surface(server: object) -> None:
    url = server.url + "/openai/v1"  # type: ignore[attr-defined]
    key = server.api_key  # type: ignore[attr-defined]
    ok = run("chat", "--endpoint", url, "--api-key", key, "--model", "default", "--max-tokens", "3", "Hi")
    assert ok.returncode == 0 and ok.stdout.strip(), ok.stderr
    missing = run("chat", "--endpoint", url, "--api-key", key, "Hi")
    line = one_error_line(missing)
    assert "deployment name" in line and "--model NAME" in line and "--deployment" not in line
    with_deployment = run("chat", "--endpoint", url, "--api-key", key, "--deployment", "blue", "Hi")
    line = one_error_line(with_deployment)
    assert "--model NAME" in line and "--deployment only sets" in line


# A Python argument (model=, api='...', credential=, LlamaClient(...)), not a URL's query (?api-version=).
PYTHON_SPEAK = re.compile(r"(?<![-\w?&])[a-z_]+=(?!=)|LlamaClient\(")


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one stderr line of a failed run, which names flags, never Python arguments."""
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("llama-azure: error: "), result.stderr
    assert not PYTHON_SPEAK.search(lines[0]), lines[0]
    return lines[0]


def test_missing_settings_name_the_flags() -> None:
    assert "--endpoint URL" in one_error_line(run("info"))
    assert "--api-key KEY" in one_error_line(run("info", "--endpoint", "http://127.0.0.1:9"))
    assert "--api-key KEY" in one_error_line(run("info", "--endpoint", "http://127.0.0.1:9", "--api-key", "  "))
    line = one_error_line(run("info", "--endpoint", "http://user:secret@127.0.0.1:9", "--api-key", "k"))
    assert "--api-key" in line and "secret" not in line


def test_refused_parameters_name_the_flags(server: object) -> None:
    url, key = server.url, server.api_key  # type: ignore[attr-defined]
    line = one_error_line(run("chat", "--endpoint", url, "--api-key", key, "--api", "model-inference",
                              "--temperature", "1.5", "Hi"))
    assert "temperature" in line and "--temperature" in line
    line = one_error_line(run("chat", "--endpoint", url + "/openai/v1", "--api-key", key, "--model", " ", "Hi"))
    assert "--model" in line
    line = one_error_line(run("info", "--endpoint", url + "/models", "--api-key", key))
    assert "Foundry Models" in line and "--model NAME" in line


def test_chat_local_names_a_server_that_crashed_natively(tmp_path: Path) -> None:
    result = run("chat", "--local", "--max-tokens", "4", "Hi", env=broken_engine_env(tmp_path, "segv"))
    assert result.returncode != 0
    assert "was killed by SIGSEGV" in result.stderr and "before it was ready" in result.stderr
    assert "Fatal Python error: Segmentation fault" in result.stderr  # the server's faulthandler trace
    assert "did not start (its report is above)" in result.stderr


def test_serve_refuses_to_start_an_engine_that_cannot_evaluate_a_batch(tmp_path: Path) -> None:
    result = run("serve", "--port", "0", "--api-key", "k", env=broken_engine_env(tmp_path, "raise"))
    assert result.returncode == 3
    assert "could not evaluate a" in result.stderr and "GGML_NATIVE=OFF" in result.stderr
    assert "listening on" not in result.stdout
