"""The safe parser: right answers for the grammar, fast refusals for everything else."""

from __future__ import annotations

import builtins
import contextlib
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy
import sympy.parsing.sympy_parser
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sympy.codegen.cfunctions import expm1, log1p

import diffkit as dk
from diffkit import kink_functions, ops, truth
from diffkit.parse import (
    MAX_DEPTH,
    MAX_EXPONENT,
    ParseError,
    free_variable_names,
    parse_expression,
    symbol,
)

x, y, z, a, b, c = (symbol(n) for n in "xyzabc")

# ------------------------------------------------------------------ correctness

VALID: list[tuple[str, Any]] = [
    (
        "exp(x)/sqrt(sin(x)**3+cos(x)**3)",
        sympy.exp(x) / sympy.sqrt(sympy.sin(x) ** 3 + sympy.cos(x) ** 3),
    ),
    ("7*x**2 + 6*x + 3", 7 * x**2 + 6 * x + 3),
    ("x**2 + y**3 - z", x**2 + y**3 - z),
    ("a*b + c", a * b + c),
    ("log1p(x)", log1p(x)),  # not log(1 + x): NumPy must call np.log1p
    ("expm1(x)", expm1(x)),
    ("maximum(x, 0)", kink_functions.maximum(x, 0)),
    ("minimum(x, y)", kink_functions.minimum(x, y)),
    ("relu(x)", kink_functions.relu(x)),
    ("sigmoid(x)", 1 / (1 + sympy.exp(-x))),
    ("softplus(x)", sympy.log(1 + sympy.exp(x))),
    ("-x", -x),
    ("+x", x),
    ("--x", x),
    ("2**-3", sympy.Rational(1, 8)),
    ("pi*x", sympy.pi * x),
    ("e**x", sympy.exp(x)),
    ("atan(x)", sympy.atan(x)),
    ("arctan(x)", sympy.atan(x)),
    ("asin(x) + acos(x)", sympy.asin(x) + sympy.acos(x)),
    ("ln(x)", sympy.log(x)),
    ("max(x, y)", kink_functions.maximum(x, y)),
    ("fabs(x)", sympy.Abs(x)),
    ("expit(x)", 1 / (1 + sympy.exp(-x))),
    ("tanh(x) * sinh(x) / cosh(x)", sympy.tanh(x) * sympy.sinh(x) / sympy.cosh(x)),
    ("x - y - z", x - y - z),
    ("x / y / z", x / (y * z)),
    ("x - (y - z)", x - y + z),
    ("x**y**z", x ** (y**z)),
    ("(x + y)**2", (x + y) ** 2),
    ("sign(x) * abs(x)", sympy.sign(x) * sympy.Abs(x)),
    ("tan(x) + 1/3", sympy.tan(x) + sympy.Rational(1, 3)),
    ("(x +\n y)", x + y),
    ("2.5*x", sympy.Float(2.5) * x),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[t for t, _ in VALID])
def test_valid_text_parses_to_the_hand_built_expression(text: str, expected: Any) -> None:
    result = parse_expression(text)
    assert result == expected or sympy.simplify(result - expected) == 0


def test_chains_of_mixed_signs_match_python_precedence() -> None:
    terms = [x, y, z, a, b, c]
    text = "x - y + z - a - b + c"
    assert parse_expression(text) == terms[0] - terms[1] + terms[2] - terms[3] - terms[4] + terms[5]
    assert parse_expression("x / y * z / a / b * c") == x * z * c / (y * a * b)


def test_symbols_are_real_so_abs_differentiates_to_sign() -> None:
    expr = parse_expression("abs(x)")
    assert sympy.diff(expr, symbol("x")) == sympy.sign(symbol("x"))
    assert all(s.is_real for s in parse_expression("x*y + z").free_symbols)


def test_float_literal_is_the_exact_binary_double() -> None:
    value = parse_expression("0.1")
    assert value == sympy.Float(0.1)
    assert float(value) == 0.1
    assert isinstance(parse_expression("3"), sympy.Integer)


def test_variables_restrict_the_free_names() -> None:
    expr = parse_expression("x*y + sin(y)", variables=["x", "y"])
    assert free_variable_names(expr) == ("x", "y")
    with pytest.raises(ParseError, match=r"unknown variable 'z'.*allowed variables: x, y"):
        parse_expression("x + z", variables=("x", "y"))


def test_variables_must_be_usable_names() -> None:
    with pytest.raises(ParseError, match="'sin' is a function"):
        parse_expression("x", variables=["x", "sin"])
    with pytest.raises(ParseError, match="not an identifier"):
        parse_expression("x", variables=["x y"])
    with pytest.raises(TypeError):
        parse_expression("x", variables="xy")


def test_free_variable_names_are_sorted() -> None:
    assert free_variable_names(parse_expression("z + a*y + pi")) == ("a", "y", "z")


def test_parse_error_is_a_value_error() -> None:
    assert issubclass(ParseError, ValueError)
    with pytest.raises(ValueError, match="unknown function"):
        parse_expression("foo(x)")


def test_non_str_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="str"):
        parse_expression(b"x")  # type: ignore[arg-type]


def test_long_sum_within_limits_parses_quickly() -> None:
    start = time.perf_counter()
    assert parse_expression("+".join(["x"] * 1000)) == 1000 * x
    distinct = parse_expression("+".join(f"x{i}" for i in range(500)))
    assert len(distinct.args) == 500
    assert time.perf_counter() - start < 1.0


def test_nesting_up_to_the_limit_is_accepted() -> None:
    depth = MAX_DEPTH - 2
    expr = parse_expression("sin(" * depth + "x" + ")" * depth)
    for _ in range(depth):
        assert isinstance(expr, sympy.sin)
        expr = expr.args[0]
    assert expr == x


def test_exponent_at_the_limit_is_accepted() -> None:
    assert parse_expression(f"x**{MAX_EXPONENT}") == x**MAX_EXPONENT
    assert parse_expression("2**1000") == sympy.Integer(2) ** 1000


def test_exp_of_a_huge_constant_is_refused_like_a_huge_exponent() -> None:
    """exp(p) is e**p: a constant p beyond MAX_EXPONENT is refused, also inside a finite row."""
    for text in ("logaddexp(10**300, 0)", "softplus(2**1000)", "sigmoid(-10**300)"):
        with pytest.raises(ParseError, match=r"exp of a constant .* exponent limit"):
            parse_expression(text)
    assert parse_expression(f"softplus({MAX_EXPONENT})") == sympy.log(1 + sympy.exp(MAX_EXPONENT))
    assert parse_expression("logaddexp(1e300, 0)") == sympy.Float(1e300)  # a float: evaluated


def test_constant_comparisons_too_close_to_decide_stay_exact_and_unevaluated() -> None:
    """Min/Max/Abs/sign of constants 1e-434 apart: exact, unevaluated, fast, and usable."""
    near = sympy.log(1 + sympy.exp(1000))  # 1000 + 5e-435
    cases = {
        "minimum(logaddexp(1000, 0), 1000)": kink_functions.minimum(near, 1000, evaluate=False),
        "maximum(log(4), 2*log(2))": kink_functions.maximum(
            sympy.log(4), 2 * sympy.log(2), evaluate=False
        ),
        "sign(logaddexp(1000, 0) - 1000)": sympy.sign(near - 1000, evaluate=False),
        "abs(logaddexp(1000, 0) - 1000)": sympy.Abs(near - 1000, evaluate=False),
    }
    for text, expected in cases.items():
        start = time.perf_counter()
        assert parse_expression(text) == expected, text
        assert time.perf_counter() - start < 0.5, text
    f = dk.Function.from_string("x*minimum(logaddexp(1000, 0), 1000) + x**2")
    assert sympy.diff(f.expr, x) == kink_functions.minimum(near, 1000) + 2 * x
    assert truth.derivative(f, 1.0) == 1002.0
    assert truth.value(f, 2.0) == 2004.0
    assert dk.Symbolic().derivative(f, 1.0) == pytest.approx(1002.0, rel=1e-15)


def test_constant_comparisons_that_15_digits_decide_still_evaluate() -> None:
    assert parse_expression("minimum(pi, 3)") == 3
    assert parse_expression("abs(pi - 3)") == sympy.pi - 3
    assert parse_expression("sign(e - 3)") == -1
    assert parse_expression("relu(pi - 4)") == 0
    assert parse_expression("maximum(sqrt(2), 2**(1/2))") == sympy.sqrt(2)  # one argument
    assert parse_expression("maximum(x, 1) + minimum(2, sqrt(3))") == kink_functions.maximum(
        x, 1
    ) + sympy.sqrt(3)


# ------------------------------------------------------------- error messages


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("x.__class__", r"attribute access.*'\.__class__'.*'x\.__class__'.*column 1"),
        ("1 + x.real", r"attribute.*real.*column 5"),
        ("foo(x)", r"unknown function 'foo'.*known functions: .*sin"),
        ("pow(x, 2)", r"unknown function 'pow' \(it is an operator"),
        ("sin(x, y)", r"sin takes 1 argument, got 2"),
        ("maximum(x)", r"maximum takes 2 arguments, got 1"),
        ("x ^ 2", r"'\^'.*write '\*\*'"),
        ("sin(x=1)", r"keyword argument"),
        ("_x + 1", r"starting with '_'.*'_x'"),
        ("x + * 2", r"invalid syntax at line 1, column 5"),
        ("x +", r"invalid syntax at the end of line 1"),
        ("sin + 1", r"sin is a function; call it"),
        ("x < 1", r"comparison is not allowed: 'x < 1'"),
        ("1/0", r"not finite"),
        ("sqrt(-1)", r"not a real number"),
        ("x**99999999", rf"exponent .* exceeds the limit {MAX_EXPONENT}"),
        ("", r"empty expression"),
    ],
)
def test_error_messages_name_the_offending_piece(text: str, pattern: str) -> None:
    with pytest.raises(ParseError, match=pattern):
        parse_expression(text)


def test_error_carries_position_and_piece() -> None:
    with pytest.raises(ParseError) as info:
        parse_expression("x + y.z")
    assert (info.value.line, info.value.column, info.value.piece) == (1, 5, "y.z")


# ------------------------------------------------------------------ hostile text

SENTINEL = "{sentinel}"

HOSTILE: list[str] = [
    f"__import__('os').system('touch {SENTINEL}')",
    "__import__('os')",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__.__mro__",
    "eval('1')",
    f"exec(\"open('{SENTINEL}', 'w')\")",
    f"open('{SENTINEL}', 'w').write('pwned')",
    "open('/etc/passwd').read()",
    "getattr(x, 'real')",
    "globals()",
    "breakpoint()",
    "lambda: 1",
    "[x for x in ()]",
    "(x for x in ())",
    "x if x else y",
    "x.real",
    "x[0]",
    "sin(x=1)",
    "sin(*a)",
    "(x := 1)",
    "f'{x}'",
    "'abc'",
    "b'abc'",
    "1j",
    "True",
    "None",
    "...",
    "x < 1",
    "x and y",
    "not x",
    "~x",
    "x ^ 2",
    "x // 2",
    "x % 2",
    "x @ y",
    "[1, 2]",
    "{}",
    "x, y",
    "sin(x, y)",
    "foo(x)",
    "sin(x)(y)",
    "_x",
    "__builtins__",
    "x; y",
    "import os",
    "",
    "   ",
    "\x00",
    "x\x00",
    "a" * 1000,
    "9**9**9**9",
    "10**10**10",
    "2**100000",
    "1" * 10_000,
    "0x" + "f" * 5000,
    "x**99999999",
    "+".join(["x"] * 10_000),
    "-" * 100_000 + "x",
    "**".join(["x"] * 3000),
    "(" * 500 + "x" + ")" * 500,
    "sin(" * 500 + "x" + ")" * 500,
    "(" * 100_000,
    "x" * 1_000_000,
    "1/0",
    "log(0)",
    "1e999",
    "exp(exp(exp(100)))",
    "maximum(exp(exp(exp(100))), 1)",
    "exp(10**6*log(10))",
    "exp(x + 10**300*log(1 + 1/10**300))",
    "(10**300*x)**1000",
    "x*10**300*10**300",
    "sqrt(10**300)**1000",
]


def test_a_deep_nest_of_maximum_parses_fast() -> None:
    """diffkit's maximum is binary (SymPy's Max flattened a nest and compared every pair)."""
    text = "maximum(x0, " * 30 + "x30" + ")" * 30
    start = time.perf_counter()
    expr = parse_expression(text)
    assert time.perf_counter() - start < 1.0
    assert isinstance(expr, kink_functions.maximum)


@contextlib.contextmanager
def forbid_dynamic_evaluation() -> Iterator[None]:
    """Make every string-evaluating entry point fail loudly inside the block."""

    def forbidden(name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError(f"{name} was called")

        return call

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(builtins, "eval", forbidden("eval"))
        patch.setattr(builtins, "exec", forbidden("exec"))
        patch.setattr(sympy, "sympify", forbidden("sympy.sympify"))
        patch.setattr(sympy.parsing.sympy_parser, "parse_expr", forbidden("parse_expr"))
        yield


@pytest.mark.parametrize(
    "template", HOSTILE, ids=[f"{i:02d}-{t[:30]!r}" for i, t in enumerate(HOSTILE)]
)
def test_hostile_text_is_refused_fast_and_runs_nothing(template: str, tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    text = template.replace(SENTINEL, str(sentinel))
    start = time.perf_counter()
    with forbid_dynamic_evaluation(), pytest.raises(ParseError):
        parse_expression(text)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    assert not sentinel.exists()


def test_valid_text_needs_no_dynamic_evaluation() -> None:
    with forbid_dynamic_evaluation():
        for text, _ in VALID:
            assert parse_expression(text) is not None, text


# --------------------------------------------------------- round trip property

LEAF_INTS = st.integers(min_value=1, max_value=3)
FUNCTION_ROWS = sorted(
    {ops.get(n).name: ops.get(n) for n in ops.function_names()}.values(), key=lambda r: r.name
)
OPERATORS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}


def _trees() -> st.SearchStrategy[tuple[Any, ...]]:
    leaves = st.one_of(st.just(("x",)), LEAF_INTS.map(lambda k: ("int", k)))

    def extend(children: st.SearchStrategy[tuple[Any, ...]]) -> st.SearchStrategy[tuple[Any, ...]]:
        binary = st.tuples(st.just("op"), st.sampled_from(sorted(OPERATORS)), children, children)
        negation = st.tuples(st.just("neg"), children)

        @st.composite
        def call(draw: st.DrawFn) -> tuple[Any, ...]:
            row = draw(st.sampled_from(FUNCTION_ROWS))
            name = draw(st.sampled_from((row.name, *row.aliases)))
            args = tuple(draw(children) for _ in range(row.arity))
            return ("call", name, args)

        return st.one_of(binary, negation, call())

    return st.recursive(leaves, extend, max_leaves=6)


def _print(tree: tuple[Any, ...]) -> str:
    kind = tree[0]
    if kind == "x":
        return "x"
    if kind == "int":
        return str(tree[1])
    if kind == "neg":
        return f"(-{_print(tree[1])})"
    if kind == "op":
        return f"({_print(tree[2])} {tree[1]} {_print(tree[3])})"
    return f"{tree[1]}({', '.join(_print(arg) for arg in tree[2])})"


def _evaluate(tree: tuple[Any, ...], value: float, scale: list[float]) -> float:
    """The tree at ``x = value`` through the rows' NumPy column; records the largest |value|."""
    kind = tree[0]
    if kind == "x":
        result = np.float64(value)
    elif kind == "int":
        result = np.float64(tree[1])
    elif kind == "neg":
        result = ops.get("negative").numpy(_evaluate(tree[1], value, scale))
    elif kind == "op":
        left, right = (_evaluate(t, value, scale) for t in tree[2:])
        result = ops.get(OPERATORS[tree[1]]).numpy(left, right)
    else:
        result = ops.get(tree[1]).numpy(*(_evaluate(t, value, scale) for t in tree[2]))
    scale[0] = max(scale[0], abs(float(result)) if np.isfinite(result) else 0.0)
    return float(result)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(_trees())
def test_printed_trees_parse_back_to_the_same_function(tree: tuple[Any, ...]) -> None:
    text = _print(tree)
    try:
        expr = parse_expression(text)
    except ParseError as exc:
        # Only a constant subtree that is not a finite real number may be refused.
        assume(not any(k in str(exc) for k in ("not finite", "not a real", "float64 range")))
        raise
    for point in (-0.83, 0.37, 1.21):
        scale = [1.0]
        with np.errstate(all="ignore"):
            direct = _evaluate(tree, point, scale)
        try:
            parsed = complex(expr.evalf(30, subs={x: sympy.Float(point, 30)}))
        except (TypeError, ValueError):  # complex inside Max/Min: not a real point
            continue
        if not (math.isfinite(direct) and np.isfinite(parsed)) or abs(parsed.imag) > 1e-12:
            continue
        # Double rounding in the direct evaluation is bounded by eps times the
        # largest intermediate magnitude (cancellation), plus a relative part.
        tolerance = 1e-9 * abs(parsed.real) + 1e-12 * scale[0]
        assert abs(direct - parsed.real) <= tolerance, (text, point, direct, parsed)
