"""Answer a batch file (the OpenAI / Azure OpenAI batch input format) with an ``AsyncLlamaClient``.

Each input line is ``{"custom_id": ..., "method": "POST", "url": "/v1/chat/completions", "body": {...}}``.
Each answer is appended to the output as one line and flushed at once::

    {"id": "batch_req_...", "custom_id": "...", "response": {"status_code": 200, "request_id": "...",
     "body": {...}}, "error": null}

or, when the call failed, ``"error": {"code": ..., "message": ...}`` (with the error answer's status and body
in ``response`` when the service sent one). Running again with the same output resumes: the custom_ids
already answered are skipped, failed ones are asked again. A line that is not a valid request gets an error
record and the others go on. An output that is the input, or that holds a line which is not a batch record
(a file given as ``-o`` by mistake), is refused with :class:`BatchFileError` before anything is written. The
engine behind ``llama-azure batch``; pace it with the client's ``rate_limit=``::

    summary = await run_batch(client, "requests.jsonl", "answers.jsonl", concurrency=16)

``read_batch_output`` reads the answers back as typed records (``BatchResult``: ``custom_id``, and the
``ChatCompletion`` / ``Completion`` answer or a ``BatchError``)::

    for result in read_batch_output("answers.jsonl", ChatCompletion):
        print(result.custom_id, result.answer.content if result.answer else result.error)
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from ._async_client import AsyncLlamaClient
from ._batch.output import BatchError, BatchResult, batch_record, read_batch_output
from ._exceptions import APIStatusError, BatchFileError, LlamaAzureError

__all__ = [
    "BatchError", "BatchFileError", "BatchProgress", "BatchResult", "BatchSummary", "read_batch_output", "run_batch",
]


class BatchProgress(Protocol):
    """What ``run_batch`` reports as it goes (``llama-azure batch`` draws a progress bar from it)."""

    def start(self, total: int, done: int) -> None:
        """``total`` lines in the input, ``done`` of them answered by an earlier run."""

    def advance(self, ok: bool, rate_limited: bool) -> None:
        """One more line has its record (``ok``: answered; ``rate_limited``: it failed with a 429)."""


@dataclass
class BatchSummary:
    total: int = 0
    """Lines in the input."""
    skipped: int = 0
    """Answered by an earlier run, not asked again."""
    answered: int = 0
    """Lines answered in this run."""
    failed: int = 0
    """Lines whose record is an error (a failed call or a malformed line)."""
    retries: int = 0
    """Retries the answered calls needed (429s and transient errors)."""
    seconds: float = 0.0
    """How long the run took."""

    @property
    def ok(self) -> bool:
        return self.failed == 0


@dataclass(frozen=True)
class _Line:
    number: int
    text: str


async def run_batch(
    client: AsyncLlamaClient,
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    concurrency: int = 8,
    progress: BatchProgress | None = None,
) -> BatchSummary:
    """Answer every line of ``input_path`` not yet answered in ``output_path``, ``concurrency`` at a time.

    Cancelling it (Ctrl-C in ``llama-azure batch``) cancels the calls in flight and leaves the output with
    whole lines only: run it again to go on.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
    started = time.monotonic()
    source, target = Path(input_path), Path(output_path)
    _check_not_the_input(source, target)
    lines = _input_lines(source)
    answered = _answered_ids(target)
    summary = BatchSummary(total=len(lines))
    pending: asyncio.Queue[_Line] = asyncio.Queue()
    seen: set[str] = set()
    for line in lines:
        custom_id = _custom_id_of(line.text)
        if custom_id is not None and custom_id in answered:
            summary.skipped += 1
            seen.add(custom_id)
        else:
            pending.put_nowait(line)
    if progress is not None:
        progress.start(summary.total, summary.skipped)
    # Appends happen on the event loop's thread: one short write per answer, and a cancellation can never
    # fall between the halves of a line.
    with target.open("a", encoding="utf-8") as output:  # noqa: ASYNC230

        def write(record: dict[str, Any]) -> None:
            output.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            output.flush()
            ok = record["error"] is None
            if ok:
                summary.answered += 1
            else:
                summary.failed += 1
            if progress is not None:
                progress.advance(ok, bool(record["response"]) and record["response"]["status_code"] == 429)

        async def worker() -> None:
            while not pending.empty():
                line = pending.get_nowait()
                record, retries = await _answer(client, line, seen)
                summary.retries += retries
                write(record)

        workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, max(pending.qsize(), 1)))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            summary.seconds = time.monotonic() - started
    return summary


async def _answer(client: AsyncLlamaClient, line: _Line, seen: set[str]) -> tuple[dict[str, Any], int]:
    """The output record for one input line, and the retries its call took."""
    try:
        request = json.loads(line.text)
    except ValueError as error:
        return _error_record(None, line, "invalid_json", f"line {line.number} is not JSON: {error}"), 0
    custom_id = request.get("custom_id") if isinstance(request, dict) else None
    problem = _check_request(request, custom_id, seen)
    if problem is not None:
        return _error_record(custom_id if isinstance(custom_id, str) else None, line, "invalid_request",
                             f"line {line.number}: {problem}"), 0
    assert isinstance(custom_id, str)
    seen.add(custom_id)
    body = dict(request["body"])
    chat = request["url"].rstrip("/").endswith("chat/completions")
    if not chat:
        body.pop("model", None)  # the endpoint (and deployment) decide the model of text completions
    resource = client.chat.completions if chat else client.completions
    try:
        raw = await cast(Any, resource.with_raw_response).create(**body)
    except APIStatusError as error:
        response = {"status_code": error.status_code, "request_id": error.request_id, "body": error.body}
        return {**_error_record(custom_id, line, error.code or str(error.status_code), str(error)),
                "response": response}, 0
    except LlamaAzureError as error:
        return _error_record(custom_id, line, type(error).__name__, str(error)), 0
    except TypeError as error:  # a body field that is not a keyword of create()
        return _error_record(custom_id, line, "invalid_request", f"line {line.number}: {error}"), 0
    response = {"status_code": raw.status_code, "request_id": raw.request_id,
                "body": raw.parse().model_dump(mode="json", exclude_none=True)}
    return {"id": f"batch_req_{uuid.uuid4().hex}", "custom_id": custom_id, "response": response, "error": None}, \
        raw.retries_taken


def _check_request(request: object, custom_id: object, seen: set[str]) -> str | None:
    if not isinstance(request, dict):
        return "a request must be a JSON object with custom_id, method, url and body"
    if not isinstance(custom_id, str) or not custom_id:
        return "custom_id must be a non-empty string"
    if custom_id in seen:
        return f"custom_id {custom_id!r} appears more than once in the input"
    if request.get("method", "POST") != "POST":
        return f"method must be POST, got {request.get('method')!r}"
    url = request.get("url")
    if not isinstance(url, str) or not url.rstrip("/").endswith("completions"):
        return f"url must be /v1/chat/completions or /v1/completions, got {url!r}"
    body = request.get("body")
    if not isinstance(body, dict):
        return "body must be a JSON object (the parameters of the call)"
    if body.get("stream"):
        return "stream=true cannot be used in a batch"
    return None


def _error_record(custom_id: str | None, line: _Line, code: str, message: str) -> dict[str, Any]:
    record: dict[str, Any] = {"id": f"batch_req_{uuid.uuid4().hex}", "custom_id": custom_id, "response": None,
                              "error": {"code": code, "message": message}}
    if custom_id is None:
        record["line"] = line.number
    return record


def _input_lines(source: Path) -> list[_Line]:
    """The input's lines; a BatchFileError naming the file when it is missing or cannot be read."""
    try:
        return list(_read_lines(source))
    except FileNotFoundError:
        raise BatchFileError(f"the input file {str(source)!r} does not exist: give input_path an existing JSONL "
                             f"file of requests") from None
    except OSError as error:
        raise BatchFileError(f"the input {str(source)!r} cannot be read ({error.strerror or error}): give "
                             f"input_path a readable JSONL file of requests") from None


def _read_lines(path: Path) -> Iterator[_Line]:
    with path.open(encoding="utf-8", errors="replace") as source:
        for number, text in enumerate(source, start=1):
            if text.strip():
                yield _Line(number, text)


def _json_object(text: str) -> dict[str, Any] | None:
    """The JSON object a line holds, or None (not JSON, or JSON but not an object)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return cast(dict[str, Any], value) if isinstance(value, dict) else None


def _custom_id_of(text: str) -> str | None:
    custom_id = (_json_object(text) or {}).get("custom_id")
    return custom_id if isinstance(custom_id, str) else None


def _check_not_the_input(source: Path, target: Path) -> None:
    if source.exists() and target.exists() and os.path.samefile(source, target):  # also through a link
        raise BatchFileError(f"the output {str(target)!r} is the input {str(source)!r}: give -o another file")


def _answered_ids(path: Path) -> set[str]:
    """The custom_ids answered in an existing output. Error records are dropped (they are asked again), and
    so is a last line cut short by a crash; the file is rewritten only when something is dropped. A line that
    is not a record is never dropped: the file was not written by a batch, and it is refused untouched."""
    if not path.exists():
        return set()
    kept: list[str] = []
    answered: set[str] = set()
    dropped = False
    with path.open(encoding="utf-8", errors="replace") as existing:
        for number, text in enumerate(existing, start=1):
            record = _record_of(text)
            if record is None:
                if not text.strip() or _cut_short(text):
                    dropped = True
                    continue
                raise BatchFileError(
                    f"the output {str(path)!r} is not a batch output: line {number} is not a batch record "
                    f"({text.strip()[:40]!r}); nothing was changed: give -o a new file, or the output of an "
                    f"earlier run of this batch")
            custom_id = record["custom_id"]
            if isinstance(custom_id, str) and record["error"] is None and custom_id not in answered:
                answered.add(custom_id)
                kept.append(text if text.endswith("\n") else text + "\n")
            else:
                dropped = True
    if dropped:
        partial = path.with_name(path.name + ".resume")
        partial.write_text("".join(kept), encoding="utf-8")
        partial.replace(path)
    return answered


_RECORD_START = '{"id":"batch_req_'  # how each record this module writes begins


def _record_of(text: str) -> dict[str, Any] | None:
    """The batch record a line holds, or None when it holds something else."""
    return batch_record(_json_object(text))


def _cut_short(text: str) -> bool:
    """A last line (no newline) that began as a record: a write a crash interrupted."""
    start = text.lstrip()[:len(_RECORD_START)]
    return not text.endswith("\n") and bool(start) and _RECORD_START.startswith(start)
