"""ReferenceServer and the serve command: start, ready line, clean stop, clear failures, no leaked key."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest
from support.processes import serving, terminated_at_exit

from llama_azure.server.cli import build_parser
from llama_azure.server.process import READY_PREFIX, ReferenceServer, ReferenceServerError


def test_start_stop_and_repr() -> None:
    srv = ReferenceServer(api_key="very-secret-key", args=["--rpm", "5"])
    assert "very-secret-key" not in repr(srv)
    with serving(srv) as stopped:
        assert srv.running
        assert srv.url.startswith("http://127.0.0.1:") and srv.port > 0
        assert "very-secret-key" not in repr(srv)
        r = httpx.post(
            f"{srv.url}/v1/completions", json={"prompt": "Hi", "max_tokens": 1}, headers={"api-key": "very-secret-key"}
        )
        assert r.status_code == 200
        assert r.headers["x-ratelimit-remaining-requests"] == "4"
    assert stopped.crash is None and stopped.status == 0  # SIGTERM is a clean stop
    assert not srv.running
    assert srv.stop() is None
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{srv.url}/info", timeout=2)


def test_failure_is_reported_with_the_output() -> None:
    srv = ReferenceServer(api_key="secret-k3y", args=["--model", "/nonexistent/model.gguf"])
    with pytest.raises(ReferenceServerError) as exc:
        srv.start()
    message = str(exc.value)
    assert "exited with status 2" in message
    assert "/nonexistent/model.gguf" in message
    assert "secret-k3y" not in message


def test_sigint_exits_zero() -> None:
    srv = ReferenceServer()
    srv.start()
    process = srv._process
    assert process is not None
    process.send_signal(signal.SIGINT)
    assert process.wait(15) == 0
    srv.stop()


def test_generated_key_is_printed() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "llama_azure.server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process, terminated_at_exit(process):
        assert process.stdout is not None
        first = process.stdout.readline()
        ready = process.stdout.readline()
        assert first.startswith("llama-azure: generated API key: ")
        key = first.rsplit(" ", 1)[1].strip()
        assert ready.startswith(READY_PREFIX)
        url = ready[len(READY_PREFIX) :].strip()
        r = httpx.get(f"{url}/info", params={"api-version": "2025-04-01"}, headers={"authorization": f"Bearer {key}"})
        assert r.status_code == 200
    assert process.returncode == 0  # SIGTERM is a clean stop


def test_process_module_imports_no_server_dependencies() -> None:
    code = (
        "import sys, llama_azure.server.process, llama_azure.server; "
        "bad = [m for m in ('llama_cpp', 'starlette', 'uvicorn') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_options() -> None:
    args = build_parser().parse_args(
        ["--api-key", "a", "--api-key", "b", "--deployment", "x", "--blocklist", "w", "--rpm", "7", "--tpm", "9"]
    )
    assert args.api_key == ["a", "b"]
    assert args.deployment == ["x"]
    assert (args.rpm, args.tpm, args.host, args.port) == (7, 9, "127.0.0.1", 8000)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--rpm", "0"])


def test_a_key_that_starts_with_a_dash_is_passed_whole() -> None:
    """secrets.token_urlsafe() keys (llama-azure chat/info --local) start with "-" one time in 64."""
    with ReferenceServer(api_key="-Kx_key") as srv:
        r = httpx.get(f"{srv.url}/info", params={"api-version": "2024-05-01-preview"}, headers={"api-key": "-Kx_key"},
                      timeout=30)
        assert r.status_code == 200, r.text
