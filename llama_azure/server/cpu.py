"""What the CPU advertises, and what llama.cpp does with it: the AMX crash and how to stay clear of it.

llama.cpp built natively on a CPU with AMX (``amx_tile``, ``amx_int8``, ...) multiplies a batch of tokens with
AMX tile instructions that crash its worker threads (a general protection fault at ``ldtilecfg``; llama.cpp issue
20824). The AMX kernels run only on weights loaded into llama.cpp's extra ("repacked") buffer types, so loading
without them (``use_extra_bufts = false``, llama.cpp's ``--no-repack``) avoids the crash whatever the build.

Only the standard library is imported here: :mod:`.process` uses it on the client side.
"""

from __future__ import annotations

import re
from typing import Literal

RepackChoice = Literal["auto", "on", "off"]
DOCS = "docs/server.md, 'CPUs with AMX and native crashes'"
# What a CPU build of llama.cpp with AMX kernels reports in llama_print_system_info().
_AMX_BUILD = re.compile(r"\bAMX_INT8\s*=\s*1\b")


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The CPU's feature flags as Linux lists them in /proc/cpuinfo (empty elsewhere)."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as file:
                cpuinfo = file.read()
        except OSError:
            return frozenset()
    match = re.search(r"^flags\s*:\s*(.*)$", cpuinfo, re.MULTILINE)
    return frozenset(match.group(1).split()) if match else frozenset()


def amx_flags(flags: frozenset[str] | None = None) -> list[str]:
    """The AMX flags the CPU advertises (``amx_tile``, ``amx_int8``, ...), sorted."""
    return sorted(flag for flag in (cpu_flags() if flags is None else flags) if flag.startswith("amx"))


def native_crash_hint(flags: frozenset[str] | None = None) -> str:
    """What to do after llama.cpp crashed the server: the AMX advice on CPUs that advertise AMX."""
    amx = amx_flags(flags)
    if amx:
        return (
            f"This is a native crash inside llama.cpp. This CPU advertises {', '.join(amx)}: llama.cpp's AMX path "
            "crashes on such CPUs. The server turns it off by itself (--weight-repack auto); if you forced "
            f"--weight-repack on, drop it, or reinstall llama-cpp-python built without AMX (see {DOCS})."
        )
    return f"This is a native crash inside llama.cpp (see {DOCS})."


def built_with_amx(system_info: str) -> bool:
    """Whether llama.cpp's system info (``llama_print_system_info()``) shows AMX kernels compiled in."""
    return bool(_AMX_BUILD.search(system_info))


def weight_repack(choice: RepackChoice, system_info: str, flags: frozenset[str] | None = None) -> tuple[bool, str]:
    """Whether to load weights into llama.cpp's extra (repacked) buffer types, and why.

    ``auto`` turns them off where the AMX kernels could run: a llama.cpp built with AMX, or an AMX CPU whose
    build cannot be told. Elsewhere repacking stays on: it is what makes quantized matrix products fast.
    """
    if choice == "on":
        return True, "weight repacking on (--weight-repack on)"
    if choice == "off":
        return False, "weight repacking off (--weight-repack off)"
    if built_with_amx(system_info):
        return False, (
            "weight repacking off: this llama.cpp is built with AMX kernels (AMX_INT8 = 1), which crash on "
            f"AMX CPUs (llama.cpp issue 20824); see {DOCS}"
        )
    amx = amx_flags(flags)
    if amx and not system_info.strip():
        return False, f"weight repacking off: this CPU advertises {', '.join(amx)} and llama.cpp's build is unknown"
    return True, "weight repacking on"
