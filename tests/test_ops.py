"""The primitive table against SymPy: every row's NumPy column and derivative rule.

The oracle is SymPy itself: ``row.sympy`` differentiated exactly with ``sympy.diff``
and evaluated with 30-digit ``evalf``. Sample points sit inside each row's natural
domain and away from its kinks; the kink conventions have their own tests.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy
from sympy.codegen.cfunctions import expm1, log1p

import diffkit as dk
from diffkit import ops, truth

GENERAL = (-1.7, -0.3, 0.4, 2.2)
PAIRS = ((0.7, -1.3), (2.5, 0.4), (-3.1, 1.9))

# Points inside each row's natural domain, away from poles and kinks.
SAMPLE_POINTS: dict[str, tuple[tuple[float, ...], ...]] = {
    "add": PAIRS,
    "subtract": PAIRS,
    "multiply": PAIRS,
    "divide": PAIRS,
    "negative": tuple((v,) for v in GENERAL),
    "power": ((0.5, -1.5), (1.3, 0.5), (2.7, 2.0), (3.1, -0.25)),
    "sin": tuple((v,) for v in GENERAL),
    "cos": tuple((v,) for v in GENERAL),
    "tan": ((-1.1,), (-0.3,), (0.4,), (1.4,)),
    "exp": tuple((v,) for v in GENERAL),
    "log": ((0.3,), (1.7,), (10.0,)),
    "log1p": ((-0.5,), (0.3,), (4.0,)),
    "expm1": ((-1.7,), (-1e-3,), (0.4,), (2.2,)),
    "sqrt": ((0.3,), (1.7,), (10.0,)),
    "abs": tuple((v,) for v in GENERAL),
    "sign": tuple((v,) for v in GENERAL),
    "tanh": tuple((v,) for v in GENERAL),
    "sinh": tuple((v,) for v in GENERAL),
    "cosh": tuple((v,) for v in GENERAL),
    "arctan": tuple((v,) for v in GENERAL),
    "arcsin": ((-0.9,), (-0.2,), (0.5,), (0.85,)),
    "arccos": ((-0.9,), (-0.2,), (0.5,), (0.85,)),
    "sigmoid": tuple((v,) for v in GENERAL),
    "softplus": tuple((v,) for v in GENERAL),
    "relu": tuple((v,) for v in GENERAL),
    "maximum": ((0.7, -1.3), (-2.0, 1.5), (3.0, 3.5)),
    "minimum": ((0.7, -1.3), (-2.0, 1.5), (3.0, 3.5)),
    "logaddexp": ((0.7, -1.3), (-2.0, 1.5), (30.0, 3.5)),
    "fmax": ((0.7, -1.3), (-2.0, 1.5), (3.0, 3.5)),
    "fmin": ((0.7, -1.3), (-2.0, 1.5), (3.0, 3.5)),
    "square": tuple((v,) for v in GENERAL),
    "reciprocal": ((-1.7,), (0.4,), (2.2,)),
    "log2": ((0.3,), (1.7,), (10.0,)),
    "log10": ((0.3,), (1.7,), (10.0,)),
    "exp2": tuple((v,) for v in GENERAL),
    "logaddexp2": ((0.7, -1.3), (-2.0, 1.5), (30.0, 3.5)),
    "arctan2": PAIRS,
    "hypot": PAIRS,
    "arcsinh": tuple((v,) for v in GENERAL),
    "arccosh": ((1.2,), (2.5,), (10.0,)),
    "arctanh": ((-0.9,), (-0.2,), (0.5,)),
    "deg2rad": tuple((v,) for v in GENERAL),
    "rad2deg": tuple((v,) for v in GENERAL),
    "cbrt": tuple((v,) for v in GENERAL),
    "remainder": ((5.3, 2.0), (-5.3, 2.0), (5.3, -2.0), (0.7, 1.9)),
    "floor_divide": ((5.3, 2.0), (-5.3, 2.0), (5.3, -2.0), (0.7, 1.9)),
    "floor": tuple((v,) for v in GENERAL),
    "ceil": tuple((v,) for v in GENERAL),
    "trunc": tuple((v,) for v in GENERAL),
    "rint": tuple((v,) for v in GENERAL),
    "positive": tuple((v,) for v in GENERAL),
    "fmod": ((5.3, 2.0), (-5.3, 2.0), (5.3, -2.0), (0.7, 1.9)),
    "copysign": ((0.7, -1.3), (-2.0, 1.5), (3.0, 3.5)),
    "heaviside": ((0.7, 0.5), (-2.0, 0.5), (3.0, 1.0)),
    "conjugate": tuple((v,) for v in GENERAL),
}

RTOL = 1e-12
ROW_NAMES = sorted(ops.PRIMITIVES)


def _symbols(arity: int) -> tuple[sympy.Symbol, ...]:
    return tuple(sympy.Symbol(f"a{i}", real=True) for i in range(arity))


def _exact(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...], point: tuple[float, ...]) -> float:
    """``expr`` at ``point`` to 30 digits, as a float."""
    subs = {s: sympy.Float(v, 30) for s, v in zip(symbols, point, strict=True)}
    value = complex(expr.evalf(30, subs=subs))
    assert value.imag == 0, f"{expr} is not real at {point}"
    return value.real


def _close(numeric: float, exact: float) -> bool:
    return math.isclose(numeric, exact, rel_tol=RTOL, abs_tol=1e-300)


def test_every_row_has_sample_points() -> None:
    assert set(SAMPLE_POINTS) == set(ops.PRIMITIVES)


@pytest.mark.parametrize("name", ROW_NAMES)
def test_row_is_well_formed(name: str) -> None:
    row = ops.PRIMITIVES[name]
    assert row.name == name
    assert row.name.strip()
    assert row.arity in (1, 2)
    assert row.kind in ("operator", "function")
    assert all(alias and alias != name for alias in row.aliases)


def test_names_and_aliases_are_unique_across_rows() -> None:
    names = [n for row in ops.PRIMITIVES.values() for n in (row.name, *row.aliases)]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", ROW_NAMES)
def test_numpy_column_matches_sympy_column(name: str) -> None:
    row = ops.PRIMITIVES[name]
    symbols = _symbols(row.arity)
    expr = row.sympy(*symbols)
    for point in SAMPLE_POINTS[name]:
        numeric = float(row.numpy(*(np.float64(v) for v in point)))
        exact = _exact(expr, symbols, point)
        assert _close(numeric, exact), f"{name}{point}: numpy {numeric!r}, sympy {exact!r}"


@pytest.mark.parametrize("name", ROW_NAMES)
def test_partials_match_sympy_diff(name: str) -> None:
    row = ops.PRIMITIVES[name]
    symbols = _symbols(row.arity)
    expr = row.sympy(*symbols)
    # step functions (sign, Heaviside) differentiate to 0 by the table's convention
    derivatives = [truth._settle_kinks(sympy.diff(expr, s)) for s in symbols]
    for point in SAMPLE_POINTS[name]:
        args = tuple(np.float64(v) for v in point)
        partials = row.partials(*args, row.numpy(*args))
        assert len(partials) == row.arity
        for i, (rule, derivative) in enumerate(zip(partials, derivatives, strict=True)):
            numeric = float(np.asarray(rule))
            exact = _exact(derivative, symbols, point)
            assert _close(numeric, exact), (
                f"d{name}/d(arg {i}) at {point}: rule {numeric!r}, sympy.diff {exact!r}"
            )


@pytest.mark.parametrize("name", ROW_NAMES)
def test_partials_broadcast_over_arrays(name: str) -> None:
    row = ops.PRIMITIVES[name]
    columns = [np.array(column) for column in zip(*SAMPLE_POINTS[name], strict=True)]
    partials = row.partials(*columns, row.numpy(*columns))
    for i, rule in enumerate(partials):
        elementwise = [
            float(np.asarray(row.partials(*p, row.numpy(*p))[i]))
            for p in zip(*columns, strict=True)
        ]
        np.testing.assert_allclose(np.broadcast_to(rule, columns[0].shape), elementwise, rtol=0)


def test_get_finds_names_and_aliases() -> None:
    assert ops.get("arctan") is ops.get("atan")
    assert ops.get("log") is ops.get("ln")
    assert ops.get("maximum") is ops.get("max")
    assert ops.get("minimum") is ops.get("min")
    assert ops.get("abs") is ops.get("absolute") is ops.get("fabs")
    assert ops.get("sigmoid") is ops.get("expit") is ops.get("logistic")
    assert ops.get("power") is ops.get("pow")
    for row in ops.PRIMITIVES.values():
        for alias in row.aliases:
            assert ops.get(alias) is row


def test_get_error_lists_known_names() -> None:
    with pytest.raises(ops.UnknownPrimitiveError, match=r"'nope' is not a primitive.*known:.*sin"):
        ops.get("nope")
    with pytest.raises(KeyError):
        ops.get("nope")


def test_function_names_are_sorted_callable_rows_only() -> None:
    names = ops.function_names()
    assert list(names) == sorted(names)
    assert {"sin", "atan", "max", "sigmoid"} <= set(names)
    assert not {"add", "subtract", "multiply", "divide", "negative", "power", "pow"} & set(names)


# ---------------------------------------------------------------- kink conventions


@pytest.mark.parametrize("name", ["abs", "relu", "sign"])
def test_kink_derivative_at_zero_is_zero(name: str) -> None:
    row = ops.get(name)
    x = np.float64(0.0)
    (partial,) = row.partials(x, row.numpy(x))
    assert float(partial) == 0.0


def test_sign_derivative_is_zero_everywhere() -> None:
    x = np.array([-3.0, -1e-300, 0.0, 1e-300, 2.0])
    (partial,) = ops.get("sign").partials(x, np.sign(x))
    np.testing.assert_array_equal(partial, np.zeros_like(x))


@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin"])
def test_ties_split_the_gradient_so_maximum_of_x_and_x_has_derivative_one(name: str) -> None:
    row = ops.get(name)
    a = b = np.float64(1.5)
    da, db = row.partials(a, b, row.numpy(a, b))
    assert (float(da), float(db)) == (0.5, 0.5)
    for x in (1.5, np.array([1.5, -2.0])):  # the Python-float path and the array path
        assert np.all(dk.grad(lambda v: np.sum(row.numpy(v, v)))(x) == 1.0)


@pytest.mark.parametrize(("name", "nan_first"), [("fmax", True), ("fmax", False), ("fmin", True)])
def test_fmax_gives_the_gradient_to_the_argument_that_is_not_nan(
    name: str, nan_first: bool
) -> None:
    row = ops.get(name)
    for a in (2.0, np.float64(2.0)):
        args = (math.nan, a) if nan_first else (a, math.nan)
        partials = row.partials(*args, row.numpy(*args))
        assert [float(p) for p in partials] == ([0.0, 1.0] if nan_first else [1.0, 0.0])


def test_power_partial_in_exponent_is_zero_at_zero_base() -> None:
    a, b = np.float64(0.0), np.float64(2.0)
    da, db = ops.get("power").partials(a, b, np.power(a, b))
    assert (float(da), float(db)) == (0.0, 0.0)


# ------------------------------------------------------------ stable formulations


@pytest.mark.parametrize("x", [-1000.0, -745.0, 745.0, 1000.0])
def test_sigmoid_and_softplus_are_finite_for_large_arguments(x: float) -> None:
    # No overflow warning (pytest turns RuntimeWarnings from diffkit into errors).
    value = np.float64(x)
    for name in ("sigmoid", "softplus"):
        row = ops.get(name)
        out = row.numpy(value)
        (partial,) = row.partials(value, out)
        assert np.isfinite(out), name
        assert np.isfinite(partial), name
    sigmoid = float(ops.get("sigmoid").numpy(value))
    softplus = float(ops.get("softplus").numpy(value))
    if x > 0:
        assert sigmoid == 1.0
        assert softplus == x
    else:
        assert sigmoid == pytest.approx(float(mpmath.exp(x)), rel=1e-12, abs=1e-300)
        assert softplus == pytest.approx(float(mpmath.log1p(mpmath.exp(x))), abs=1e-300)


@pytest.mark.parametrize("x", [-40.0, -20.0, 20.0, 40.0])
def test_sigmoid_and_its_derivative_are_relatively_accurate_in_both_tails(x: float) -> None:
    # Guards against 0.5 * (1 + tanh(x/2)) (cancels for x << 0, sigmoid(-40) = 0.0) and
    # against out * (1 - out) as the derivative (cancels for x >> 0).
    row = ops.get("sigmoid")
    with mpmath.workdps(40):
        value = 1 / (1 + mpmath.exp(-mpmath.mpf(x)))
        exact, exact_slope = float(value), float(value * (1 - value))
    out = row.numpy(np.float64(x))
    (slope,) = row.partials(np.float64(x), out)
    assert float(out) == pytest.approx(exact, rel=1e-13, abs=0)
    assert float(slope) == pytest.approx(exact_slope, rel=1e-13, abs=0)


@pytest.mark.parametrize(("name", "exact"), [("log1p", 1e-10 - 5e-21), ("expm1", 1e-10 + 5e-21)])
def test_log1p_and_expm1_keep_their_accuracy_through_an_expression_string(
    name: str, exact: float
) -> None:
    # The SymPy column is log1p/expm1 itself, not log(1 + x) / exp(x) - 1: compiled, those
    # round 1 + 1e-10 (or e^1e-10) and keep 8 digits of 16.
    f = dk.Function.from_string(f"{name}(x)")
    assert f(1e-10) == pytest.approx(exact, rel=1e-15, abs=0)
    assert truth.value(f, 1e-10) == pytest.approx(exact, rel=1e-15, abs=0)
    assert dk.Function.from_string(f"{name}(x) * 2")(1e-12) == pytest.approx(2e-12, rel=1e-11)
    slope = 1 / (1 + 1e-10) if name == "log1p" else 1 + 1e-10 + 5e-21
    assert dk.Symbolic().derivative(f, 1e-10) == pytest.approx(slope, rel=1e-15, abs=0)
    assert truth.derivative(f, 1e-10) == pytest.approx(slope, rel=1e-15, abs=0)


def test_symbolic_tracer_maps_numpy_log1p_and_expm1_onto_their_rows() -> None:
    def f(x: np.ndarray) -> np.ndarray:
        return np.log1p(x) + np.expm1(x)

    traced = f(dk.symbolic.tracer.trace_input(())).data[()]
    assert traced.has(log1p)
    assert traced.has(expm1)
    assert not traced.has(sympy.log, sympy.exp)
    assert dk.Symbolic().derivative(f, 1e-10) == pytest.approx(2.0, rel=1e-15, abs=0)
