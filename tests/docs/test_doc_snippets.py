"""Every ```python block in README.md and docs/*.md runs, against a real reference server, and passes
``mypy --strict`` (the blocks marked not tested too: a reader copies them as they are).

The blocks of one page run in order in one namespace (a later block may use an earlier block's names),
in a fresh interpreter with LLAMA_AZURE_ENDPOINT / LLAMA_AZURE_API_KEY pointing at the server. The
server has a deployment named "blue" and blocks the word "pineapple", as the pages say.

A block that cannot run here (it needs a real Azure endpoint, an Entra ID identity, ...) is preceded by
a line that readers see too, with the reason:

    *Not tested: needs a Microsoft Entra ID identity.*
    ```python
    ...
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<info>[\w+-]*)")
NOT_TESTED = re.compile(r"^\*Not tested: (?P<reason>.*)\*\s*$")
PYTHON = {"python", "py", "python3"}
SERVER_ARGS = ["--deployment", "blue", "--blocklist", "pineapple"]
# Pages written elsewhere whose blocks are not yet runnable nor marked; each entry says why. They still
# run: once fixed they XPASS (shown by -ra), and the entry should go.
NOT_YET_MARKED: dict[str, str] = {}  # page -> why its blocks cannot run yet (xfail until fixed)
CODE_WIDTH = 84  # characters of a code block the site shows without cutting, beside both sidebars

RUNNER = """
import json, sys
ns = {"__name__": "__main__"}
for block in json.load(open(sys.argv[1], encoding="utf-8")):
    print(f"--- {block['where']}", flush=True)
    exec(compile("\\n" * block["line"] + block["source"], block["path"], "exec"), ns)
"""


@dataclass(frozen=True)
class Block:
    path: str
    line: int  # the 1-based line of the opening fence; code starts on the next line
    source: str
    skip_reason: str | None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def extract_blocks(text: str, path: str) -> Iterator[Block]:
    """The python code blocks of a Markdown text, with the reason when one is marked not tested."""
    lines = text.splitlines()
    i = 0
    previous = ""  # the last non-blank line outside a code block
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        fence, info, start = match["fence"], match["info"].lower(), i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        if info in PYTHON:
            marker = NOT_TESTED.match(previous)
            reason = marker["reason"].strip() if marker else None
            if marker and not reason:
                raise ValueError(f"{path}:{start + 1}: a 'Not tested' marker needs a reason")
            yield Block(path, start + 1, "\n".join(body) + "\n", reason)
        previous = ""


def page_blocks(page: Path) -> list[Block]:
    return list(extract_blocks(page.read_text(encoding="utf-8"), str(page.relative_to(ROOT))))


def test_extractor_marks_only_the_next_block() -> None:
    text = "Intro\n\n*Not tested: needs Azure.*\n\n```python\nA\n```\n\nText\n\n```python\nB\n```\n```bash\nC\n```\n"
    blocks = list(extract_blocks(text, "x.md"))
    assert [(b.source, b.skip_reason, b.line) for b in blocks] == [("A\n", "needs Azure.", 5), ("B\n", None, 11)]


def test_pages_have_tested_blocks() -> None:
    """Guard against a parser that silently finds nothing."""
    tested = {page.name: [b for b in page_blocks(page) if b.skip_reason is None] for page in PAGES}
    assert tested["README.md"], "README.md has no tested python block"
    assert sum(len(blocks) > 0 for blocks in tested.values()) >= 6, tested.keys()


@pytest.fixture(scope="module")
def docs_server() -> Iterator[object]:
    if importlib.util.find_spec("llama_cpp") is None:  # not importorskip: llama_cpp leaves /dev/null open
        pytest.skip("the doc snippets run against the reference server (server extra)")
    from llama_azure.server.process import ReferenceServer

    with ReferenceServer(api_key="docs-key", args=SERVER_ARGS) as server:
        yield server


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_snippets_run(page: Path, docs_server: object, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    pending = NOT_YET_MARKED.get(str(page.relative_to(ROOT)))
    if pending:
        request.applymarker(pytest.mark.xfail(reason=pending, strict=False))
    blocks = page_blocks(page)
    runnable = [b for b in blocks if b.skip_reason is None]
    if not runnable:
        pytest.skip(f"{page.name}: no python block to run" if not blocks else
                    f"{page.name}: every python block is marked not tested")
    spec = tmp_path / "blocks.json"
    spec.write_text(json.dumps([{"path": str(page), "line": b.line, "where": b.where, "source": b.source}
                                for b in runnable]), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMA_AZURE_")}
    env.update(LLAMA_AZURE_ENDPOINT=docs_server.url, LLAMA_AZURE_API_KEY=docs_server.api_key,  # type: ignore[attr-defined]
               PYTHONUNBUFFERED="1")
    result = subprocess.run([sys.executable, "-c", RUNNER, str(spec)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=110, check=False)
    ran = result.stdout.count("--- ")
    assert result.returncode == 0, (
        f"a python block in {page.name} failed (the last '---' line names it):\n"
        f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    assert ran == len(runnable)


def page_module(page: Path) -> str:
    """The page's python blocks as one module, each block at its own line of the page (so mypy's line numbers
    are the page's), in order: a later block uses an earlier block's names, as when they run."""
    lines = [""] * len(page.read_text(encoding="utf-8").splitlines())
    for block in page_blocks(page):
        for offset, text in enumerate(block.source.splitlines()):
            lines[block.line + offset] = text
    return "\n".join(lines) + "\n"


def module_name(page: Path) -> str:
    return "page_" + re.sub(r"\W", "_", str(page.relative_to(ROOT)))


@pytest.fixture(scope="module")
def mypy_errors(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """``mypy --strict`` run once over every page's blocks: the errors of each page (its module name -> lines)."""
    api = pytest.importorskip("mypy.api")
    folder = tmp_path_factory.mktemp("doc_modules")
    modules = []
    for page in PAGES:
        if page_blocks(page):
            modules.append(folder / f"{module_name(page)}.py")
            modules[-1].write_text(page_module(page), encoding="utf-8")
    cache_plugin = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    cache = cache_plugin.mkdir("mypy-doc-blocks") if cache_plugin is not None else folder / "cache"
    out, err, _ = api.run(["--strict", "--no-error-summary", "--show-error-codes", "--cache-dir", str(cache),
                           *map(str, modules)])
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        if ": error:" in line:
            found.setdefault(Path(line.split(":")[0]).stem, []).append(line)
    assert not err.strip(), err
    return found


@pytest.mark.timeout(600)
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_blocks_pass_mypy_strict(page: Path, mypy_errors: dict[str, list[str]]) -> None:
    where = str(page.relative_to(ROOT))
    errors = [line.replace(f"{module_name(page)}.py", where, 1)
              for line in mypy_errors.get(module_name(page), [])]
    assert not errors, f"{where}: python blocks that mypy --strict refuses:\n" + "\n".join(errors)


def test_the_architecture_diagram_fits_the_page() -> None:
    """The call-path diagram is plain text: a line wider than the page's code column is cut off there."""
    page = ROOT / "docs" / "architecture.md"
    lines = page.read_text(encoding="utf-8").splitlines()
    start = lines.index("## The path of one call")
    fence = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
    end = next(i for i in range(fence + 1, len(lines)) if lines[i].startswith("```"))
    wide = [f"{n + 1}: {len(lines[n])}" for n in range(fence + 1, end) if len(lines[n]) > CODE_WIDTH]
    assert not wide, f"docs/architecture.md lines wider than {CODE_WIDTH} characters: {wide}"


def code_lines(text: str) -> Iterator[tuple[int, str]]:
    """The lines inside the fenced code blocks of a Markdown text (of any language, indented ones too),
    with their 1-based line numbers."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line.lstrip())
        if fence is None:
            fence = match["fence"] if match else None
        elif line.lstrip().startswith(fence) and not line.strip().strip(fence[0]):
            fence = None
        else:
            yield number, line


def test_code_lines_are_found_in_every_kind_of_block() -> None:
    text = "a\n```python\nB\n```\n\n  ```text\n  C\n  ```\n~~~\nD\n~~~\nE\n"
    assert list(code_lines(text)) == [(3, "B"), (7, "  C"), (10, "D")]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_code_lines_fit_the_page(page: Path) -> None:
    """A code line wider than the site's code column is cut at its right edge: wrap it (a Python call over
    several lines, a bash ``\\`` continuation, quoted output wrapped and said to be)."""
    where = str(page.relative_to(ROOT))
    wide = [f"{where}:{number}: {len(line)} characters: {line.strip()[:60]}"
            for number, line in code_lines(page.read_text(encoding="utf-8")) if len(line) > CODE_WIDTH]
    assert not wide, f"code lines wider than {CODE_WIDTH} characters:\n" + "\n".join(wide)
