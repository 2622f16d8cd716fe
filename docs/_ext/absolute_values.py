"""Docstrings write absolute values as ``|x|``; reStructuredText would read a substitution.

diffkit's docstrings are plain text first (``help()``, an editor's tooltip), with
reStructuredText's ``literal`` markup. Bars around a term mean an absolute value or a
norm there (``max |H|``, ``max(|f(point)|, 1)``), while reStructuredText reads
``|name|`` as a substitution reference and fails on it, and diffkit defines no
substitutions. So before autodoc parses a docstring, each bar outside literals,
doctests and literal blocks is escaped, and renders as the bar it is. Any other
markup error still fails the build.
"""

from __future__ import annotations

import re
from typing import Any

from sphinx.application import Sphinx

_LITERAL = re.compile(r"(``.+?``)", re.DOTALL)  # a literal may run over a line break


def _escape_bars(text: str) -> str:
    parts = _LITERAL.split(text)
    # split() with a group keeps the literals at the odd indices: leave those alone.
    return "".join(p if i % 2 else p.replace("|", r"\|") for i, p in enumerate(parts))


def _block_lines(lines: list[str]) -> set[int]:
    """Indices of lines in doctests, literal blocks (after "::"), line blocks and tables."""
    protected: set[int] = set()
    block_indent: int | None = None  # inside a literal block: the indentation of its "::" line
    in_doctest = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if block_indent is not None:
            if not stripped or indent > block_indent:
                protected.add(i)
                continue
            block_indent = None
        if stripped.startswith(">>>"):
            in_doctest = True
        elif not stripped:
            in_doctest = False
        if in_doctest or stripped.startswith("|"):
            protected.add(i)
        if stripped.endswith("::"):
            block_indent = indent
    return protected


def escape_absolute_values(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    protected = _block_lines(lines)
    text = "\n".join("" if i in protected else line for i, line in enumerate(lines))
    escaped = _escape_bars(text).split("\n")  # as many lines: only bars change
    lines[:] = [line if i in protected else escaped[i] for i, line in enumerate(lines)]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("autodoc-process-docstring", escape_absolute_values)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
