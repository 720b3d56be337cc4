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

from .cpu import native_crash_hint

READY_PREFIX = "llama-azure reference server listening on "
# Printed by ``--entra``: what azure-identity's managed-identity credentials read.
IDENTITY_VARIABLES = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")


# How many of the server's last output lines a crash report quotes.
TAIL_LINES = 30
_NATIVE_CRASH_SIGNALS = frozenset({"SIGSEGV", "SIGILL", "SIGBUS", "SIGFPE", "SIGABRT"})


class ReferenceServerError(RuntimeError):
    """The server could not be started (it exited, or never printed its ready line)."""


class ReferenceServerCrashed(ReferenceServerError):
    """The server process died without being asked to stop: ``returncode`` (negative: killed by a signal),
    ``signal_name`` (e.g. ``"SIGSEGV"``, else None) and ``output_tail`` (its last lines of output)."""

    def __init__(self, message: str, *, returncode: int, output_tail: str) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.signal_name = signal_name(returncode)
        self.output_tail = output_tail


def signal_name(returncode: int | None) -> str | None:
    """``-11`` -> ``"SIGSEGV"``: the signal that ended a process (None for a normal exit)."""
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def describe_exit(returncode: int) -> str:
    """``"was killed by SIGSEGV (Segmentation fault)"`` or ``"exited with status 2"``."""
    name = signal_name(returncode)
    if name is None:
        return f"exited with status {returncode}"
    try:
        meaning = signal.strsignal(-returncode)
    except ValueError:
        meaning = None
    return f"was killed by {name}" + (f" ({meaning})" if meaning else "")


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
        self._url = ""
        self._port = 0
        self.identity_env: dict[str, str] = {}
        self._process: subprocess.Popen[str] | None = None
        self._crash: ReferenceServerCrashed | None = None
        self._killed = False
        self._lines: collections.deque[str] = collections.deque(maxlen=500)
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"ReferenceServer(url={self._url!r}, args={self.args!r}, {state})"

    @property
    def url(self) -> str:
        """The server's base URL; raises :class:`ReferenceServerCrashed` if the server has died since it started."""
        self.check()
        return self._url

    @property
    def port(self) -> int:
        self.check()
        return self._port

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def check(self) -> None:
        """Raise :class:`ReferenceServerCrashed` (the signal or status, and the last lines of output) if the
        server died without being asked to stop; nothing while it runs, or after :meth:`stop`."""
        if self._crash is None and self._process is not None and self._unasked_exit(self._process) is not None:
            self._crash = self._crashed(self._process, "while it was serving")
        if self._crash is not None:
            raise self._crash

    def _unasked_exit(self, process: subprocess.Popen[str]) -> int | None:
        """The exit status of a server that ended without :meth:`stop` or :meth:`kill` asking it to (None while
        it runs, or after a deliberate kill)."""
        return None if self._killed else process.poll()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the server on purpose (e.g. to test failover): its death is then not reported as a
        crash. Call :meth:`stop` afterwards to reap it."""
        if self._process is not None and self._process.poll() is None:
            self._killed = True
            self._process.send_signal(sig)

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
        self._crash = None
        self._killed = False
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
                process, self._process = self._process, None
                raise self._crashed(process, "before it was ready")
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
                self._url = line[len(READY_PREFIX) :].strip()
                self._port = int(self._url.rsplit(":", 1)[1])
                self._ready.set()
        process.stdout.close()

    def _crashed(self, process: subprocess.Popen[str], when: str) -> ReferenceServerCrashed:
        """The report of a server that died on its own: how (signal name or status), when, its last lines."""
        code = process.wait()
        if self._reader is not None:
            self._reader.join(2)  # the rest of its output (a native crash's faulthandler trace) is read
        tail = "".join(self._redacted_output().splitlines(keepends=True)[-TAIL_LINES:])
        message = f"the reference server {describe_exit(code)} {when}."
        if signal_name(code) in _NATIVE_CRASH_SIGNALS:
            message += " " + native_crash_hint()
        message += f" Its last lines of output:\n{tail}" if tail else " It printed nothing."
        return ReferenceServerCrashed(message, returncode=code, output_tail=tail)

    def _redacted_output(self) -> str:
        output = self.output
        for secret in (self.api_key, self.identity_env.get("IDENTITY_HEADER")):
            if secret:
                output = output.replace(secret, "***")
        return output

    def stop(self) -> int | None:
        """Stop the server (SIGTERM, then SIGKILL after ``stop_timeout`` s); returns its exit status.

        Raises :class:`ReferenceServerCrashed` if the server had died by itself, killed by a signal or with a
        non-zero status (not by :meth:`kill`): a crash is never silent.
        """
        process, self._process = self._process, None
        if process is None:
            return None
        crash = self._crash
        if crash is None and self._unasked_exit(process) not in (None, 0):  # a clean exit's 0 is just returned
            crash = self._crashed(process, "while it was serving")
        self._crash = None
        if crash is not None:
            raise crash
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
