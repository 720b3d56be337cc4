"""Which faults the next request gets (counts and probabilities), and what they do to it together."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from .spec import Fault


class FaultPlan:
    """Which faults apply to the next request; counts are shared by the requests that use this plan."""

    def __init__(self, faults: Sequence[Fault], rng: random.Random | None = None) -> None:
        self.faults = tuple(faults)
        self._used = [0] * len(self.faults)
        self._rng = rng or random.Random()
        self._lock = threading.Lock()

    def pick(self) -> list[Fault]:
        active: list[Fault] = []
        with self._lock:
            for i, fault in enumerate(self.faults):
                if fault.count is not None:
                    if self._used[i] >= fault.count:
                        continue
                    self._used[i] += 1
                elif fault.probability is not None and self._rng.random() >= fault.probability:
                    continue
                active.append(fault)
        return active


@dataclass
class Effects:
    status: str | None = None
    reset_before: bool = False
    reset_mid: int | None = None
    truncate: int | None = None
    stall: float | None = None
    bad_json: int | None = None
    keepalive: bool = False
    dribble: float | None = None
    huge: int | None = None

    @classmethod
    def of(cls, faults: Sequence[Fault]) -> Effects:
        e = cls()
        for f in faults:
            if f.name == "status":
                e.status = f.arg
            elif f.name == "reset-before":
                e.reset_before = True
            elif f.name == "reset-mid":
                e.reset_mid = int(f.number(1))
            elif f.name == "truncate":
                e.truncate = int(f.number(1))
            elif f.name == "stall":
                e.stall = f.number(0)
            elif f.name == "bad-json":
                e.bad_json = int(f.number(2))
            elif f.name == "keepalive":
                e.keepalive = True
            elif f.name == "dribble":
                e.dribble = f.number(0.05)
            elif f.name == "huge":
                e.huge = int(f.number(100_000))
        return e
