"""Start the reference server as a real subprocess, for tests, examples and CI.

>>> from llama_azure.server.process import ReferenceServer
>>> with ReferenceServer(api_key="test-key", args=["--rpm", "5"]) as srv:   # doctest: +SKIP
...     httpx.post(f"{srv.url}/v1/completions", headers={"api-key": srv.api_key}, json={"prompt": "Hi"})

Only the standard library is imported here: no llama.cpp, no Starlette.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

READY_PREFIX = "llama-azure reference server listening on "
# Printed by ``--entra``: what azure-identity's managed-identity credentials read.
IDENTITY_VARIABLES = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")


class ReferenceServerError(RuntimeError):
    """The server could not be started (it exited, or never printed its ready line)."""


class ReferenceServer:
    """A ``llama-azure serve`` subprocess on a free loopback port.

    ``url`` and ``api_key`` are set once :meth:`start` returns. Use it as a context manager, or call
    :meth:`start` and :meth:`stop` yourself. ``output`` holds the last lines the server printed.
    With ``args=["--entra"]``, ``identity_env`` holds ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER``: set them
    (e.g. ``monkeypatch.setenv``) and ``azure.identity.DefaultAzureCredential()`` gets tokens from the server.
    """

    def __init__(
        self,
        api_key: str = "test-key",
        args: Sequence[str] = (),
        *,
        host: str = "127.0.0.1",
        startup_timeout: float = 60.0,
        stop_timeout: float = 10.0,
        python: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.api_key = api_key
        self.args = list(args)
        self.host = host
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.python = python or sys.executable
        self.env = env
        self.url = ""
        self.port = 0
        self.identity_env: dict[str, str] = {}
        self._process: subprocess.Popen[str] | None = None
        self._lines: collections.deque[str] = collections.deque(maxlen=500)
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"ReferenceServer(url={self.url!r}, args={self.args!r}, {state})"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def output(self) -> str:
        """What the server printed so far (the last 500 lines, stdout and stderr together)."""
        return "".join(self._lines)

    def command(self) -> list[str]:
        return [
            self.python,
            "-m",
            "llama_azure.server",
            "serve",
            "--host",
            self.host,
            "--port",
            "0",
            f"--api-key={self.api_key}",  # one argument: a generated key may start with "-"
            *self.args,
        ]

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ if self.env is None else self.env)
        env["PYTHONUNBUFFERED"] = "1"
        # Run the same llama_azure the caller imported, installed or not.
        package_root = str(Path(__file__).resolve().parents[2])
        existing = env.get("PYTHONPATH")
        env["PYTHONPATH"] = package_root + (os.pathsep + existing if existing else "")
        return env

    def start(self) -> ReferenceServer:
        """Start the server and wait (at most ``startup_timeout`` s) until it accepts requests."""
        if self.running:
            return self
        self._lines.clear()
        self._ready.clear()
        self.identity_env = {}
        self._process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=self._child_env(),
        )
        self._reader = threading.Thread(
            target=self._read, args=(self._process,), name="reference-server-output", daemon=True
        )
        self._reader.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._ready.wait(0.05):
            if self._process.poll() is not None:
                self._reader.join(2)
                code = self._process.returncode
                self._process = None
                raise ReferenceServerError(
                    f"the reference server exited with status {code} before it was ready. Its output:\n"
                    + self._redacted_output()
                )
            if time.monotonic() > deadline:
                self.stop()
                raise ReferenceServerError(
                    f"the reference server was not ready after {self.startup_timeout:.0f} s. Its output:\n"
                    + self._redacted_output()
                )
        return self

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._lines.append(line)
            name, sep, value = line.partition("=")
            if sep and name in IDENTITY_VARIABLES and not self._ready.is_set():
                self.identity_env[name] = value.strip()
            if not self._ready.is_set() and line.startswith(READY_PREFIX):
                self.url = line[len(READY_PREFIX) :].strip()
                self.port = int(self.url.rsplit(":", 1)[1])
                self._ready.set()
        process.stdout.close()

    def _redacted_output(self) -> str:
        output = self.output
        for secret in (self.api_key, self.identity_env.get("IDENTITY_HEADER")):
            if secret:
                output = output.replace(secret, "***")
        return output

    def stop(self) -> int | None:
        """Stop the server (SIGTERM, then SIGKILL after ``stop_timeout`` s); returns its exit status."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._reader is not None:
            self._reader.join(5)
        return process.returncode

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
