"""Finite differences whose step follows f: every scale, orders 1..10, honest statuses.

Ground truth: SymPy's exact derivatives evaluated with mpmath (``diffkit.truth``).
Each case is written the way people write f (NumPy lambdas, Python-scalar ``math``
code, vector outputs, extra arguments), at |x| from 1e-14 to 1e8.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diffkit as dk
from diffkit import truth
from diffkit.backends.accuracy import ACCEPTED, OK_RTOL

DEFAULT = dk.FiniteDifference()
RICHARDSON = dk.FiniteDifference(richardson=True)


def exact(expression: str, x: float, n: int = 1) -> float:
    return float(truth.derivative(dk.Function.from_string(expression), x, n))


def rel(value: float, want: float) -> float:
    return abs(value - want) / (abs(want) if want else 1.0)


# (expression, point): smooth, with an exact derivative far from 0 at the point.
SCALES = [
    ("cos(x)", 1e-4),
    ("cosh(x)", 1e-4),
    ("exp(x)", 1e-4),
    ("exp(x)", 2.2e-14),
    ("log(1 + x)", 0.3),
    ("sin(x)", 1e8),
    ("exp(-x/300)*sin(x)", 250.0),
    ("sin(x)", 1e3),
    ("log(x)", 1e8),
    ("log(x)", 1e-4),
    ("sqrt(x - 2)", 2.001),
    ("1/(1 + x**2)", 0.5),
    ("exp(x/1000)", 0.5),
    ("x**3", 1e-3),
]


@pytest.mark.parametrize(("expression", "point"), SCALES)
def test_first_derivatives_at_every_scale(expression, point):
    """Richardson within 1e-10, the default within 1e-8, both ok."""
    want = exact(expression, point)
    f = dk.Function.from_string(expression)
    for fd, bound in ((RICHARDSON, 1e-10), (DEFAULT, 1e-8)):
        result = fd.estimate(f.numpy, point)
        assert rel(float(result.value), want) < bound, (fd, float(result.value), want)
        assert str(result.status) in ACCEPTED
        assert abs(float(result.value) - want) <= 2 * float(result.error)


FLAT = [  # |f| far above |f'| L: a 2nd-order rule stops near 1e-8 at any step
    ("cosh(x)", 1e-4, lambda t: math.cosh(t)),
    ("cos(x)", -1e-4, lambda t: math.cos(t)),
    ("1 + x**2/2", 1e-3, lambda t: 1.0 + t * t / 2.0),
    ("sqrt(1 + x**2)", 2e-4, lambda t: math.sqrt(1.0 + t * t)),
    ("exp(-1/(1 - x**2))", 1e-4, lambda t: math.exp(-1.0 / (1.0 - t * t))),
]


@pytest.mark.parametrize(("expression", "point", "scalar"), FLAT)
def test_the_default_turns_to_accuracy_4_where_f_dwarfs_its_derivative(expression, point, scalar):
    """The default rule reaches 1e-9 there, written as a NumPy expression or as
    Python-scalar ``math`` code; an accuracy the user asked for is kept."""
    want = exact(expression, point)
    f = dk.Function.from_string(expression)
    for written in (f.numpy, scalar):
        result = DEFAULT.estimate(written, point)
        assert str(result.status) == "ok"
        assert rel(float(result.value), want) < 1e-9, (written, float(result.value), want)
        assert abs(float(result.value) - want) <= 2 * float(result.error)
    second = dk.FiniteDifference(accuracy=2).estimate(f.numpy, point)
    assert float(second.h) != float(DEFAULT.estimate(f.numpy, point).h)
    assert abs(float(second.value) - want) <= 2 * float(second.error)


@pytest.mark.parametrize(
    ("expression", "point", "n"),
    [
        ("cos(x)", 2.2e-14, 2),
        ("exp(x)", 1e-4, 2),
        ("sin(x)", 1e8, 2),
        ("exp(x)", 0.5, 4),
        ("1/(1 + x**2)", 0.3, 3),
    ],
)
def test_higher_orders_at_awkward_points_are_right_or_say_so(expression, point, n):
    want = exact(expression, point, n)
    f = dk.Function.from_string(expression).numpy
    for fd in (DEFAULT, RICHARDSON, dk.FiniteDifference(scheme="contour")):
        result = fd.estimate(f, point, n)
        error = abs(float(result.value) - want)
        if str(result.status) == "ok":
            assert error <= max(2 * float(result.error), 1e-3 * abs(want)), (fd, n)
            assert rel(float(result.value), want) < OK_RTOL


@pytest.mark.parametrize("n", range(1, 11))
def test_contour_gives_every_order_of_an_analytic_f(n):
    """exp2 at 0.5: numdifftools' worst case at n = 10 (2.6e-3); the contour integral 1e-5."""
    want = math.log(2) ** n * 2**0.5
    result = dk.FiniteDifference(scheme="contour").estimate(np.exp2, 0.5, n)
    assert rel(float(result.value), want) < 1e-5
    assert str(result.status) == "ok"
    assert abs(float(result.value) - want) <= 2 * float(result.error)


def test_the_complex_step_gives_second_derivatives():
    for f, x, want in ((np.exp, 1.0, math.e), (np.log, 1e-3, -1e6), (np.sin, 1e8, -math.sin(1e8))):
        result = dk.FiniteDifference(scheme="complex").estimate(f, x, 2)
        assert rel(float(result.value), want) < 1e-9
        assert abs(float(result.value) - want) <= 2 * float(result.error)


def test_orders_above_ten_are_refused_with_the_alternatives():
    with pytest.raises(ValueError, match="above 10"):
        DEFAULT.derivative(np.exp, 1.0, n=12)
    assert dk.FiniteDifference(scheme="contour").derivative(np.exp, 1.0, n=12) == pytest.approx(
        math.e, rel=1e-6
    )


# ---------------------------------------------------------------- edges: no silent zero


def boxed_exp(x):
    """exp on [0, 2], NaN outside."""
    return np.where((x >= 0) & (x <= 2), np.exp(x), np.nan)


@pytest.mark.parametrize("point", [0.0, 2.0])
def test_a_point_on_the_edge_of_the_domain_is_differentiated_from_inside(point):
    result = DEFAULT.estimate(boxed_exp, point)
    assert str(result.status) == "one-sided"
    assert rel(float(result.value), math.exp(point)) < 1e-8
    with warnings.catch_warnings():
        warnings.simplefilter("error", dk.FDAccuracyWarning)
        assert DEFAULT.derivative(boxed_exp, point) == pytest.approx(math.exp(point), rel=1e-8)


def test_the_corner_of_a_box_gives_the_jacobian_from_inside():
    def f(v):
        inside = np.all((v >= 0) & (v <= 1))
        return (
            np.array([5 * v[0] + 2 * v[1], np.exp(v[0] * v[1])]) if inside else np.full(2, np.nan)
        )

    got = DEFAULT.estimate_jacobian(f, np.array([1.0, 1.0]))
    np.testing.assert_allclose(got.value, [[5, 2], [math.e, math.e]], rtol=1e-7)
    assert set(got.status.reshape(-1)) <= set(ACCEPTED)


@pytest.mark.parametrize("point", [1e-100, 1e-160, 1e-300, 5e-324])
def test_tiny_and_subnormal_points_scale_by_the_function(point):
    for fd in (DEFAULT, RICHARDSON):
        assert fd.derivative(lambda t: t**2 + t, point, n=2) == pytest.approx(2.0, rel=1e-9)
        assert fd.derivative(np.exp, point) == pytest.approx(1.0, rel=1e-9)


def test_steps_never_collapse_below_the_spacing_of_x():
    for x in (2.0, 1e8, 1e12):
        result = DEFAULT.estimate(np.sin, x)
        assert float(x + result.h) != x
        assert rel(float(result.value), math.cos(x)) <= 2 * float(result.error) / abs(math.cos(x))


def test_a_plain_call_whose_estimate_is_not_ok_warns_with_the_status():
    noisy = lambda x: np.sin(x) + 1e-6 * np.sign(np.sin(1e9 * x))  # noqa: E731
    with pytest.warns(dk.FDAccuracyWarning, match="not-converged|rounding-dominated"):
        dk.FiniteDifference(h=1e-15).derivative(np.sin, 1.0)
    result = dk.FiniteDifference(h=1e-15).estimate(np.sin, 1.0)
    assert str(result.status) == "rounding-dominated"
    assert callable(noisy)


def test_a_complex_valued_f_is_refused_not_truncated():
    with pytest.raises(dk.ComplexStepError, match="complex values"):
        DEFAULT.hessian(lambda v: (1j + v[0]) * v[1], np.array([0.5, 1.0]))
    with pytest.raises(dk.ComplexStepError, match="complex values"):
        DEFAULT.derivative(lambda x: (1 + 1j) * x, 0.5)


# ---------------------------------------------------------------- how people write f


def test_python_scalar_functions_work():
    assert DEFAULT.derivative(math.exp, 1.0) == pytest.approx(math.e, rel=1e-8)
    assert RICHARDSON.derivative(lambda x: math.sin(x) if x > 0 else x, 0.5) == pytest.approx(
        math.cos(0.5), rel=1e-10
    )


def test_vector_valued_f_gives_one_derivative_per_output():
    got = DEFAULT.derivative(lambda t: np.array([t, t**2, np.sin(t)]), np.array([1.0, 2.0]))
    np.testing.assert_allclose(got, [[1, 2, math.cos(1)], [1, 4, math.cos(2)]], rtol=1e-8)


@pytest.mark.parametrize("scheme", ["central", "complex", "contour"])
def test_vector_valued_f_at_as_many_points_as_outputs_is_not_transposed(scheme):
    """f(t) for t of 2 points returns (2, 2) either way round: the values tell which."""
    x = np.array([0.5, 1.0])
    for fd in (dk.FiniteDifference(scheme=scheme), dk.FiniteDifference(richardson=True)):
        result = fd.estimate(lambda t: np.array([np.sin(t), np.exp(t)]), x)
        np.testing.assert_allclose(
            result.value, np.stack([np.cos(x), np.exp(x)], axis=1), rtol=1e-9
        )
        assert result.error.shape in ((2,), (2, 2))


def test_extra_arguments_reach_f():
    def f(x, a, *, b):
        return a * np.exp(b * x)

    got = RICHARDSON.derivative(f, 0.5, args=(3.0,), kwargs={"b": 2.0})
    assert got == pytest.approx(6.0 * math.exp(1.0), rel=1e-10)
    grad = DEFAULT.gradient(lambda v, a: a * v[0] * v[1], np.array([2.0, 3.0]), args=(10.0,))
    np.testing.assert_allclose(grad, [30.0, 20.0], rtol=1e-8)


def test_jacobian_shapes_follow_the_output():
    f = lambda v: np.array([[v[0], v[1]], [v[0] * v[1], v[0] ** 2]])  # noqa: E731
    got = DEFAULT.jacobian(f, np.array([2.0, 3.0]))
    assert got.shape == (2, 2, 2)
    np.testing.assert_allclose(got, [[[1, 0], [0, 1]], [[3, 2], [4, 0]]], atol=1e-8)


def test_directional_derivative():
    f = lambda v: v[0] ** 2 * v[1] ** 3  # noqa: E731
    x, v = np.array([0.5, 1.0]), np.array([0.6, 0.8])
    want = float(np.array([2 * 0.5, 3 * 0.25]) @ v)
    assert DEFAULT.directional_derivative(f, x, v) == pytest.approx(want, rel=1e-8)


# ---------------------------------------------------------------- Hessians


HESSIANS = [
    ("(1 - x0)**2 + 100*(x1 - x0**2)**2", [0.5, 1.5]),
    ("x0*x1*exp(x2)", [0.3, -1.2, 0.7]),
    ("exp(x0)*cos(x1)", [1e-14, 1e8]),
    ("log(1 + x0**2 + x1**2)", [0.3, 2.0]),
    ("1/(x0**2 + x1**2 + 1)", [1.0, -2.0]),
    ("sin(x0*x1) + sin(x1*x2)", [0.4, 1.1, -0.6]),
]


@pytest.mark.parametrize(("expression", "point"), HESSIANS)
def test_richardson_hessians_reach_1e8(expression, point):
    f = dk.Function.from_string(expression)
    want = truth.hessian(f, np.array(point))
    result = RICHARDSON.estimate_hessian(f, np.array(point))
    scale = np.max(np.abs(want))
    assert np.max(np.abs(result.value - want)) / scale < 1e-8
    assert np.all(np.abs(result.value - want) <= 2 * result.error + 1e-12 * scale)
    assert int(result.nfev) <= 160  # numdifftools' median on such cases: 121


def test_hessian_of_a_vector_valued_f_is_a_stack():
    f = lambda v: np.array([v[0] ** 2 * v[1], np.sin(v[0] * v[1])])  # noqa: E731
    got = RICHARDSON.hessian(f, np.array([0.5, 1.0]))
    c, s = math.cos(0.5), math.sin(0.5)
    want = [[[2, 1], [1, 0]], [[-s, c - 0.5 * s], [c - 0.5 * s, -0.25 * s]]]
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_hessian_diagonal_and_subnormal_points():
    f = lambda v: v[0] ** 2 * v[1] ** 3 + 0.5 * v[0] ** 2 + v[1] ** 2  # noqa: E731
    np.testing.assert_allclose(
        RICHARDSON.hessian_diagonal(f, np.array([0.5, 1.0])), [3, 3.5], rtol=1e-10
    )
    tiny = np.array([1.2e-314, 1.2e-314])
    np.testing.assert_allclose(DEFAULT.hessian(f, tiny), [[1, 0], [0, 2]], atol=1e-7)


def test_the_complex_step_gradient_checks_analyticity_once():
    calls = []

    def f(v):
        calls.append(1)
        return v[0] * np.exp(v[1]) + np.sin(v[2])

    result = dk.FiniteDifference(scheme="complex").estimate_gradient(f, np.array([0.5, 1.0, 2.0]))
    assert len(calls) <= 8
    np.testing.assert_allclose(result.value, [math.e, 0.5 * math.e, math.cos(2.0)], rtol=1e-13)
    with pytest.raises(dk.ComplexStepError):
        dk.FiniteDifference(scheme="complex").gradient(
            lambda v: v[0] * np.abs(v[1]), np.array([0.5, -1.0])
        )


# ---------------------------------------------------------------- properties


# log(1 + x**2) near 0 rounds 1 + x**2 to eps, far above eps |f|, and sin(x**2) at 1e3
# carries the rounding of 1e6: the pilot measures such noise, and the estimates use it.
ATOMS = [
    "exp({})",
    "sin({})",
    "cos({})",
    "({})**2",
    "1/(2 + ({})**2)",
    "sqrt(3 + ({})**2)",
    "log(1 + ({})**2)",
]


@settings(max_examples=80, deadline=None, derandomize=True)  # CI runs the same examples
@given(
    st.lists(st.sampled_from(ATOMS), min_size=1, max_size=3),
    st.sampled_from([1e-14, 1e-4, 0.7, 1e3, 1e8]),
    st.sampled_from([1.0, -1.0]),
)
def test_no_ok_is_far_from_the_truth(chain, magnitude, sign):
    """Random compositions at random scales: whatever the status, an ok is within 2x its
    estimate (and 1e-3 relative)."""
    expression = "x"
    inner = sign * magnitude
    for atom in chain:
        expression = atom.format(expression)
        # exp(1e8) inside a cos would send the exact truth through 4e7 digits: keep
        # every inner value of a size whose exact evaluation is quick.
        with np.errstate(all="ignore"):
            inner = float(dk.Function.from_string(atom.format("x")).numpy(np.float64(inner)))
        if not math.isfinite(inner) or abs(inner) > 1e9:
            return
    point = sign * magnitude
    f = dk.Function.from_string(expression)
    want = exact(expression, point)
    if not math.isfinite(want):
        return
    for fd in (DEFAULT, RICHARDSON):
        result = fd.estimate(f.numpy, point)
        if str(result.status) == "ok":
            error = abs(float(result.value) - want)
            assert error <= 2 * float(result.error) + 1e-15 * abs(want), (fd, expression, point)
            assert rel(float(result.value), want) < OK_RTOL
