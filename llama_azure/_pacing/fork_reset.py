"""Per-process state a forked child starts afresh (``os.register_at_fork``), as redis-py's pools do (``_checkpid``).

A fork copies only the thread that called it. The other threads' calls waiting in line, their wakers, a first
request in flight, and a lock one of them held at that moment belong to the parent: in the child they would
wait for answers that never come, or for a lock nobody will release. Each registered object's ``_forked()``
resets them in the child, with a fresh lock; no hook runs before the fork, so none can wait on a held lock.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol


class Forkable(Protocol):
    def _forked(self) -> None:
        """Called in a forked child: drop what belongs to the parent's other threads."""


_registered: weakref.WeakSet[Forkable] = weakref.WeakSet()


def reset_after_fork(obj: Forkable) -> None:
    """Call ``obj._forked()`` in every child forked while ``obj`` is alive."""
    _registered.add(obj)


def _reset_all() -> None:
    for obj in list(_registered):
        obj._forked()


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_reset_all)
