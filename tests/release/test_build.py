"""`python -m build` makes a wheel and an sdist that install into a fresh venv and work there.

The fresh venv gets the core dependencies only (no server extra), from whatever package index pip is
configured with; when that index cannot be reached the tests skip and say so.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = re.search(r'__version__ = "([^"]+)"', (ROOT / "llama_azure" / "_version.py").read_text())[1]  # type: ignore[index]
OFFLINE_SIGNS = ("No matching distribution", "Could not find a version", "NewConnectionError",
                 "Max retries exceeded", "Temporary failure in name resolution", "Network is unreachable",
                 "Connection refused", "Read timed out")
SMOKE = """
import importlib.util, pathlib
import llama_azure
from llama_azure import AsyncLlamaClient, LlamaClient, ParameterError
print(llama_azure.__version__)
client = LlamaClient("https://my-llama.eastus2.models.ai.azure.com/chat/completions", "key")
assert client.api == "model-inference", client.api
try:
    client.chat.completions.create(messages=[{"role": "user", "content": "Hi"}], temperature=9)
except ParameterError as error:
    assert error.param == "temperature"
else:
    raise AssertionError("temperature=9 was not refused")
client.close()
assert AsyncLlamaClient("https://my-ep.eastus2.inference.ml.azure.com", "key").api == "score"
assert (pathlib.Path(llama_azure.__file__).parent / "py.typed").is_file()
import llama_azure.cli, llama_azure.server.process  # importable without the server extra
assert importlib.util.find_spec("llama_cpp") is None
print("smoke ok")
"""

pytestmark = pytest.mark.timeout(600)


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path


def run(*cmd: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, check=False)


def pip_install(python: Path, *args: str | Path) -> None:
    result = run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args)
    if result.returncode != 0:
        output = result.stdout + result.stderr
        if any(sign in output for sign in OFFLINE_SIGNS):
            pytest.skip(f"the package index is unreachable, cannot install dependencies: {output.strip()[-300:]}")
        raise AssertionError(f"pip install {args} failed:\n{output[-3000:]}")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    if importlib.util.find_spec("build") is None or importlib.util.find_spec("hatchling") is None:
        pytest.skip("needs the dev extra: `build` and `hatchling` (pip install -e '.[dev]')")
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: use the hatchling installed here instead of fetching one.
    result = run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(out.iterdir())
    return Built(wheels[0], sdists[0])


@pytest.fixture(scope="module")
def venv_python(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    venv = tmp_path_factory.mktemp("venv")
    result = run(sys.executable, "-m", "venv", venv)
    assert result.returncode == 0, result.stderr
    python = venv / "bin" / "python"
    pip_install(python, built.wheel)
    yield python


def test_artifacts_are_named_for_the_version(built: Built) -> None:
    assert built.wheel.name == f"llama_azure-{VERSION}-py3-none-any.whl"
    assert built.sdist.name == f"llama_azure-{VERSION}.tar.gz"


def test_wheel_contents(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read(f"llama_azure-{VERSION}.dist-info/METADATA").decode()
        entry_points = wheel.read(f"llama_azure-{VERSION}.dist-info/entry_points.txt").decode()
    assert "llama_azure/py.typed" in names
    assert {"llama_azure/cli.py", "llama_azure/__main__.py", "llama_azure/server/process.py"} <= names
    assert not any(name.startswith(("tests/", "examples/", "docs/")) for name in names)
    assert f"Version: {VERSION}" in metadata
    assert "Provides-Extra: server" in metadata
    assert "llama-azure = llama_azure.cli:main" in entry_points


def test_wheel_installs_and_works_without_the_server_extra(venv_python: Path, tmp_path: Path) -> None:
    result = subprocess.run([str(venv_python), "-c", SMOKE], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [VERSION, "smoke ok"]


def test_installed_command(venv_python: Path, tmp_path: Path) -> None:
    command = venv_python.parent / "llama-azure"
    version = run(command, "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"llama-azure {VERSION}"
    failed = run(command, "info", "--endpoint", "http://127.0.0.1:9", "--api-key", "k", "--max-retries", "0")
    assert failed.returncode == 1
    assert failed.stderr.startswith("llama-azure: error: APIConnectionError:") and "Traceback" not in failed.stderr
    no_extra = run(command, "chat", "--local", "Hi", timeout=100)
    assert no_extra.returncode == 1
    assert "server extra" in no_extra.stderr and "Traceback" not in no_extra.stderr


def test_sdist_installs_too(built: Built, venv_python: Path, tmp_path: Path) -> None:
    pip_install(venv_python, "--no-deps", "--force-reinstall", built.sdist)
    result = subprocess.run([str(venv_python), "-c", SMOKE], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [VERSION, "smoke ok"]
