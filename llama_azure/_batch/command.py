"""``llama-azure batch INPUT.jsonl -o OUTPUT.jsonl``: the command-line face of :mod:`llama_azure.batch`.

A progress bar (tqdm) on stderr when it is a terminal; otherwise only the final line. Ctrl-C stops cleanly:
the calls in flight are cancelled, the output keeps whole lines only, and the same command resumes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from .._argtypes import positive_float, positive_int
from .._exceptions import RateLimitError
from .._pacing.rate_limit import RateLimit
from ..batch import BatchSummary, run_batch

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def add_batch_parser(commands: Any) -> argparse.ArgumentParser:
    batch: argparse.ArgumentParser = commands.add_parser(
        "batch", help="answer a batch file (OpenAI/Azure batch JSONL), resumably, under a quota",
        description="Answer every line of INPUT (OpenAI/Azure batch format: custom_id, method, url, body) and "
        "append one record per line to OUTPUT. Running again with the same OUTPUT skips the lines already "
        "answered. Exit status 1 when any line failed, 130 when interrupted.")
    batch.add_argument("input", metavar="INPUT.jsonl", help="the requests, one JSON object per line")
    batch.add_argument("-o", "--output", required=True, metavar="OUTPUT.jsonl",
                       help="where the answers are appended (created if missing)")
    batch.add_argument("--concurrency", type=positive_int, default=8, metavar="N",
                       help="calls in flight at once (default 8)")
    quota = batch.add_argument_group("quota pacing (the deployment's limits: no 429s instead of retries)")
    quota.add_argument("--rpm", type=positive_int, default=None, metavar="N", help="requests per window")
    quota.add_argument("--tpm", type=positive_int, default=None, metavar="N", help="tokens per window")
    quota.add_argument("--window", type=positive_float, default=60.0, metavar="SECONDS",
                       help="the quota's sliding window (default 60)")
    quota.add_argument("--store", default=None, metavar="redis://HOST:PORT/DB",
                       help="share the quota with other processes through Redis")
    return batch


def check_input(path: str) -> None:
    """A missing or unreadable INPUT is a usage error, said before any client is made."""
    if not os.path.exists(path):
        raise argparse.ArgumentTypeError(f"the input file {path!r} does not exist (INPUT.jsonl)")
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"the input {path!r} is not a readable file (INPUT.jsonl)")


def rate_limit_of(args: argparse.Namespace) -> RateLimit | None:
    if args.rpm is None and args.tpm is None:
        if args.store is not None:
            raise argparse.ArgumentTypeError("--store needs --rpm or --tpm")
        return None
    return RateLimit(requests=args.rpm, tokens=args.tpm, window=args.window, store=args.store)


class Progress:
    """Counts for the final line, and a tqdm bar when stderr is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.rate_limited = 0
        self.answered = 0
        self.failed = 0
        self._bar: Any = None

    def start(self, total: int, done: int) -> None:
        if not self.stream.isatty():
            return
        try:
            from tqdm import tqdm
        except ImportError:  # the bar is a nicety: the final line is always printed
            return
        self._bar = tqdm(total=total, initial=done, file=self.stream, unit="req", dynamic_ncols=True,
                         desc="batch", postfix=self._postfix())

    def advance(self, ok: bool, rate_limited: bool) -> None:
        self.answered += ok
        self.failed += not ok
        self.rate_limited += rate_limited
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix(), refresh=False)
            self._bar.update(1)

    def on_retry(self, attempt: int, error: BaseException, wait: float) -> None:
        if isinstance(error, RateLimitError):
            self.rate_limited += 1
            if self._bar is not None:
                self._bar.set_postfix_str(self._postfix())

    def _postfix(self) -> str:
        return f"failed={self.failed}, 429s={self.rate_limited}"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def run_batch_command(args: argparse.Namespace, client_factory: Any) -> int:
    """Run the batch; ``client_factory(args, **options)`` is the CLI's client context manager."""
    progress = Progress(sys.stderr)
    try:
        check_input(args.input)
        options = {"rate_limit": rate_limit_of(args), "on_retry": progress.on_retry}
    except argparse.ArgumentTypeError as error:
        print(f"llama-azure batch: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    summary: BatchSummary | None = None
    try:
        with client_factory(args, **options) as client:
            summary = asyncio.run(_until_interrupted(client, args, progress))
    finally:
        progress.close()
    if summary is None:
        print(f"llama-azure batch: interrupted after {progress.answered} answered, {progress.failed} failed in "
              f"this run; the output has whole lines only: run the same command again to go on", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"llama-azure batch: {summary.total} lines: {summary.answered} answered, {summary.skipped} skipped "
          f"(answered before), {summary.failed} failed; {summary.retries} retries, {progress.rate_limited} 429s; "
          f"{summary.seconds:.1f} s -> {args.output}", file=sys.stderr)
    return 0 if summary.ok else EXIT_FAILED


async def _until_interrupted(client: Any, args: argparse.Namespace, progress: Progress) -> BatchSummary | None:
    """The batch, or None when Ctrl-C (SIGINT) or SIGTERM cancelled it."""
    async with client:
        task = asyncio.ensure_future(run_batch(client, args.input, args.output, concurrency=args.concurrency,
                                               progress=progress))
        with _on_signals(asyncio.get_running_loop(), task.cancel):
            try:
                return await task
            except asyncio.CancelledError:
                return None


@contextlib.contextmanager
def _on_signals(loop: asyncio.AbstractEventLoop, handler: Any) -> Iterator[None]:
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no signal handlers on this loop
            loop.add_signal_handler(sig, handler)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
