"""A griffe extension for the API reference (mkdocs.yml: mkdocstrings' ``extensions``).

- A docstring's doctest (``>>>`` lines and their output) becomes a fenced ``pycon`` code block: left as text,
  Markdown reads its ``>`` prompts as nested quotes, and ``f(x)["a"]["b"]`` as a reference link.
- A parameter whose name starts with ``_`` (the clients' private ``_shared=``) is left out of the signature.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from griffe import Extension, Function, Object, ObjectNode

_PROMPT = re.compile(r"^(?P<indent>[ \t]*)>>>( |$)")


def fence_doctests(text: str) -> str:
    """Each run of doctest lines (from a ``>>>`` line to the next blank line) inside a ```` ```pycon ```` fence."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start = _PROMPT.match(lines[i])
        if start is None:
            out.append(lines[i])
            i += 1
            continue
        indent = start["indent"]
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class ReferenceExtension(Extension):
    def on_instance(self, *, node: ast.AST | ObjectNode, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)

    def on_function_instance(self, *, node: ast.AST | ObjectNode, func: Function, **kwargs: Any) -> None:
        for name in [param.name for param in func.parameters if param.name.startswith("_")]:
            del func.parameters[name]
