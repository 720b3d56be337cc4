"""Reading a batch output file back as typed records: ``for result in read_batch_output("answers.jsonl"): ...``.

Each line ``run_batch`` (or ``llama-azure batch``, or Azure OpenAI's batch service) writes is
``{"id", "custom_id", "response": {"status_code", "request_id", "body"} | null, "error": {"code", "message"} | null}``;
here it is a :class:`BatchResult` whose ``answer`` is the body as a ``ChatCompletion`` or a ``Completion``, or
whose ``error`` says why there is none.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

from ..types.chat import ChatCompletion
from ..types.completion import Completion

AnswerT = TypeVar("AnswerT", bound=ChatCompletion | Completion)


@dataclass(frozen=True)
class BatchError:
    """Why a line has no answer."""

    code: str
    """The service's error code (``content_filter``, ``429``, ...) or the batch's own (``invalid_json``,
    ``invalid_request``, ``APIConnectionError``, ...)."""
    message: str
    """What went wrong, and on a malformed input line, which line."""


@dataclass(frozen=True)
class BatchResult(Generic[AnswerT]):
    """One record of a batch output file: the answer to one input line, or its error."""

    id: str
    """The record's own id (``batch_req_...``)."""
    custom_id: str | None
    """The input line's ``custom_id``; None for a line that had none (see ``line``)."""
    answer: AnswerT | None
    """The service's answer, typed: a ``ChatCompletion`` for a ``chat/completions`` line, a ``Completion`` for a
    ``completions`` line; None when the line failed."""
    error: BatchError | None
    """Why the line failed; None when it was answered."""
    status_code: int | None = None
    """The HTTP status of the service's answer (200, or the error's); None when no answer came."""
    request_id: str | None = None
    """The service's request id, to quote to Azure support."""
    error_body: Any = None
    """The service's error answer as sent (a JSON value), when it answered with an error."""
    line: int | None = None
    """The input line number, on an error record for a line without a ``custom_id``."""

    @property
    def ok(self) -> bool:
        """True when the line was answered."""
        return self.error is None


@overload
def read_batch_output(path: str | os.PathLike[str]) -> Iterator[BatchResult[ChatCompletion | Completion]]: ...
@overload
def read_batch_output(path: str | os.PathLike[str], answer_type: type[AnswerT]) -> Iterator[BatchResult[AnswerT]]: ...
def read_batch_output(path: str | os.PathLike[str], answer_type: Any = None) -> Iterator[BatchResult[Any]]:
    """The records of a batch output file, in file order, each with its typed answer or error.

    With ``answer_type=ChatCompletion`` (or ``Completion``) every answer is of that type, and mypy knows it;
    a record answering the other kind of line raises ``ValueError``, as does a line that is not a batch output
    record (a last line cut short by a crash: run the batch again, which repairs it).
    """
    source = Path(path)
    with source.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if text.strip():
                yield _result(text, answer_type, f"{source}:{number}")


RECORD_SHAPE = "an object with a string id, custom_id, response and error (null or an object)"


def batch_record(value: object) -> dict[str, Any] | None:
    """``value`` if it is a batch output record (:data:`RECORD_SHAPE`), else None: the one rule, for
    ``read_batch_output`` and for ``run_batch``, which refuses an output holding anything else."""
    if not isinstance(value, dict) or not value.keys() >= {"id", "custom_id", "response", "error"}:
        return None
    if not isinstance(value["id"], str) or not (value["error"] is None or isinstance(value["error"], Mapping)):
        return None
    return value


def _result(text: str, answer_type: type[Any] | None, where: str) -> BatchResult[Any]:
    try:
        record = batch_record(json.loads(text))
    except ValueError as not_json:
        raise ValueError(f"{where} is not a batch output record (not JSON: {not_json})") from None
    if record is None:
        raise ValueError(f"{where} is not a batch output record ({RECORD_SHAPE})")
    response: Mapping[str, Any] = record["response"] if isinstance(record["response"], Mapping) else {}
    error = record["error"]
    body = response.get("body")
    answer = None
    if error is None:
        kind = _answer_type(body)
        if kind is None:
            raise ValueError(f"{where}: the answer's body is neither a chat completion nor a completion")
        if answer_type is not None and kind is not answer_type:
            raise ValueError(f"{where}: the answer is a {kind.__name__}, not a {answer_type.__name__}")
        answer = kind.model_validate(body)
    return BatchResult(
        id=record["id"], custom_id=record["custom_id"], answer=answer,
        error=None if error is None else BatchError(code=str(error.get("code")), message=str(error.get("message"))),
        status_code=response.get("status_code"), request_id=response.get("request_id"),
        error_body=None if error is None else body, line=record.get("line"))


def _answer_type(body: object) -> type[ChatCompletion] | type[Completion] | None:
    """Which answer a body is: its ``object``, else the shape of its first choice."""
    if not isinstance(body, Mapping):
        return None
    kind = body.get("object")
    if kind in ("chat.completion", "text_completion"):
        return ChatCompletion if kind == "chat.completion" else Completion
    choices = body.get("choices")
    first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], Mapping) else {}
    if "message" in first:
        return ChatCompletion
    return Completion if "text" in first else None
