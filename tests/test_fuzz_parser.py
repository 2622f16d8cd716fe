"""Fuzzing the safe parser: any text gives an expression or a ParseError, fast, running nothing.

Four kinds of input: arbitrary Unicode text; a soup of the grammar's own tokens mixed
with hostile ones; valid expressions mutated by insertions (punctuation, keywords,
attribute access, long digit runs), deletions and duplications; and deep nests of
brackets, calls and operators. Inside every example ``eval``, ``exec``, SymPy's
``sympify`` and ``parse_expr`` fail loudly, and ``compile`` may only build an AST
(what ``ast.parse`` asks of it), never a code object.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sympy
import sympy.parsing.sympy_parser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diffkit.parse import ParseError, parse_expression

SENTINEL = Path("/tmp/diffkit-fuzz-parser-pwned")  # a hostile text that ran would make it

# Reproducible in CI (fixed examples, no database); every parse must finish within 1 s.
FUZZ = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=1000,
    suppress_health_check=[HealthCheck.too_slow],
)

VALID = (
    "exp(x)/sqrt(sin(x)**3 + cos(x)**3)",
    "7*x**2 + 6*x + 3",
    "maximum(x, y) - minimum(x, 0)",
    "log1p(x) + expm1(-x)",
    "sigmoid(x) * softplus(y) / (1 + tanh(z))",
    "arctan(x) + asin(x/2) - acos(x/3)",
    "logaddexp(x, 2*y) ** 0.5",
    "abs(x) * sign(x) + relu(x - 1)",
    "pi * e ** -x",
    "(x + y) ** 3 / (1 + x**2)",
)

HOSTILE_PIECES = (
    "__import__",
    "__import__('os')",
    f"__import__('os').system('touch {SENTINEL}')",
    f"open('{SENTINEL}', 'w')",
    f"exec(\"open('{SENTINEL}', 'w')\")",
    "eval",
    "exec",
    "compile",
    "lambda",
    "lambda: 0",
    "import os",
    "from os import system",
    ".__class__",
    ".__class__.__bases__[0].__subclasses__()",
    ".real",
    "__builtins__",
    "globals()",
    "getattr",
    "breakpoint()",
    "yield",
    "await ",
    "async ",
    "not ",
    " and ",
    " or ",
    " if x else ",
    " for x in ",
    ":=",
    "...",
    "None",
    "True",
    "1j",
    "f'{x}'",
    "b'x'",
    "'x'",
    '"x"',
    "#",
    "\\\n",
    "\n",
    "\t",
    "\x00",
    "\ufeff",
    "\U0001d465",  # mathematical italic x: Python's parser normalises it to x
    "9" * 500,
    "1" * 401,
    "0x" + "f" * 300,
    "1e999",
    "1e-999",
    "10**10**10",
    "9**9**9",
    "*" * 40,
    "(" * 70,
    ")" * 70,
    "sin(" * 70,
)
PUNCTUATION = "()[]{}.,_'\"\\:;=+-*/%@!~^&|<>"

TOKENS = (
    *("x", "y", "z", "x0", "_x", "pi", "e", "0", "1", "2", "0.5", "3e2", "1e308", "1_000"),
    *("sin", "cos", "exp", "log", "sqrt", "maximum", "minimum", "logaddexp", "sigmoid"),
    *("(", ")", ",", "+", "-", "*", "/", "**", " "),
    *PUNCTUATION,
    *HOSTILE_PIECES,
)


@contextlib.contextmanager
def nothing_runs() -> Iterator[None]:
    """Every entry point that evaluates text fails loudly; compile may only make an AST."""
    real_compile = builtins.compile

    def forbidden(name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError(f"{name} was called")

        return call

    def ast_only(
        source: Any, filename: Any, mode: str, flags: int = 0, *args: Any, **kw: Any
    ) -> Any:
        if not flags & ast.PyCF_ONLY_AST:
            raise AssertionError(f"compile was asked for a code object ({mode!r})")
        return real_compile(source, filename, mode, flags, *args, **kw)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(builtins, "eval", forbidden("eval"))
        patch.setattr(builtins, "exec", forbidden("exec"))
        patch.setattr(builtins, "compile", ast_only)
        patch.setattr(sympy, "sympify", forbidden("sympy.sympify"))
        patch.setattr(sympy.parsing.sympy_parser, "parse_expr", forbidden("parse_expr"))
        yield


def check_text(text: str) -> None:
    """The property: an expression over real symbols, or a ParseError; nothing else, nothing run."""
    with nothing_runs():
        try:
            result = parse_expression(text)
        except ParseError:
            result = None
    if result is not None:
        assert isinstance(result, sympy.Expr), (text, result)
        assert all(s.is_real for s in result.free_symbols), (text, result)
    assert not SENTINEL.exists(), text


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid expression with a few insertions, deletions and duplications."""
    text = draw(st.sampled_from(VALID))
    pieces = st.one_of(st.sampled_from(HOSTILE_PIECES), st.sampled_from(PUNCTUATION))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        kind = draw(st.sampled_from(("insert", "delete", "duplicate")))
        if kind == "insert":
            text = text[:at] + draw(pieces) + text[at:]
        else:
            end = draw(st.integers(min_value=at, max_value=min(len(text), at + 8)))
            text = text[:at] + (text[at:end] * 2 if kind == "duplicate" else "") + text[end:]
    return text


@st.composite
def nested(draw: st.DrawFn) -> str:
    """Deep nests of brackets, calls, unary operators and powers, closed or not."""
    openers = ("(", "[", "{", "sin(", "maximum(x, ", "-", "+", "~", "x**", "2**", "not ", "lambda:")
    closers = {"(": ")", "[": "]", "{": "}", "sin(": ")", "maximum(x, ": ")"}
    chain = draw(st.lists(st.sampled_from(openers), min_size=1, max_size=150))
    closed = draw(st.booleans())
    tail = "".join(closers.get(o, "") for o in reversed(chain)) if closed else ""
    return "".join(chain) + draw(st.sampled_from(("x", "1", "1e308", "", "x)"))) + tail


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text_parses_or_raises_parse_error(text: str) -> None:
    check_text(text)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_token_soup_parses_or_raises_parse_error(text: str) -> None:
    check_text(text)


@FUZZ
@given(mutated())
def test_mutated_expressions_parse_or_raise_parse_error(text: str) -> None:
    check_text(text)


@FUZZ
@given(nested())
def test_deep_nesting_parses_or_raises_parse_error(text: str) -> None:
    check_text(text)


def test_the_guard_itself_catches_evaluation() -> None:
    """nothing_runs would notice: eval, exec, sympify and compiling code all fail inside it."""
    with nothing_runs():
        for attempt in (
            lambda: eval("1"),
            lambda: exec("1"),
            lambda: sympy.sympify("x"),
            lambda: compile("1", "<fuzz>", "eval"),
        ):
            with pytest.raises(AssertionError, match=r"called|code object"):
                attempt()
        assert isinstance(ast.parse("x + 1", mode="eval"), ast.Expression)


def test_valid_seeds_parse_under_the_guard() -> None:
    for text in VALID:
        with nothing_runs():
            assert isinstance(parse_expression(text), sympy.Expr), text


# Found by fuzzing: SymPy evaluates exp of an exact integer by repeated squaring (20 ms for
# exp(10**300)) and decides Min/Max/Abs/sign of constants that differ by ~exp(-10**300)
# by raising its precision again and again, so each of these took 2-4 s, and a sum of n
# of them ~4n s. exp's constant exponent now has the limit of e**p, and comparisons too
# close to decide at 15 digits are built unevaluated.
SLOW_COMPARISONS = (
    "minimum(logaddexp(10**300, 0), 10**300)",
    "abs(logaddexp(10**300, 0) - 10**300)",
    "maximum(logaddexp(2**1000, 0), 2**1000)",
    "sign(softplus(10**300) - 10**300)",
    " + ".join(f"minimum(logaddexp(10**300, {k}), 10**300)" for k in range(6)),
    "minimum(logaddexp(1000, 0), 1000)",
    "abs(logaddexp(1000, 0) - 1000) * x",
    "maximum(x + logaddexp(1000, 0), x + 1000)",
    " + ".join(f"sign(logaddexp(1000, {k}) - 1000)" for k in range(40)),
)


@pytest.mark.parametrize("text", SLOW_COMPARISONS, ids=[t[:40] for t in SLOW_COMPARISONS])
def test_nearly_equal_constants_parse_within_a_second(text: str) -> None:
    start = time.perf_counter()
    with nothing_runs(), contextlib.suppress(ParseError):
        parse_expression(text)
    assert time.perf_counter() - start < 1.0
