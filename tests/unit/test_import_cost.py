"""``import llama_azure`` stays light: the heavy parts load at first use (benchmarks/import_time.py has the time)."""

from __future__ import annotations

import json
import subprocess
import sys

import llama_azure

# Loaded at first use only: the credential stack, the server, tracing, the optional stores, the retry
# library (and asyncio, which it brings), the pydantic models with their validators, and pacing.
DEFERRED = (
    "azure.identity", "azure.core", "llama_azure.server", "opentelemetry", "redis", "tqdm",
    "tenacity", "asyncio", "llama_azure.types", "llama_azure._request.params", "llama_azure._request.messages",
    "llama_azure._pacing.rate_limit", "llama_azure._pacing.budget",
)


def _loaded_after(code: str) -> list[str]:
    probe = (f"import sys\n{code}\nimport json\n"
             f"print(json.dumps(sorted(m for m in {list(DEFERRED)!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=60)
    return list(json.loads(out.stdout))


def test_importing_the_package_loads_none_of_the_deferred_modules() -> None:
    assert _loaded_after("import llama_azure") == []


def test_a_client_built_with_a_key_still_loads_neither_azure_core_nor_the_retry_library() -> None:
    loaded = _loaded_after("import llama_azure\n"
                           "llama_azure.LlamaClient(endpoint='http://127.0.0.1:9', credential='k').close()")
    assert "azure.core" not in loaded and "tenacity" not in loaded and "asyncio" not in loaded


def test_a_call_answered_at_once_loads_no_retry_library() -> None:
    """The retry decision (tenacity) is made only after a failed attempt: a call that succeeds costs none of it."""
    answer = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}
    loaded = _loaded_after(
        "import httpx, llama_azure\n"
        f"answer = httpx.Response(200, json={answer!r})\n"
        "http = httpx.Client(transport=httpx.MockTransport(lambda request: answer))\n"
        "client = llama_azure.LlamaClient('https://x.eastus2.models.ai.azure.com', 'k', http_client=http)\n"
        "client.chat.completions.create(messages=[{'role': 'user', 'content': 'Hi'}], max_tokens=2)")
    assert "tenacity" not in loaded


def test_every_public_name_resolves() -> None:
    for name in llama_azure.__all__:
        assert getattr(llama_azure, name) is not None
    assert llama_azure.ChatCompletion.__module__ == "llama_azure.types.chat"
    assert llama_azure.pydantic_function_tool.__module__ == "llama_azure._request.structured"
