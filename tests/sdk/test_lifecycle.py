"""Client and stream lifecycles (anchors complaints 2, 3 and 11), against the real reference server.

- a client per request, closed each time, leaks no sockets (complaint 2);
- an async stream dropped unread inside ``asyncio.run`` and collected after the loop closed raises no
  "Event loop is closed" (complaint 3): nothing is scheduled on a closed loop;
- an async client left unclosed is reported (a ResourceWarning that this suite turns into a failure), and
  a closed one is quiet (complaint 11).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from support.descriptors import collect_what_earlier_tests_left, open_fds

from llama_azure import AsyncLlamaClient, LlamaClient
from llama_azure.server.process import ReferenceServer

ROUNDS = 100
FD_SLACK = 4


def test_a_sync_client_per_request_leaks_no_sockets(server: ReferenceServer) -> None:
    def one() -> None:
        with LlamaClient(server.url, server.api_key, max_retries=0) as client:
            client.get_model_info()

    one()  # warm-up: imports, first allocations
    before = open_fds()
    for _ in range(ROUNDS):
        one()
    assert open_fds() <= before + FD_SLACK


async def test_an_async_client_per_request_leaks_no_sockets(server: ReferenceServer) -> None:
    async def one() -> None:
        async with AsyncLlamaClient(server.url, server.api_key, max_retries=0) as client:
            await client.get_model_info()

    await one()
    before = open_fds()
    for _ in range(ROUNDS):
        await one()
    assert open_fds() <= before + FD_SLACK


def _run_script(tmp_path: Path, server: ReferenceServer, body: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    env = {**os.environ, "URL": server.url, "KEY": server.api_key, "PYTHONDEVMODE": "1"}
    return subprocess.run([sys.executable, "-W", "error", str(script)], env=env, capture_output=True, text=True,
                          timeout=100, check=False)


def test_no_event_loop_is_closed_from_a_stream_dropped_unread(server: ReferenceServer, tmp_path: Path) -> None:
    collect_what_earlier_tests_left()
    result = _run_script(tmp_path, server, """
        import asyncio, gc, os
        from llama_azure import AsyncLlamaClient

        kept = []

        async def main() -> None:
            async with AsyncLlamaClient(os.environ["URL"], os.environ["KEY"]) as client:
                stream = await client.chat.completions.create(
                    messages=[{"role": "user", "content": "Tell a long story."}], max_tokens=32, stream=True)
                kept.append(stream)  # outlives the loop: collected only after asyncio.run returns

        asyncio.run(main())
        kept.clear()
        gc.collect()
        print("done")
    """)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "done" in result.stdout
    assert "Event loop is closed" not in output and "Traceback" not in output, output


def test_an_unclosed_async_client_is_reported_and_a_closed_one_is_quiet(
    server: ReferenceServer, tmp_path: Path
) -> None:
    collect_what_earlier_tests_left()
    template = """
        import asyncio, gc, os, warnings
        from llama_azure import AsyncLlamaClient

        async def main() -> None:
            client = AsyncLlamaClient(os.environ["URL"], os.environ["KEY"])
            await client.get_model_info()
            if os.environ.get("CLOSE") == "1":
                await client.close()
            del client
            gc.collect()

        warnings.simplefilter("always")
        asyncio.run(main())
        gc.collect()
        print("done")
    """
    closed = _run_script(tmp_path, server, template.replace('os.environ.get("CLOSE") == "1"', "True"))
    assert closed.returncode == 0 and "ResourceWarning" not in closed.stderr, closed.stdout + closed.stderr
    leaked = _run_script(tmp_path, server, template.replace('os.environ.get("CLOSE") == "1"', "False"))
    assert "ResourceWarning" in leaked.stderr and "unclosed" in leaked.stderr, leaked.stdout + leaked.stderr
