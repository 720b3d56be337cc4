"""Issue 18: a server that dies is named (signal, last lines of output), and a broken engine fails at start.

The engine failures are simulated in the server process (tests/support/broken_engine.py).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest
from support.broken_engine import broken_engine_env
from support.processes import serving

from llama_azure.server.process import ReferenceServer, ReferenceServerCrashed, ReferenceServerError

KEY = "crash-key"

def broken_engine_server(tmp_path: Path, how: str) -> ReferenceServer:
    return ReferenceServer(api_key=KEY, args=["--n-ctx", "256"], env=broken_engine_env(tmp_path, how))


def test_a_server_killed_by_sigsegv_is_named_at_the_next_call_and_at_stop() -> None:
    srv = ReferenceServer(api_key=KEY, args=["--n-ctx", "256"])
    with serving(srv) as stopped:
        assert srv.pid is not None
        os.kill(srv.pid, signal.SIGSEGV)
        assert srv._process is not None and srv._process.wait(30) == -signal.SIGSEGV
        with pytest.raises(ReferenceServerCrashed) as at_call:
            srv.url  # noqa: B018 - the next use of the server reports the crash
        crash = at_call.value
        assert crash.signal_name == "SIGSEGV" and crash.returncode == -signal.SIGSEGV
        assert "was killed by SIGSEGV (Segmentation fault) while it was serving." in str(crash)
        assert "native crash inside llama.cpp" in str(crash)
        assert "Fatal Python error: Segmentation fault" in crash.output_tail  # the server's faulthandler
        assert KEY not in str(crash)
    assert stopped.crash is not None and "SIGSEGV" in str(stopped.crash)  # stop() names it too
    assert srv.stop() is None  # reported once; the server is gone


def test_a_server_that_exits_on_its_own_is_reported_at_stop() -> None:
    srv = ReferenceServer(api_key=KEY, args=["--n-ctx", "256"]).start()
    assert srv.pid is not None
    os.kill(srv.pid, signal.SIGABRT)
    assert srv._process is not None and srv._process.wait(30) == -signal.SIGABRT
    with pytest.raises(ReferenceServerCrashed) as info:
        srv.stop()
    assert info.value.signal_name == "SIGABRT" and "Fatal Python error: Aborted" in info.value.output_tail


def test_a_deliberate_kill_is_not_a_crash() -> None:
    srv = ReferenceServer(api_key=KEY, args=["--n-ctx", "256"]).start()
    srv.kill()
    assert srv._process is not None and srv._process.wait(30) == -signal.SIGKILL
    assert srv.url.startswith("http://127.0.0.1:")  # no report: the test asked for it
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{srv.url}/info", timeout=2)
    assert srv.stop() == -signal.SIGKILL


def test_the_self_check_refuses_an_engine_that_cannot_evaluate_a_batch(tmp_path: Path) -> None:
    with pytest.raises(ReferenceServerError) as info:
        broken_engine_server(tmp_path, "raise").start()
    message = str(info.value)
    assert not isinstance(info.value, ReferenceServerCrashed) or info.value.signal_name is None
    assert "exited with status 3 before it was ready" in message
    assert "could not evaluate a" in message and "simulated: llama_decode returned -1" in message
    assert "--weight-repack off" in message and "GGML_NATIVE=OFF" in message  # what to do
    assert "llama.cpp reports:" in message  # its build, e.g. "CPU : SSE3 = 1 | ... AVX2 = 1"


def test_a_native_crash_in_the_self_check_is_named_with_its_trace(tmp_path: Path) -> None:
    with pytest.raises(ReferenceServerCrashed) as info:
        broken_engine_server(tmp_path, "segv").start()
    crash = info.value
    assert crash.signal_name == "SIGSEGV" and "before it was ready" in str(crash)
    assert "Fatal Python error: Segmentation fault" in crash.output_tail
    assert "self_check" in crash.output_tail  # faulthandler's stack shows where it happened
