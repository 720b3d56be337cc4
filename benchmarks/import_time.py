"""How long ``import llama_azure`` takes next to ``import httpx, pydantic`` (its floor: both are core deps).

Paired runs: each round starts two fresh interpreters, one per import, back to back (in alternating
order), and times the import inside each with ``time.perf_counter``; the ratio printed is the median of
the per-round ratios, so load on the machine moves both sides of a pair together. The goal is <= 1.35.

    .venv/bin/python benchmarks/import_time.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

_TIMED = "import time; t = time.perf_counter(); import {modules}; print(time.perf_counter() - t)"
# Bytecode is written, as pip writes it for an installed package (httpx's and pydantic's are): without it,
# PYTHONDONTWRITEBYTECODE=1 in the environment would time compiling our sources, not importing them.
_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
BASELINE = "httpx, pydantic"
PACKAGE = "llama_azure"


def import_seconds(modules: str) -> float:
    """Seconds ``import <modules>`` takes in a fresh interpreter (its start-up not counted)."""
    out = subprocess.run([sys.executable, "-c", _TIMED.format(modules=modules)], check=True,
                         capture_output=True, text=True, env=_ENV).stdout
    return float(out.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    import_seconds(PACKAGE)  # warm the file cache and write the bytecode
    ratios, ours, floor = [], [], []
    for round_ in range(args.rounds):
        if round_ % 2:
            base = import_seconds(BASELINE)
            mine = import_seconds(PACKAGE)
        else:
            mine = import_seconds(PACKAGE)
            base = import_seconds(BASELINE)
        ours.append(mine)
        floor.append(base)
        ratios.append(mine / base)
    print(f"import {BASELINE}: median {statistics.median(floor) * 1000:.1f} ms")
    print(f"import {PACKAGE}: median {statistics.median(ours) * 1000:.1f} ms")
    print(f"ratio (median of {args.rounds} paired runs): {statistics.median(ratios):.2f}  (goal <= 1.35)")


if __name__ == "__main__":
    main()
