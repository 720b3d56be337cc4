"""How the test suite itself is laid out, checked with ``ast``: test modules share code through tests/support/
(or a conftest fixture), never by importing one another, a shared helper is written once, and clean-up is a
context manager or a fixture, never a try/finally written in a test."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).parent
SUPPORT = TESTS / "support"
# Helpers that were once written in several test modules: each has one definition, in tests/support/.
ONCE = ("make_client", "call", "stats")
# Files that are no test module, conftest or helper: a script run as a child process, mypy's inputs.
NOT_IMPORTED = {"sdk/pacing_worker.py", "typing/typed_usage.py", "typing/typed_misuse.py"}


def python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if ".venv" not in p.parts)


def is_test_module(name: str) -> bool:
    return name.rsplit(".", 1)[-1].startswith("test_")


def imported_test_modules(tree: ast.Module) -> list[str]:
    """The test modules an import in ``tree`` names (at any depth, function bodies included)."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if is_test_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if node.module and is_test_module(node.module):
                found.append(module)
            else:  # ``from . import test_other``
                prefix = module if module.endswith(".") else module + "."
                found += [prefix + alias.name for alias in node.names if is_test_module(alias.name)]
    return found


def is_fixture(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any("fixture" in ast.unparse(decorator) for decorator in node.decorator_list)


def module_level_helpers(path: Path) -> list[str]:
    """Functions and classes at the top of ``path`` that are neither tests, fixtures nor pytest hooks."""
    names: list[str] = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if not node.name.startswith(("test_", "pytest_")) and not is_fixture(node):
                names.append(node.name)
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("Test"):
            names.append(node.name)
    return names


def try_finally_lines(tree: ast.Module) -> list[int]:
    """Where ``tree`` has a ``try`` with a ``finally`` (at any depth)."""
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Try) and node.finalbody]


def test_no_test_module_imports_another() -> None:
    offenders = {
        str(path.relative_to(TESTS)): modules
        for path in python_files()
        if (modules := imported_test_modules(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert offenders == {}, "move what they share into tests/support/ or a conftest.py fixture"


def test_the_shared_helpers_are_written_once_in_support() -> None:
    where: defaultdict[str, list[str]] = defaultdict(list)
    for path in python_files():
        for name in module_level_helpers(path):
            where[name].append(str(path.relative_to(TESTS)))
    for name in ONCE:
        assert len(where[name]) == 1 and where[name][0].startswith("support/"), (name, where[name])
    # nothing tests/support/ offers is written again in a test folder
    offered = {name for path in SUPPORT.glob("*.py") for name in module_level_helpers(path)}
    again = {name: places for name in offered if len(places := where[name]) > 1}
    assert again == {}, "import these from tests/support/ instead"


def test_clean_up_is_a_context_manager_or_fixture_not_a_try_finally() -> None:
    """A try/finally outside tests/support/ is clean-up written by hand, again: it belongs in a context manager
    or fixture of tests/support/ (a fixture's code after ``yield`` runs however the test ends). No exceptions."""
    offenders = {
        where: lines for path in python_files()
        if not (where := str(path.relative_to(TESTS))).startswith("support/")
        and (lines := try_finally_lines(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert offenders == {}, "use (or add) a context manager or fixture in tests/support/"


def test_helper_modules_live_in_support() -> None:
    elsewhere = [
        where for path in python_files()
        if not is_test_module(path.stem) and path.name not in ("conftest.py", "__init__.py")
        and (where := str(path.relative_to(TESTS))) not in NOT_IMPORTED and not where.startswith("support/")
    ]
    assert elsewhere == [], "shared helpers go in tests/support/"


def test_the_checks_see_what_they_look_for() -> None:
    """The two checks above would catch the forms they forbid (they are not vacuously green)."""
    tree = ast.parse("from .test_bad_input import recording\nfrom . import test_tracing\nimport sdk.test_chat\n"
                     "def f():\n    from tests.sdk.test_tracing import Telemetry\n")
    assert sorted(imported_test_modules(tree)) == [".test_bad_input", ".test_tracing", "sdk.test_chat",
                                                   "tests.sdk.test_tracing"]
    assert imported_test_modules(ast.parse("from support.shells import call\nimport pytest\n")) == []
    nested = "async def test_x():\n    with y:\n        try:\n            pass\n        finally:\n            pass\n"
    assert try_finally_lines(ast.parse(nested)) == [3]
    assert try_finally_lines(ast.parse("try:\n    pass\nexcept OSError:\n    pass\n")) == []
