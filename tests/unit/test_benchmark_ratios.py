"""benchmarks/client_overhead.py: every "vs floor" ratio it prints is the figure divided by the floor figure
printed beside it (the floor measured in the client's own worker), not by the floor's own row."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "client_overhead.py"


@pytest.fixture(scope="module")
def overhead() -> ModuleType:
    spec = importlib.util.spec_from_file_location("client_overhead", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def summary(chunks_per_s: float, us_per_request: float) -> dict[str, float]:
    return {"chunks_per_s": chunks_per_s, "chunks_per_s_median": chunks_per_s,
            "us_per_request": us_per_request, "us_per_request_median": us_per_request}


# The reported run: the sync floor's own row 321 us, llama-azure 367 us, the floor in llama-azure's worker 510 us.
RESULTS: dict[str, dict[str, Any]] = {
    "raw-httpx-sync": summary(380_000, 321),
    "llama-azure-sync": {**summary(215_000, 367), "floor": summary(370_000, 510)},
    "raw-httpx-async": summary(300_000, 584),
    "llama-azure-async": summary(200_000, 560),  # no floor in its worker: the floor's own row
}


def test_the_ratio_is_taken_against_the_floor_it_names(overhead: ModuleType) -> None:
    assert overhead.against_floor(RESULTS, "llama-azure-sync", "us_per_request") == (510, "0.72x")
    assert overhead.against_floor(RESULTS, "llama-azure-sync", "chunks_per_s") == (370_000, "0.58x")
    assert overhead.against_floor(RESULTS, "llama-azure-async", "us_per_request") == (584, "0.96x")
    assert overhead.against_floor(RESULTS, "raw-httpx-sync", "us_per_request") == (321, "1.00x")
    assert overhead.against_floor({"llama-azure-sync": summary(1, 2)}, "llama-azure-sync", "chunks_per_s") == (
        None, "n/a")


def test_every_printed_ratio_is_the_figure_over_the_printed_floor(overhead: ModuleType,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    overhead.print_table(RESULTS)
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(("raw httpx", "llama-azure")) and ": " not in line]
    assert len(rows) == 4
    for row in rows:
        cells = re.findall(r"[\d,.]+x?|n/a", row.split("  ", 1)[1])
        stream, _, stream_floor, stream_ratio, _, request, _, request_floor, request_ratio = cells[:9]
        for value, floor, shown in ((stream, stream_floor, stream_ratio), (request, request_floor, request_ratio)):
            assert shown == f"{float(value.replace(',', '')) / float(floor.replace(',', '')):.2f}x", row
    assert "367 us/request (0.72x the floor's 510, " in out
