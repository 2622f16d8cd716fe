"""The README's Python blocks, run top to bottom in one namespace, and the values they print.

A line such as ``fd.derivative(f, 5.0)  # 76.00069999995185`` is checked: the
expression's value must round to the number as the comment prints it (half a unit
of its last digit). Comments that start with anything but a Python literal (alone, or
followed by a parenthesis or a colon) are prose and are not checked. The README is
our own text: running it is what this test is for. Blocks that need an optional peer (torch, jax) run only
where it is installed.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import re
import tokenize
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
PEERS = {"torch": 'backend("torch")', "jax": 'backend("jax")'}


def python_blocks() -> list[tuple[int, str]]:
    """(first line number, source) of every ```python block, in order."""
    text = README.read_text()
    return [
        (text[: m.start()].count("\n") + 2, m.group(1))
        for m in re.finditer(r"```python\n(.*?)```", text, flags=re.DOTALL)
    ]


def literal_prefix(comment: str) -> tuple[Any, list[str]] | None:
    """The longest leading Python literal of a comment, and its number tokens as written."""
    for end in range(len(comment), 0, -1):
        head, rest = comment[:end].strip(), comment[end:].strip()
        if rest and not rest.startswith(("(", ":", ";")):
            continue  # "2 coordinates: ..." is prose that starts with a number
        try:
            value = ast.literal_eval(head)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(value, (int, float, tuple, list, str)) and head[0] in "-0123456789([\"'":
            words = tokenize.generate_tokens(io.StringIO(head).readline)
            numbers = [t.string for t in words if t.type == tokenize.NUMBER]
            return value, numbers
    return None


def flat(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)):
        return [item for part in value for item in flat(part)]
    if hasattr(value, "__array__"):  # NumPy arrays, pandas' arrays and Series
        return [v.item() if hasattr(v, "item") else v for v in np.asarray(value).reshape(-1)]
    return [value.item() if isinstance(value, np.generic) else value]


def half_unit(number: str) -> float:
    """Half a unit of the last digit the README prints: 1.0e-09 -> 5e-11."""
    mantissa, _, exponent = number.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (-decimals) * 10.0 ** int(exponent or 0)


def check_printed(got: Any, printed: Any, numbers: list[str], where: str) -> None:
    values, wants = flat(got), flat(printed)
    assert len(values) == len(wants), f"{where}: {got!r} is not shaped like {printed!r}"
    tokens = iter(numbers)
    for value, want in zip(values, wants, strict=True):
        if isinstance(want, str):
            assert str(value) == want, f"{where}: {value!r} != {want!r}"
            continue
        written = next(tokens).lstrip("-")
        tolerance = half_unit(written) if "." in written or "e" in written.lower() else 0.5
        assert abs(float(value) - float(want)) <= tolerance * (1 + 1e-12), (
            f"{where}: {value!r} does not print as {want!r}"
        )


def checked_lines(source: str) -> dict[int, tuple[Any, list[str]]]:
    """Line number (in the block) of each expression statement with a literal comment."""
    found = {}
    for row, line in enumerate(source.splitlines(), start=1):
        code, hash_, comment = line.partition("  #")
        if not hash_ or not code.strip():
            continue
        prefix = literal_prefix(comment.lstrip("# "))
        if prefix is not None:
            found[row] = prefix
    return found


def run_block(source: str, start: int, namespace: dict[str, Any]) -> int:
    """Execute the block statement by statement; return how many printed values it checked."""
    tree = ast.parse(source)
    wanted = checked_lines(source)
    checked = 0
    for statement in tree.body:
        where = f"README.md line {start + statement.lineno - 1}"
        if isinstance(statement, ast.Expr) and statement.end_lineno in wanted:
            code = compile(ast.Expression(statement.value), where, "eval")
            printed, numbers = wanted[statement.end_lineno or 0]
            check_printed(eval(code, namespace), printed, numbers, where)
            checked += 1
        else:
            exec(compile(ast.Module([statement], []), where, "exec"), namespace)
    return checked


def test_the_readme_runs_top_to_bottom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the README writes a report into the current folder
    namespace: dict[str, Any] = {}
    checked = skipped = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a warning is not a failure of the README
        for start, source in python_blocks():
            missing = [
                p for p, use in PEERS.items() if use in source and not importlib.util.find_spec(p)
            ]
            if missing:
                skipped += 1
                continue
            checked += run_block(source, start, namespace)
    assert checked >= 8, f"only {checked} printed values checked"
    assert skipped <= 1


def test_the_checker_catches_a_stale_number() -> None:
    namespace: dict[str, Any] = {}
    with pytest.raises(AssertionError, match="does not print as"):
        run_block("1.25 + 1e-2  # 1.25\n", 1, namespace)
    with pytest.raises(AssertionError, match="!="):
        run_block("str(1)  # '2'\n", 1, namespace)
    assert (
        run_block("0.1 + 0.2  # 0.30000000000000004 (binary)\n(1, 2.5)  # (1, 2.5)\n", 1, namespace)
        == 2
    )
