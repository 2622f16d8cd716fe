"""Ground truth: exact derivatives, correctly rounded, with infinities and nan reported honestly."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy

from diffkit import kink_functions, truth
from diffkit.function import Function
from diffkit.parse import symbol
from diffkit.truth import NoExpressionError

x, y, z = symbol("x"), symbol("y"), symbol("z")
x0, x1 = symbol("x0"), symbol("x1")

POINTS = np.array([0.3, -1.7, 2.5, 1e-3])


# --- orders 0..4 against closed forms -----------------------------------------------------


@pytest.mark.parametrize("n", range(5))
def test_derivatives_of_exp_2x_are_2_to_the_n_exp_2x(n: int) -> None:
    f = Function.from_expr(sympy.exp(2 * x))
    np.testing.assert_allclose(
        truth.derivative(f, POINTS, n), 2.0**n * np.exp(2 * POINTS), rtol=1e-15
    )


@pytest.mark.parametrize("n", range(5))
def test_derivatives_of_log(n: int) -> None:
    """(log x)^(n) = (-1)^(n-1) (n-1)! / x^n for n >= 1."""
    f = Function.from_expr(sympy.log(x))
    pts = np.abs(POINTS)
    expected = np.log(pts) if n == 0 else (-1.0) ** (n - 1) * math.factorial(n - 1) / pts**n
    np.testing.assert_allclose(truth.derivative(f, pts, n), expected, rtol=1e-15)


@pytest.mark.parametrize("n", range(5))
def test_derivatives_of_sin_cycle_with_period_4(n: int) -> None:
    f = Function.from_expr(sympy.sin(x))
    cycle = [np.sin, np.cos, lambda t: -np.sin(t), lambda t: -np.cos(t), np.sin]
    np.testing.assert_allclose(truth.derivative(f, POINTS, n), cycle[n](POINTS), rtol=1e-15)


def test_order_zero_is_the_value() -> None:
    f = Function.from_expr(sympy.cosh(x))
    np.testing.assert_array_equal(truth.derivative(f, POINTS, 0), truth.value(f, POINTS))


def test_polynomial_derivatives_are_exact() -> None:
    """Exact rationals give a polynomial's correctly rounded slope: truth matches bit for bit."""
    f = Function.from_expr(x**5 - 3 * x**2 + x / 7)
    for p in (0.1, -2.3, 17.0):
        q = Fraction(p)
        first = 5 * q**4 - 6 * q + Fraction(1, 7)
        second = 20 * q**3 - 6
        assert truth.derivative(f, p, 1) == float(first)
        assert truth.derivative(f, p, 2) == float(second)


# --- gradient, Hessian, Jacobian -------------------------------------------------------------


@pytest.mark.parametrize("point", [(2.0, 3.0, 4.0), (-1.5, 0.1, 2.0)])
def test_gradient_and_hessian_of_x2_plus_y3_minus_z(point: tuple[float, float, float]) -> None:
    f = Function.from_expr(x**2 + y**3 - z)
    px, py, _ = (Fraction(c) for c in point)
    expected_grad = [float(2 * px), float(3 * py**2), -1.0]
    expected_hess = np.diag([2.0, float(6 * py), 0.0])
    np.testing.assert_array_equal(truth.gradient(f, point), expected_grad)
    np.testing.assert_array_equal(truth.hessian(f, point), expected_hess)


@pytest.mark.parametrize("point", [(-1.2, 1.0), (0.3, -0.7), (1.0, 1.0)])
def test_gradient_and_hessian_of_rosenbrock2(point: tuple[float, float]) -> None:
    f = Function.from_expr(100 * (x1 - x0**2) ** 2 + (1 - x0) ** 2, [x0, x1])
    a, b = (Fraction(c) for c in point)
    grad = [-400 * a * (b - a**2) - 2 * (1 - a), 200 * (b - a**2)]
    hess = [[1200 * a**2 - 400 * b + 2, -400 * a], [-400 * a, Fraction(200)]]
    np.testing.assert_array_equal(truth.gradient(f, point), [float(g) for g in grad])
    np.testing.assert_array_equal(
        truth.hessian(f, point), [[float(h) for h in row] for row in hess]
    )


def test_hessian_is_symmetric_with_shape_ndim_by_ndim() -> None:
    f = Function.from_expr(sympy.exp(x * y) * sympy.sin(z))
    h = truth.hessian(f, (0.3, -0.4, 1.1))
    assert h.shape == (3, 3)
    np.testing.assert_array_equal(h, h.T)


def test_jacobian_of_a_small_vector_of_expressions() -> None:
    exprs = [x * y, sympy.sin(x), sympy.exp(y) * x]
    px, py = 0.5, -1.0
    jac = truth.jacobian(exprs, [x, y], (px, py))
    expected = [
        [py, px],
        [math.cos(px), 0.0],
        [math.exp(py), px * math.exp(py)],
    ]
    assert jac.shape == (3, 2)
    np.testing.assert_allclose(jac, expected, rtol=1e-15)


def test_value_of_a_multivariate_function_at_one_point() -> None:
    f = Function.from_expr(x**2 + y**3 - z)
    assert truth.value(f, (2.0, 3.0, 4.0)) == 27.0


# --- infinities, poles and the real domain -----------------------------------------------------


def test_infinite_derivative_of_sqrt_at_zero_is_plus_inf() -> None:
    f = Function.from_expr(sympy.sqrt(x))
    assert truth.derivative(f, 0.0, 1) == math.inf
    assert truth.derivative(f, 0.0, 0) == 0.0


def test_derivative_of_reciprocal_at_its_pole_is_minus_inf() -> None:
    """-1/x^2 is negative on both sides of 0, so the module reports -inf with its sign."""
    f = Function.from_expr(1 / x)
    assert truth.derivative(f, 0.0, 1) == -math.inf
    assert math.isnan(truth.derivative(f, 0.0, 2))  # 2/x^3 changes sign at 0: nan


def test_value_at_a_pole_that_changes_sign_is_nan() -> None:
    assert math.isnan(truth.value(Function.from_expr(1 / x), 0.0))


def test_value_outside_the_real_domain_is_nan() -> None:
    assert math.isnan(truth.value(Function.from_expr(sympy.log(x)), -1.0))
    assert math.isnan(truth.value(Function.from_expr(sympy.sqrt(x)), -1.0))
    assert math.isnan(truth.derivative(Function.from_expr(sympy.sqrt(x)), -1.0, 1))


def test_kink_convention_derivative_is_zero_at_the_tie() -> None:
    """ops.py: abs and relu have derivative 0 at 0; a tie of maximum splits the gradient."""
    pts = np.array([-1.0, 0.0, 2.0])
    relu = Function.from_expr(kink_functions.relu(x))
    np.testing.assert_array_equal(truth.derivative(relu, pts, 1), [0.0, 0.0, 1.0])
    for maximum in (kink_functions.maximum(x, 0), sympy.Max(x, 0)):  # SymPy's Max: the same
        np.testing.assert_array_equal(
            truth.derivative(Function.from_expr(maximum), pts, 1), [0.0, 0.5, 1.0]
        )
    np.testing.assert_array_equal(
        truth.derivative(Function.from_expr(sympy.Abs(x)), pts, 1), [-1.0, 0.0, 1.0]
    )


@pytest.mark.parametrize(
    "expr", [kink_functions.relu(x), sympy.Max(x, 0), sympy.Abs(x)], ids=["relu", "max", "abs"]
)
@pytest.mark.parametrize("n", [2, 3])
def test_higher_derivatives_of_a_kink_follow_the_sign_convention(expr: sympy.Expr, n: int) -> None:
    """ops.py: sign (a kink's slope) has derivative 0 everywhere, so SymPy's DiracDelta is 0."""
    f = Function.from_expr(expr)
    np.testing.assert_array_equal(
        truth.derivative(f, np.array([-1.0, 0.0, 2.0]), n), [0.0, 0.0, 0.0]
    )


def test_sign_of_an_argument_sympy_cannot_prove_real_has_derivative_zero() -> None:
    """SymPy leaves sign(u)' as Derivative(sign(u), x) when u is not provably real; it is 0."""
    text = "sign(1/(sin(x/(sin(x) + 2)) + 2))*x"
    f = Function.from_string(text)
    assert sympy.diff(f.expr, x).has(sympy.Derivative)  # the case this test is about
    np.testing.assert_array_equal(truth.derivative(f, np.array([1.0, -0.5, 3.0])), [1, 1, 1])
    assert truth.derivative(f, 1.0, 2) == 0.0
    assert truth.gradient(Function.from_string(text + " + y"), [1.0, 2.0]).tolist() == [1, 1]


# --- errors ---------------------------------------------------------------------------------------


def test_function_without_expression_has_no_ground_truth() -> None:
    f = Function.from_callable(np.sin, name="plain_sin")
    with pytest.raises(NoExpressionError, match="'plain_sin' has no SymPy expression"):
        truth.derivative(f, 1.0)
    with pytest.raises(NoExpressionError):
        truth.value(f, 1.0)
    g = Function.from_callable(lambda v: v[0] * v[1], ndim=2)
    with pytest.raises(NoExpressionError):
        truth.gradient(g, (1.0, 2.0))
    with pytest.raises(NoExpressionError):
        truth.hessian(g, (1.0, 2.0))


def test_derivative_rejects_multivariate_functions_and_negative_orders() -> None:
    with pytest.raises(ValueError, match="one variable"):
        truth.derivative(Function.from_expr(x * y), (1.0, 2.0))
    with pytest.raises(ValueError, match="n must be >= 0"):
        truth.derivative(Function.from_expr(x), 1.0, -1)


# --- exact rounding and vectorization -------------------------------------------------------------


def _mp_round(fn: object, p: float, digits: int = 80) -> float:
    with mpmath.workdps(digits):
        return float(fn(mpmath.mpf(p)))  # type: ignore[operator]


@pytest.mark.parametrize("p", [1e-8, 1e-7, -2.5e-10])
def test_truth_is_correctly_rounded_where_float_closed_forms_cancel(p: float) -> None:
    """exp(x) - 1 - x near 0: float64 loses most digits, truth matches 80-digit mpmath exactly."""
    f = Function.from_expr(sympy.exp(x) - 1 - x)
    value = _mp_round(lambda t: mpmath.exp(t) - 1 - t, p)
    slope = _mp_round(lambda t: mpmath.expm1(t), p)
    assert truth.value(f, p) == value
    assert truth.derivative(f, p, 1) == slope
    # The case is meaningful: the naive float64 closed forms are far off.
    assert abs((math.exp(p) - 1 - p) - value) > 1e-3 * abs(value)
    assert abs((math.exp(p) - 1) - slope) > 1e-12 * abs(slope)


def test_truth_agrees_with_80_digits_on_a_transcendental_mix() -> None:
    f = Function.from_expr(sympy.exp(x) / sympy.sqrt(sympy.sin(x) ** 3 + sympy.cos(x) ** 3))
    d = sympy.diff(f.expr, x)
    oracle = sympy.lambdify(x, d, modules="mpmath")
    for p in (0.1, 1.5, 2.0):
        assert truth.derivative(f, p, 1) == _mp_round(oracle, p)


def test_vectorized_derivative_keeps_the_shape_of_the_points() -> None:
    f = Function.from_expr(sympy.tanh(x))
    pts = np.linspace(-2.0, 2.0, 6).reshape(2, 3)
    out = truth.derivative(f, pts, 1)
    assert out.shape == (2, 3)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[truth.derivative(f, p, 1) for p in row] for row in pts])
    assert truth.derivative(f, 0.5, 1).shape == ()


def test_gradient_has_one_entry_per_variable() -> None:
    f = Function.from_expr(x0 * x1**2, [x0, x1])
    g = truth.gradient(f, np.array([3.0, 2.0]))
    assert g.shape == (2,)
    np.testing.assert_array_equal(g, [4.0, 12.0])
