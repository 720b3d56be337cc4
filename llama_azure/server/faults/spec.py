"""A fault SPEC (``status:503@2,keepalive``) parsed into :class:`Fault` objects, every argument checked."""

from __future__ import annotations

from dataclasses import dataclass


class FaultSpecError(ValueError):
    """A SPEC that cannot be parsed; the message says which part and why."""


@dataclass(frozen=True)
class Fault:
    name: str
    arg: str | None = None
    count: int | None = None
    probability: float | None = None

    def number(self, default: float) -> float:
        return default if self.arg is None else float(self.arg)


_NAMES = frozenset(
    {"none", "status", "reset-before", "reset-mid", "truncate", "stall", "bad-json", "keepalive", "dribble", "huge"}
)
_STATUS_VARIANTS = frozenset({"429-noheaders", "429-24h"})


def parse_spec(text: str) -> tuple[Fault, ...]:
    """``"status:503@2,keepalive"`` -> two :class:`Fault` objects; raises :class:`FaultSpecError`."""
    faults: list[Fault] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        body, _, when = part.partition("@")
        name, _, arg = body.partition(":")
        name = name.strip().lower()
        if name not in _NAMES:
            raise FaultSpecError(f"unknown fault {name!r} in {part!r}; known: {', '.join(sorted(_NAMES))}")
        count: int | None = None
        probability: float | None = None
        if when:
            try:
                if "." in when:
                    probability = float(when)
                    if not 0 < probability <= 1:
                        raise ValueError
                else:
                    count = int(when)
                    if count < 0:
                        raise ValueError
            except ValueError:
                raise FaultSpecError(f"bad '@{when}' in {part!r}: use @N (first N requests) or @0.5") from None
        fault = Fault(name, arg or None, count, probability)
        _check_arg(fault, part)
        faults.append(fault)
    return tuple(f for f in faults if f.name != "none")


MAX_STALL_S = 300.0
MAX_DRIBBLE_S = 1.0  # between two 16-byte pieces; the whole dribble of one answer stops after MAX_STALL_S
MAX_HUGE_CHARS = 10_000_000
MAX_EVENT_INDEX = 1_000_000

# name -> (number type, lowest, highest, what the argument is); ``status`` is checked on its own.
_RANGES: dict[str, tuple[type[int] | type[float], float, float, str]] = {
    "reset-mid": (int, 0, MAX_EVENT_INDEX, "N events"),
    "truncate": (int, 0, MAX_EVENT_INDEX, "N events"),
    "bad-json": (int, 0, MAX_EVENT_INDEX, "event N"),
    "huge": (int, 0, MAX_HUGE_CHARS, "CHARS characters"),
    "stall": (float, 0, MAX_STALL_S, "SECONDS"),
    "dribble": (float, 0, MAX_DRIBBLE_S, "SECONDS between pieces"),
}


def _check_arg(fault: Fault, part: str) -> None:
    arg = fault.arg
    if fault.name == "status":
        if arg is None or (arg not in _STATUS_VARIANTS and not (arg.isdigit() and 400 <= int(arg) <= 599)):
            raise FaultSpecError(f"bad argument in {part!r}: status takes a code 400..599, 429-noheaders or 429-24h")
        return
    if fault.name in ("none", "reset-before", "keepalive"):
        if arg is not None:
            raise FaultSpecError(f"bad argument in {part!r}: {fault.name} takes no argument")
        return
    kind, low, high, what = _RANGES[fault.name]
    if arg is None:
        if fault.name == "stall":
            raise FaultSpecError(f"missing argument in {part!r}: stall takes SECONDS from 0 to {_shown(high)}")
        return
    try:
        value = kind(arg)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:  # also refuses nan and inf
        raise FaultSpecError(
            f"bad argument in {part!r}: {fault.name} takes {what} from {_shown(low)} to {_shown(high)}"
        )


def _shown(number: float) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)

