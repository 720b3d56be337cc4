"""A clock the test moves by hand, for code that takes a ``clock: Callable[[], float]``; moved by a thread once
a call waits on it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator


class FakeClock:
    """Reads ``now``; a test advances it with ``clock.now += seconds``."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def moved_once_waiting(clock: FakeClock, waiting: Callable[[], int], seconds: float) -> Iterator[None]:
    """In the block, a thread moves ``clock`` on by ``seconds`` as soon as ``waiting()`` is not 0 (a call waits
    its turn in a budget on this clock): the call waits however slow the machine, then goes without the test
    sleeping. Bounded: after 60 s the clock moves anyway (the test's own assertions then say what went wrong)."""
    from .waiting import wait_until

    def move() -> None:
        try:
            wait_until(lambda: waiting() > 0 or None, timeout=60, what="a call waiting its turn")
        finally:
            clock.now += seconds

    mover = threading.Thread(target=move, daemon=True)
    mover.start()
    try:
        yield
    finally:
        mover.join(60)
