"""The API reference as a reader sees it: the site built with ``mkdocs build --strict``, read back from its
HTML. Doctests render as code, the clients' constructor parameters each have a row, nothing private shows,
and every field of every documented model, TypedDict and dataclass is listed with its type."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel
from typing_extensions import is_typeddict

from llama_azure._base_client import BaseClient

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = re.findall(r"^::: (\S+)", (ROOT / "docs" / "api.md").read_text(encoding="utf-8"), re.M)

if importlib.util.find_spec("mkdocs") is None:
    pytest.skip("the API reference is built by mkdocs (dev extra)", allow_module_level=True)


@pytest.fixture(scope="module")
def api_page(tmp_path_factory: pytest.TempPathFactory) -> str:
    site = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(site)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    return (site / "api" / "index.html").read_text(encoding="utf-8")


def section(page: str, name: str) -> str:
    """The HTML of one documented object: from its heading to the next object's (or chapter's) heading."""
    start = page.index(f'id="{name}"')
    ends = [at for at in (page.find("<h3 id=", start + 1), page.find("<h2 id=", start + 1)) if at != -1]
    return page[start:min(ends, default=len(page))]


@pytest.mark.parametrize("name", ["llama_azure.LlamaClient", "llama_azure.AsyncLlamaClient",
                                  "llama_azure.pydantic_function_tool", "llama_azure.CredentialError",
                                  "llama_azure.scope_for_endpoint"])
def test_doctests_render_as_code(api_page: str, name: str) -> None:
    html = section(api_page, name)
    assert '<span class="gp">&gt;&gt;&gt; </span>' in html  # a highlighted pycon prompt, not a nested quote
    assert "<blockquote" not in html


def test_nothing_private_shows(api_page: str) -> None:
    assert "_shared" not in api_page
    for stream in ("llama_azure.Stream", "llama_azure.AsyncStream"):
        html = section(api_page, stream)
        assert "chunk_type" not in html and "on_usage" not in html and "_StreamBase" not in html


@pytest.mark.parametrize("client", ["llama_azure.LlamaClient", "llama_azure.AsyncLlamaClient"])
def test_each_constructor_parameter_has_a_row(api_page: str, client: str) -> None:
    html = section(api_page, client)
    table = html[html.index("Parameters:"):]
    public = [name for name in inspect.signature(BaseClient.__init__).parameters
              if name != "self" and not name.startswith("_")]
    missing = [name for name in public if not re.search(rf"<td>\s*<code>{name}</code>\s*</td>\s*<td>\s*<code>", table)]
    assert not missing, f"{client}: no Parameters row (name, type, description) for {missing}"


def fields_of(target: object) -> list[str]:
    """The public fields a class declares itself (an inherited one is listed in its parent's section)."""
    if is_typeddict(target):
        inherited = {name for base in getattr(target, "__orig_bases__", ()) if is_typeddict(base)
                     for name in base.__annotations__}
        names = [name for name in target.__annotations__ if name not in inherited]
    elif (isinstance(target, type) and issubclass(target, BaseModel)) or dataclasses.is_dataclass(target):
        names = list(vars(target).get("__annotations__", {}))
    else:
        return []
    return [name for name in names if not name.startswith("_")]


def resolve(path: str) -> object:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("name", [name for name in DOCUMENTED if fields_of(resolve(name))])
def test_every_field_is_listed_with_its_type(api_page: str, name: str) -> None:
    html = section(api_page, name)
    missing = [field for field in fields_of(resolve(name))
               if f'title="{name}.{field}"' not in html and f'id="{name}.{field}"' not in html]
    assert not missing, f"{name}: fields missing from the reference: {missing}"
