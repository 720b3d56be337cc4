"""Processes a test starts or pauses, ended or resumed on the way out of a block whether it failed or not."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from llama_azure.server.process import ReferenceServer, ReferenceServerCrashed


@dataclass
class Stopped:
    """What ``ReferenceServer.stop()`` said at the end of the block: its exit status, or the crash it reported."""

    status: int | None = None
    crash: ReferenceServerCrashed | None = None


@contextlib.contextmanager
def serving(server: ReferenceServer) -> Iterator[Stopped]:
    """``with serving(srv) as stopped:`` starts ``srv`` and stops it on the way out; a crash ``stop()`` reports
    is kept in ``stopped.crash`` for the test to check after the block, never raised over the block's error."""
    stopped = Stopped()
    server.start()
    try:
        yield stopped
    finally:
        try:
            stopped.status = server.stop()
        except ReferenceServerCrashed as crash:
            stopped.crash = crash


@contextlib.contextmanager
def terminated_at_exit(process: subprocess.Popen[str], timeout: float = 15) -> Iterator[None]:
    """SIGTERM to ``process`` on the way out, and its end awaited (``process.returncode`` after the block)."""
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout)


@contextlib.contextmanager
def sigstopped(pid: int) -> Iterator[None]:
    """The process is stopped (SIGSTOP) in the block: its connections stay open, nothing answers; it runs
    again (SIGCONT) afterwards."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)
