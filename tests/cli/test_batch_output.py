"""``read_batch_output``: a batch output file written by ``run_batch`` against the real server, read back as typed
records (the custom id, the ``ChatCompletion`` / ``Completion`` answer or the ``BatchError``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import BLOCKED_WORD

from llama_azure import AsyncLlamaClient, ChatCompletion, Completion
from llama_azure.batch import BatchError, BatchFileError, BatchResult, read_batch_output, run_batch
from llama_azure.server.process import ReferenceServer


def request(custom_id: str, url: str, **body: Any) -> str:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": {"max_tokens": 3, **body}})


@pytest.fixture
async def answers(tmp_path: Path, server: ReferenceServer) -> Path:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join([
        request("chat", "/v1/chat/completions", messages=[{"role": "user", "content": "Hi"}]),
        request("text", "/v1/completions", prompt="The sky is"),
        request("filtered", "/v1/chat/completions", messages=[{"role": "user", "content": f"Say {BLOCKED_WORD}"}]),
        "{not json",
    ]) + "\n", encoding="utf-8")
    async with AsyncLlamaClient(server.url, server.api_key, max_retries=0) as client:
        summary = await run_batch(client, source, target)
    assert (summary.answered, summary.failed) == (2, 2)
    return target


def test_records_come_back_typed(answers: Path) -> None:
    results: dict[str | None, BatchResult[ChatCompletion | Completion]] = {
        result.custom_id: result for result in read_batch_output(answers)}
    chat, text = results["chat"], results["text"]
    assert isinstance(chat.answer, ChatCompletion) and chat.answer.choices[0].message.role == "assistant"
    assert isinstance(text.answer, Completion) and text.answer.choices[0].text
    assert chat.ok and chat.error is None and chat.status_code == 200 and chat.request_id
    filtered = results["filtered"]
    assert not filtered.ok and filtered.answer is None and filtered.status_code == 400
    assert isinstance(filtered.error, BatchError) and filtered.error.code == "content_filter"
    assert isinstance(filtered.error_body, dict) and filtered.error_body["error"]["code"] == "content_filter"
    malformed = results[None]
    assert malformed.line == 4 and malformed.error is not None and malformed.error.code == "invalid_json"
    assert malformed.status_code is None


def test_one_answer_type_is_checked(answers: Path, tmp_path: Path) -> None:
    chats = tmp_path / "chats.jsonl"
    chats.write_text("".join(line for line in answers.read_text(encoding="utf-8").splitlines(keepends=True)
                             if '"custom_id":"text"' not in line), encoding="utf-8")
    contents = [result.answer.content for result in read_batch_output(chats, ChatCompletion) if result.answer]
    assert len(contents) == 1
    with pytest.raises(ValueError, match="the answer is a Completion, not a ChatCompletion"):
        list(read_batch_output(answers, ChatCompletion))


def test_a_line_cut_short_is_named(answers: Path) -> None:
    whole = answers.read_text(encoding="utf-8")
    answers.write_text(whole + whole.splitlines()[0][:40], encoding="utf-8")
    with pytest.raises(ValueError, match=r"out\.jsonl:5 is not a batch output record"):
        list(read_batch_output(answers))


@pytest.mark.parametrize("record", [
    {"id": "batch_req_1", "custom_id": "a", "error": None},  # no response
    {"id": 1, "custom_id": "a", "response": None, "error": None},  # id not a string
    {"id": "batch_req_1", "custom_id": "a", "response": None, "error": "boom"},  # error not an object
], ids=["no-response", "id-not-a-string", "error-not-an-object"])
async def test_reader_and_batch_share_one_rule_for_a_record(tmp_path: Path, record: dict[str, Any]) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(request("a", "/v1/completions", prompt="Hi") + "\n", encoding="utf-8")
    target.write_text(json.dumps(record) + "\n", encoding="utf-8")
    before = target.read_bytes()
    with pytest.raises(ValueError, match=r"out\.jsonl:1 is not a batch output record \(an object with a string id"):
        list(read_batch_output(target))
    async with AsyncLlamaClient("http://127.0.0.1:9", "unused-key", max_retries=0) as client:  # never called
        with pytest.raises(BatchFileError, match="line 1 is not a batch record"):
            await run_batch(client, source, target)
    assert target.read_bytes() == before
