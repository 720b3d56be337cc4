"""Issue 18: weight repacking (llama.cpp's AMX path) is decided from the CPU and the build, and applied at load."""

from __future__ import annotations

import contextlib

import pytest

from llama_azure.server.cpu import amx_flags, built_with_amx, cpu_flags, native_crash_hint, weight_repack
from llama_azure.server.loading import load_llama, self_check, system_info
from llama_azure.server.model_path import bundled_model_path

SAPPHIRE_RAPIDS = frozenset({"avx2", "avx512f", "amx_bf16", "amx_tile", "amx_int8", "fma"})
ZEN4 = frozenset({"avx2", "avx512f", "fma"})
AMX_BUILD = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | REPACK = 1 |"
PLAIN_BUILD = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | REPACK = 1 |"


def test_cpu_flags_are_read_from_cpuinfo() -> None:
    cpuinfo = "processor\t: 0\nflags\t\t: fpu sse2 avx2 amx_tile amx_int8\nbugs\t\t: spectre\n"
    assert cpu_flags(cpuinfo) == {"fpu", "sse2", "avx2", "amx_tile", "amx_int8"}
    assert cpu_flags("no flags here") == frozenset()
    assert amx_flags(cpu_flags(cpuinfo)) == ["amx_int8", "amx_tile"]


def test_a_build_with_amx_kernels_is_told_from_its_system_info() -> None:
    assert built_with_amx(AMX_BUILD)
    assert not built_with_amx(PLAIN_BUILD) and not built_with_amx("AMX_INT8 = 0")


@pytest.mark.parametrize(
    ("choice", "info", "flags", "repack"),
    [
        ("auto", AMX_BUILD, SAPPHIRE_RAPIDS, False),  # the crash this avoids
        ("auto", AMX_BUILD, ZEN4, False),  # an AMX build copied to another CPU: still no AMX kernels
        ("auto", "", SAPPHIRE_RAPIDS, False),  # the build cannot be told on an AMX CPU: stay safe
        ("auto", PLAIN_BUILD, SAPPHIRE_RAPIDS, True),  # built without AMX: repacking is safe, and fast
        ("auto", PLAIN_BUILD, ZEN4, True),
        ("auto", "", ZEN4, True),
        ("on", AMX_BUILD, SAPPHIRE_RAPIDS, True),  # forced: the user asked
        ("off", PLAIN_BUILD, ZEN4, False),
    ],
)
def test_weight_repacking_is_off_only_where_the_amx_kernels_could_run(
    choice: str, info: str, flags: frozenset[str], repack: bool
) -> None:
    decided, why = weight_repack(choice, info, flags)  # type: ignore[arg-type]
    assert decided is repack
    assert why.startswith("weight repacking " + ("on" if repack else "off"))


def test_the_crash_hint_names_the_amx_flags_and_what_to_do() -> None:
    hint = native_crash_hint(SAPPHIRE_RAPIDS)
    assert "amx_bf16, amx_int8, amx_tile" in hint and "--weight-repack" in hint and "docs/server.md" in hint
    assert "amx" not in native_crash_hint(ZEN4)


@pytest.mark.parametrize("repack", ["on", "off"])
def test_the_model_loads_with_and_without_repacked_weights_and_evaluates_a_batch(repack: str) -> None:
    import llama_cpp

    llm, repacked, why = load_llama(llama_cpp, bundled_model_path(), n_ctx=256, n_threads=1, repack=repack)  # type: ignore[arg-type]
    with contextlib.closing(llm):
        assert llm.model_params.use_extra_bufts is (repack == "on") is repacked
        assert why == f"weight repacking {repack} (--weight-repack {repack})"
        assert llama_cpp.llama_model_default_params().use_extra_bufts  # the wrapper was put back
        self_check(llm, llama_cpp)  # a multi-token prompt evaluates to finite logits
        assert "CPU" in system_info(llama_cpp)
