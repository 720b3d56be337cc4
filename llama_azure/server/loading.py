"""Load the GGUF model into llama.cpp, and check at start that it can evaluate a batch of tokens.

A llama.cpp that cannot multiply a batch (the AMX crash of :mod:`.cpu`, a broken build) used to load and even
answer a one-token prompt, then fail at the first real request. :func:`self_check` evaluates a short
multi-token prompt before the server says it is ready, so such an engine fails at start, with what to do.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

from .cpu import DOCS, RepackChoice, amx_flags, weight_repack

# Several tokens, so that llama.cpp multiplies a batch (matrix by matrix), as a real prompt does.
SELF_CHECK_PROMPT = b"Check that a batch of tokens evaluates."
_PATCH_LOCK = threading.Lock()


class EngineStartError(RuntimeError):
    """The model could not be loaded or did not pass the start-up self-check; the message says what to do."""


def system_info(llama_cpp: Any) -> str:
    """llama.cpp's ``llama_print_system_info()``: its backends and the CPU features it was built with."""
    try:
        raw = llama_cpp.llama_print_system_info()
    except Exception:  # an older binding without it: the build is then unknown
        return ""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def load_llama(
    llama_cpp: Any, model_path: Path, *, n_ctx: int, n_threads: int, repack: RepackChoice = "auto"
) -> tuple[Any, bool, str]:
    """A ``llama_cpp.Llama`` for ``model_path``, whether its weights were repacked, and a line saying why.

    ``Llama()`` has no argument for ``use_extra_bufts``; it reads ``llama_model_default_params()`` from the
    low-level module when it builds its parameters, so that function is wrapped for the time of the load.
    """
    use_extra_bufts, why = weight_repack(repack, system_info(llama_cpp))
    arguments: dict[str, Any] = {
        "model_path": str(model_path),
        "n_ctx": n_ctx,
        "n_threads": n_threads,
        "n_threads_batch": n_threads,
        "verbose": False,
    }
    if use_extra_bufts:
        return llama_cpp.Llama(**arguments), True, why
    low = llama_cpp.llama_cpp
    if "use_extra_bufts" not in {name for name, _ in low.llama_model_params._fields_}:
        raise EngineStartError(
            f"{why}, but this llama-cpp-python cannot turn it off (no use_extra_bufts): upgrade it, or reinstall "
            f"it built without AMX (see {DOCS})"
        )
    default_params = low.llama_model_default_params

    def params_without_extra_bufts() -> Any:
        params = default_params()
        params.use_extra_bufts = False
        return params

    with _PATCH_LOCK:
        low.llama_model_default_params = params_without_extra_bufts
        try:
            llm = llama_cpp.Llama(**arguments)
        finally:
            low.llama_model_default_params = default_params
    if llm.model_params.use_extra_bufts:  # a llama-cpp-python that builds its parameters another way
        llm.close()
        raise EngineStartError(f"{why}, but this llama-cpp-python did not take it: reinstall it built without "
                               f"AMX (see {DOCS})")
    return llm, False, why


def self_check(llm: Any, llama_cpp: Any) -> None:
    """Evaluate a short multi-token prompt; :class:`EngineStartError` if llama.cpp fails or gives no finite logits.

    A native crash here (SIGSEGV, SIGILL) cannot be caught: the server's ``faulthandler`` prints where it
    happened, and :class:`~llama_azure.server.process.ReferenceServer` reports the signal.
    """
    tokens = llm.tokenize(SELF_CHECK_PROMPT, add_bos=True, special=False)
    try:
        llm.reset()
        llm.eval(tokens)
        # Read from llama.cpp: without logits_all, llama-cpp-python does not copy them into ``llm.scores``.
        row = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        logits = [float(row[i]) for i in range(int(llm.n_vocab()))] if row else []
    except Exception as exc:
        raise EngineStartError(_failure(f"{type(exc).__name__}: {exc}", llama_cpp)) from exc
    finally:
        llm.reset()
    if not logits or not all(math.isfinite(x) for x in logits) or not any(logits):
        raise EngineStartError(_failure("its logits are not finite numbers", llama_cpp))


def _failure(what: str, llama_cpp: Any) -> str:
    amx = amx_flags()
    cpu = f"This CPU advertises {', '.join(amx)}. " if amx else ""
    info = " ".join(system_info(llama_cpp).split())
    return (
        f"the model could not evaluate a {len(SELF_CHECK_PROMPT.split())}-word prompt at start ({what}). {cpu}"
        f"llama.cpp reports: {info or 'no system info'}. Try --weight-repack off, or reinstall llama-cpp-python "
        f"built for a generic x86-64 CPU: CMAKE_ARGS=\"-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON "
        f"-DGGML_F16C=ON\" pip install --force-reinstall --no-cache-dir llama-cpp-python (see {DOCS})"
    )
