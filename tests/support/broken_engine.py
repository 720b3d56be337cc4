"""A llama.cpp that cannot evaluate a batch, as on a CPU where its AMX path crashes, simulated in a child process.

``broken_engine_env(tmp_path, how)`` is an environment whose PYTHONPATH holds a ``sitecustomize`` module that
breaks ``llama_cpp.Llama.eval`` for batches of more than one token: ``how="raise"`` raises (a failed decode),
``how="segv"`` kills the process with SIGSEGV (the native crash). A one-token evaluation still works.
"""

from __future__ import annotations

import os
from pathlib import Path

BREAK_BATCHES = """
import os

import llama_cpp

_eval = llama_cpp.Llama.eval


def eval_that_breaks_on_batches(self, tokens):
    if len(tokens) > 1:
        if os.environ["BREAK_HOW"] == "segv":
            os.kill(os.getpid(), 11)
        raise RuntimeError("simulated: llama_decode returned -1 for a batch")
    return _eval(self, tokens)


llama_cpp.Llama.eval = eval_that_breaks_on_batches
"""


def broken_engine_env(tmp_path: Path, how: str) -> dict[str, str]:
    (tmp_path / "sitecustomize.py").write_text(BREAK_BATCHES, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMA_AZURE_")}
    return {**env, "PYTHONPATH": str(tmp_path), "BREAK_HOW": how}
