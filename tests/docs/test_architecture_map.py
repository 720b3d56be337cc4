"""docs/architecture.md's map of the package stays true: the table of its section "The layers" has a row for
every module of ``llama_azure/``, by its path (a folder's ``__init__.py`` as the folder), and none for a path
that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

import llama_azure

PACKAGE = Path(llama_azure.__file__).parent
PAGE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
# A row of the table: | layer (blank under the first row of a layer) | `path` | its job |
ROW = re.compile(r"^\|[^|]*\| `(?P<path>[\w/]+(?:\.py|/))` \|[^|]+\|", re.MULTILINE)


def _mapped() -> list[str]:
    """The paths the table of "The layers" has rows for."""
    text = PAGE.read_text(encoding="utf-8")
    start = text.index("\n## The layers\n")
    return ROW.findall(text[start:text.index("\n## ", start + 1)])


def _module_names() -> set[str]:
    """Each module's path under llama_azure/; a subpackage's ``__init__.py`` by its folder (``server/``)."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if relative.name == "__init__.py" and relative.parent != Path("."):
            names.add(f"{relative.parent.as_posix()}/")
        else:
            names.add(relative.as_posix())
    return names


def test_the_layers_name_every_module_of_the_package() -> None:
    modules = _module_names()
    assert "_streaming/sse.py" in modules and "server/faults/" in modules  # the walk sees the folders
    missing = sorted(modules - set(_mapped()))
    assert missing == [], f"docs/architecture.md, 'The layers': add a row (layer, path, its one job) for {missing}"


def test_the_layers_name_no_module_that_is_gone_nor_one_twice() -> None:
    mapped = _mapped()
    gone = sorted(set(mapped) - _module_names())
    assert gone == [], f"docs/architecture.md, 'The layers': {gone} no longer exist under llama_azure/"
    assert len(mapped) == len(set(mapped)), sorted(path for path in mapped if mapped.count(path) > 1)
