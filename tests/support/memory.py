"""The most memory Python code held at once inside a block, measured with ``tracemalloc``."""

from __future__ import annotations

import contextlib
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Peak:
    """Bytes traced at the block's highest point; read after the block."""

    bytes: int = 0


@contextlib.contextmanager
def traced_peak() -> Iterator[Peak]:
    """``with traced_peak() as peak: ...`` then ``peak.bytes``; tracing stops on the way out, failing or not."""
    peak = Peak()
    tracemalloc.start()
    try:
        yield peak
        _, peak.bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
