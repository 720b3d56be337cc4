"""``llama-azure batch`` and its engine (``llama_azure.batch.run_batch``) against a real server with a small
quota (4 requests per 3 s window): resume after an interruption, malformed lines, progress, exit status."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from support.waiting import wait_until

from llama_azure import AsyncLlamaClient, RateLimit
from llama_azure.batch import BatchFileError, BatchSummary, run_batch
from llama_azure.server.process import ReferenceServer


def write_input(path: Path, count: int, extra: Sequence[str] = ()) -> list[str]:
    ids = [f"req-{i}" for i in range(count)]
    lines = [json.dumps({"custom_id": cid, "method": "POST", "url": "/v1/chat/completions",
                         "body": {"model": "llama", "messages": [{"role": "user", "content": f"Say {cid}"}],
                                  "max_tokens": 2}}) for cid in ids]
    path.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
    return ids


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def batch_command(server: ReferenceServer, deployment: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "llama_azure", "batch", *args, "--endpoint", server.url, "--api-key",
            server.api_key, "--deployment", deployment, "--max-retries", "0"]


class StopAfter:
    """A progress that cancels the batch once ``count`` records are written."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.task: asyncio.Task[BatchSummary] | None = None

    def start(self, total: int, done: int) -> None:
        pass

    def advance(self, ok: bool, rate_limited: bool) -> None:
        self.count -= 1
        if self.count == 0 and self.task is not None:
            self.task.cancel()


async def test_an_interrupted_batch_resumes_and_answers_each_custom_id_once(
        tmp_path: Path, quota_server: ReferenceServer, quota_deployment: str, quota_limits: Any) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_input(source, 10)
    rate_limit = RateLimit(requests=quota_limits.rpm, window=quota_limits.window)
    async with AsyncLlamaClient(quota_server.url, quota_server.api_key, deployment=quota_deployment,
                                max_retries=0, rate_limit=rate_limit) as client:
        stop = StopAfter(3)
        stop.task = asyncio.ensure_future(run_batch(client, source, target, concurrency=4, progress=stop))
        with pytest.raises(asyncio.CancelledError):
            await stop.task
        first = records(target)  # whole lines only: each parses
        assert 3 <= len(first) < 10 and all(r["error"] is None for r in first)
        summary = await run_batch(client, source, target, concurrency=4)
    assert (summary.skipped, summary.answered, summary.failed) == (len(first), 10 - len(first), 0)
    final = records(target)
    assert sorted(r["custom_id"] for r in final) == sorted(ids)  # each exactly once
    assert all(r["response"]["status_code"] == 200 and r["response"]["body"]["choices"] for r in final)


def test_ctrl_c_stops_the_command_cleanly_and_the_same_command_resumes(
        tmp_path: Path, quota_server: ReferenceServer, quota_deployment: str, quota_limits: Any) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_input(source, 12)  # three windows' worth at 4 requests per window
    command = batch_command(quota_server, quota_deployment, str(source), "-o", str(target), "--concurrency", "4",
                            "--rpm", str(quota_limits.rpm), "--window", str(quota_limits.window))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def first_window_answered() -> bool:
        assert process.poll() is None, process.communicate()
        return target.exists() and target.read_text(encoding="utf-8").count("\n") >= 4

    wait_until(first_window_answered, timeout=60, what="the first window's answers")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "run the same command again" in err and "Traceback" not in err
    first = records(target)
    assert len({r["custom_id"] for r in first}) == len(first) < 12
    # The calls cancelled in flight may still hold the quota: the resumed run's first request learns that from
    # its answer (a 429 at worst, retried) before the others go.
    resumed = subprocess.run([*command, "--max-retries", "2"], capture_output=True, text=True, timeout=90,
                             check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(first)} skipped" in resumed.stderr and "0 failed" in resumed.stderr
    assert re.search(r"\b[01] 429s", resumed.stderr), resumed.stderr
    assert sorted(r["custom_id"] for r in records(target)) == sorted(ids)


def test_a_malformed_line_gets_an_error_record_and_the_rest_go_on(
        tmp_path: Path, quota_server: ReferenceServer, quota_deployment: str) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    bad_body = json.dumps({"custom_id": "bad-body", "method": "POST", "url": "/v1/completions",
                           "body": {"prompt": "Hi", "max_tokens": -1}})
    ids = write_input(source, 3, ["{this is not json", bad_body])
    result = subprocess.run(batch_command(quota_server, quota_deployment, str(source), "-o", str(target)),
                            capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 1, result.stderr  # some lines failed
    assert "3 answered" in result.stderr and "2 failed" in result.stderr
    by_id = {r["custom_id"]: r for r in records(target)}
    assert all(by_id[cid]["error"] is None for cid in ids)
    assert by_id[None]["line"] == 4 and by_id[None]["error"]["code"] == "invalid_json"
    assert by_id["bad-body"]["error"]["code"] == "ParameterError" and "max_tokens" in \
        by_id["bad-body"]["error"]["message"]


def test_progress_is_a_bar_on_a_terminal_and_one_final_line_otherwise(
        tmp_path: Path, quota_server: ReferenceServer, quota_deployment: str, another_quota_deployment: str,
        quota_limits: Any) -> None:
    source = tmp_path / "in.jsonl"
    write_input(source, 3)
    quota = ["--rpm", str(quota_limits.rpm), "--window", str(quota_limits.window)]
    plain = subprocess.run(batch_command(quota_server, quota_deployment, str(source), "-o",
                                         str(tmp_path / "plain.jsonl"), *quota),
                           capture_output=True, text=True, timeout=90, check=False)
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr.strip().splitlines() == [plain.stderr.strip()] and "\r" not in plain.stderr
    assert "3 lines: 3 answered" in plain.stderr

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    with subprocess.Popen(batch_command(quota_server, another_quota_deployment, str(source), "-o",
                                        str(tmp_path / "tty.jsonl"), *quota),
                          stdout=subprocess.DEVNULL, stderr=follower) as process:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the command ended
                break
            if not chunk:
                break
            shown += chunk
    os.close(leader)
    text = shown.decode(errors="replace")
    assert process.returncode == 0, text
    assert "3/3" in text and "req/s" in text and "429s=0" in text


# The refusals come before any call: a deployment the server does not have would make any call fail.
NO_CALL = "refused-before-any-call"


@pytest.mark.parametrize("spelling", ["same path", "symlink", "other spelling"])
async def test_an_output_that_is_the_input_is_refused_and_the_input_kept(
        tmp_path: Path, quota_server: ReferenceServer, spelling: str) -> None:
    source = tmp_path / "in.jsonl"
    write_input(source, 2)
    before = source.read_bytes()
    target = {"same path": source, "other spelling": tmp_path / "." / ".." / tmp_path.name / "in.jsonl"}.get(
        spelling, tmp_path / "link.jsonl")
    if spelling == "symlink":
        target.symlink_to(source)
    async with AsyncLlamaClient(quota_server.url, quota_server.api_key, deployment=NO_CALL,
                                max_retries=0) as client:
        with pytest.raises(BatchFileError, match="is the input"):
            await run_batch(client, source, target)
    assert source.read_bytes() == before


@pytest.mark.parametrize(("name", "said"), [("missing.jsonl", "does not exist: give input_path an existing"),
                                             ("a-folder", "cannot be read")])
async def test_run_batch_refuses_a_missing_or_unreadable_input_naming_it(
        tmp_path: Path, quota_server: ReferenceServer, name: str, said: str) -> None:
    source, target = tmp_path / name, tmp_path / "out.jsonl"
    if name == "a-folder":
        source.mkdir()
    async with AsyncLlamaClient(quota_server.url, quota_server.api_key, deployment=NO_CALL,
                                max_retries=0) as client:
        with pytest.raises(BatchFileError, match=f"the input.*{name}.*{said}"):
            await run_batch(client, source, target)
    assert not target.exists()


def test_the_command_refuses_an_output_that_is_the_input(
        tmp_path: Path, quota_server: ReferenceServer) -> None:
    source = tmp_path / "in.jsonl"
    write_input(source, 2)
    before = source.read_bytes()
    result = subprocess.run(batch_command(quota_server, NO_CALL, str(source), "-o", str(source)),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1, result.stderr
    assert "BatchFileError" in result.stderr and str(source) in result.stderr and "Traceback" not in result.stderr
    assert source.read_bytes() == before


@pytest.mark.parametrize("problem", ["missing input", "input is a folder", "--store without a limit"])
def test_a_usage_error_is_one_line_naming_what_to_fix_with_exit_status_2(tmp_path: Path, problem: str) -> None:
    source, output = tmp_path / "missing.jsonl", tmp_path / "out.jsonl"
    extra: list[str] = []
    if problem == "input is a folder":
        source = tmp_path
    elif problem == "--store without a limit":
        write_input(source, 1)
        extra = ["--store", "redis://127.0.0.1:1/0"]
    result = subprocess.run([sys.executable, "-m", "llama_azure", "batch", str(source), "-o", str(output), *extra,
                             "--endpoint", "http://127.0.0.1:9", "--api-key", "k"],  # nothing may be sent
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("llama-azure batch: error: ")
    assert ("--store needs --rpm or --tpm" in line if extra else repr(str(source)) in line and "INPUT" in line)
    assert not output.exists()


def test_an_output_holding_lines_that_are_not_records_is_refused_untouched(
        tmp_path: Path, quota_server: ReferenceServer) -> None:
    source, notes = tmp_path / "in.jsonl", tmp_path / "notes.txt"
    write_input(source, 2)
    answered = json.dumps({"id": "batch_req_1", "custom_id": "req-0", "response": {"status_code": 200},
                           "error": None})
    failed = json.dumps({"id": "batch_req_2", "custom_id": "req-1", "response": None,
                         "error": {"code": "x", "message": "y"}})
    notes.write_text(f"{answered}\n{failed}\nbuy milk\n{{\"custom_id\": \"req-1\"}}\n", encoding="utf-8")
    before = notes.read_bytes()
    result = subprocess.run(batch_command(quota_server, NO_CALL, str(source), "-o", str(notes)),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1, result.stderr
    assert str(notes) in result.stderr and "line 3" in result.stderr and "buy milk" in result.stderr
    assert notes.read_bytes() == before  # not even the error record was dropped


async def test_a_last_record_cut_short_by_a_crash_is_still_dropped_on_resume(
        tmp_path: Path, quota_server: ReferenceServer, quota_deployment: str) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_input(source, 2)
    answered = json.dumps({"id": "batch_req_1", "custom_id": "req-0", "response": {"status_code": 200},
                           "error": None}, separators=(",", ":"))
    target.write_text(f"{answered}\n{answered[:30]}", encoding="utf-8")
    async with AsyncLlamaClient(quota_server.url, quota_server.api_key, deployment=quota_deployment,
                                max_retries=0) as client:
        summary = await run_batch(client, source, target)
    assert (summary.skipped, summary.answered, summary.failed) == (1, 1, 0)
    assert sorted(r["custom_id"] for r in records(target)) == ["req-0", "req-1"]
