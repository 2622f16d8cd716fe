"""The contour integral against exact derivatives: accuracy, honest errors, refusals, cost.

Ground truth: SymPy's exact derivative of the same expression, evaluated with mpmath
at 50 digits at the float point. The functions are called the way the engine calls
them: on one flat complex array of every point's nodes.
"""

from __future__ import annotations

import math
from functools import lru_cache

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diffkit.backends import contour as contour_module
from diffkit.backends.complexstep import ComplexStepError
from diffkit.backends.contour import MAX_RADII, ContourEstimate, contour, nodes_for

X = sympy.Symbol("x")
EPS = float(np.finfo(float).eps)


@lru_cache(maxsize=512)
def _exact_derivative(expr: sympy.Expr, n: int):
    return sympy.lambdify(X, sympy.diff(expr, X, n), "mpmath")


def exact(expr: sympy.Expr, x: float, n: int) -> float:
    """f^(n)(x) of the expression at the float x, from 50 digits, rounded once."""
    with mpmath.workdps(50):
        return float(_exact_derivative(expr, n)(mpmath.mpf(float(x))))


def run(f, xs, n, *, dtype=np.float64, radius=None) -> ContourEstimate:
    """contour at points xs with the engine's starting radius max(|x|, 1) unless given."""
    x = np.asarray(xs, dtype=dtype)
    start = np.maximum(np.abs(x.astype(float)), 1.0) if radius is None else radius
    return contour(f, x, n, dtype, np.broadcast_to(np.asarray(start, dtype=float), x.shape))


def relative(value: float, truth: float) -> float:
    return abs(value - truth) / abs(truth) if truth != 0 else abs(value)


# ---------------------------------------------------------------- accuracy

# (name, expression, points): the brief's scales |x| in {1e-14, 1e-4, 1, 1e3, 1e8}
# where f allows them, and the hard cases: a radius of convergence 1e-4 (log at 1e-4),
# a branch point 1e-3 away, a pole 0.01 away, f at 1e8, f^(n) zero (x^3, n = 4).
SMOOTH = [
    ("exp", sympy.exp(X), (1e-14, 1e-4, 1.0, -3.0, 30.0)),
    ("sin", sympy.sin(X), (1e-14, 1e-4, 1.0, 1e3, 1e8)),
    ("cos", sympy.cos(X), (2.2e-14, 1e-4, 1.0, 1e3, 1e8)),
    ("cosh", sympy.cosh(X), (1e-14, 1.0, 10.0)),
    ("exp2", 2**X, (1e-4, 1.0, 20.0)),
    ("log", sympy.log(X), (1e-14, 1e-4, 1.0, 1e3, 1e8)),
    ("runge", 1 / (1 + X**2), (0.0, 1e-4, 1.0, 1e3)),
    ("damped", sympy.exp(-X / 300) * sympy.sin(X), (250.0,)),
    ("sqrt_near_branch", sympy.sqrt(X - 2), (2.001,)),
    ("tan_near_pole", sympy.tan(X), (float(np.pi / 2 - 0.01),)),
    ("cube", X**3, (1e-4, 1.0, 1e3)),
]
ORDERS = range(11)


def target(n: int) -> float:
    """The relative accuracy asked of f^(n) in float64 where f^(n) is not zero to rounding."""
    return 1e-12 if n <= 4 else 1e-9 if n <= 6 else 1e-5


@pytest.mark.parametrize(("name", "expr", "points"), SMOOTH, ids=[c[0] for c in SMOOTH])
def test_smooth_functions_are_accurate_with_honest_errors(name, expr, points):
    """Orders 0..10: ok, the error within 2x of the estimate, and the target accuracy,
    relative, or absolute at the zero level (the rounding of f's size at the radius:
    sin''(1e-4) = -1e-4 is 2e-16 off, 2e-12 relative, and cos'(2.2e-14) 3e-17)."""
    f = sympy.lambdify(X, expr, "numpy")
    for n in ORDERS:
        res = run(f, points, n)
        for i, x in enumerate(points):
            truth = exact(expr, x, n)
            value, error = float(res.value[i]), float(res.error[i])
            where = f"{name} at {x!r}, n = {n}: value {value!r}, truth {truth!r}, error {error:.3g}"
            assert res.status[i] == "ok", f"{where}: {res.status[i]} ({res.message})"
            assert abs(value - truth) <= 2.0 * error, where
            zero = contour_module.ZERO * EPS * res.size[i] * math.factorial(n) / res.h[i] ** n
            assert abs(value - truth) <= target(n) * abs(truth) + zero, where


def test_the_estimate_is_not_absurdly_pessimistic():
    """On the smooth cases, the median estimate / actual error stays below 1e3 at every n."""
    ratios: dict[int, list[float]] = {}
    for _, expr, points in SMOOTH:
        f = sympy.lambdify(X, expr, "numpy")
        for n in (1, 4, 7, 10):
            res = run(f, points, n)
            for i, x in enumerate(points):
                actual = abs(float(res.value[i]) - exact(expr, x, n))
                if actual > 0:
                    ratios.setdefault(n, []).append(float(res.error[i]) / actual)
    for n, values in ratios.items():
        assert 1.0 <= np.median(values) <= 1e3, (n, np.median(values))


def test_all_derivatives_come_from_one_circle():
    """``coefficients`` holds f, f', ..., f^(n) of the chosen circle, each to its own error."""
    expr = sympy.log(X) * sympy.exp(X / 2)
    f = sympy.lambdify(X, expr, "numpy")
    points = (0.5, 2.0, 40.0)
    res = run(f, points, 6)
    assert res.coefficients.shape == (3, 7)
    assert np.array_equal(res.coefficients[:, 6], res.value)
    for i, x in enumerate(points):
        for k in range(7):
            truth = exact(expr, x, k)
            assert relative(float(res.coefficients[i, k]), truth) <= target(6), (x, k)


def test_points_far_from_zero_keep_their_digits():
    """At x = 1e8 the nodes x + r cos t round to the grid of x (1.5e-8); the slip
    correction keeps f^(n) to 1e-14 where the uncorrected FFT loses 8 digits."""
    res = run(np.sin, [1e8], 6, radius=1.0)
    truth = exact(sympy.sin(X), 1e8, 6)
    assert relative(float(res.value[0]), truth) <= 1e-13
    assert relative(_uncorrected(np.sin, 1e8, float(res.h[0]), 6), truth) > 1e-11


def _uncorrected(f, x, r, n):
    """f^(n) from the plain FFT of the same circle, the nodes' rounding ignored."""
    values, _, _ = contour_module._evaluate(f, np.array([x]), np.array([r]), 32, complex)
    c = np.fft.fft(values, axis=1)[0, n, 0].real / 32
    return c * math.factorial(n) / r**n


def test_a_polynomial_does_not_confuse_the_search():
    """x^3: the coefficients vanish beyond 3, f'''' is 0, and the search stops growing r."""
    res = run(lambda z: z**3, [1.0, -2.0, 1e3], 4)
    assert list(res.status) == ["ok"] * 3
    assert np.all(np.abs(res.value) <= 2.0 * res.error)
    assert np.all(res.nfev <= 4 * (nodes_for(4) // 2 + 1))
    assert np.all(np.isfinite(res.h))


# ---------------------------------------------------------------- random expressions


@st.composite
def smooth_expressions(draw: st.DrawFn, depth: int = 3) -> sympy.Expr:
    """A tree of exp, sin, cos, sums, products and small polynomials of x.

    Arguments stay of order 10 at |x| <= 2: f evaluated in floats is then accurate to
    a few ulps of its size, which is what the estimate assumes of it.
    """
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        scale = draw(st.sampled_from([sympy.Rational(1, 2), 1, 2]))
        return scale * X + draw(st.integers(-2, 2))
    u = draw(smooth_expressions(depth - 1))
    op = draw(st.sampled_from(["exp", "sin", "cos", "add", "mul", "poly"]))
    if op == "exp":
        return sympy.exp(u / 3)
    if op in ("sin", "cos"):
        return getattr(sympy, op)(u)
    if op == "poly":
        return u**2 / 4 + draw(st.integers(-1, 1)) * u**3 / 8
    v = draw(smooth_expressions(depth - 1))
    return u + v if op == "add" else u * v


@settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    smooth_expressions(),
    st.floats(-2.0, 2.0, allow_nan=False).map(lambda x: round(x, 3)),
    st.integers(0, 10),
)
def test_random_smooth_expressions_keep_their_error_estimate(expr, x, n):
    """Every smooth expression is ok, and within 2x of its estimate of the exact f^(n)."""
    f = sympy.lambdify(X, expr, "numpy")
    res = run(lambda z: np.asarray(f(z)) + 0 * z, [x], n)
    truth = exact(expr, x, n)
    assert res.status[0] == "ok", (str(expr), res.message)
    assert abs(float(res.value[0]) - truth) <= 2.0 * float(res.error[0]), str(expr)


# ---------------------------------------------------------------- refusals


def _modulus_times_x(z):
    return np.abs(z) * z


def _relu_squared(z):
    return np.maximum(z, 0) ** 2


def _jump_at(c):
    return lambda z: np.where(np.real(z) > c, np.exp(z), np.exp(z) + 1)


NOT_ANALYTIC = [
    ("abs(x)*x", _modulus_times_x, (0.5, -0.3)),
    ("maximum(x,0)**2 at its kink", _relu_squared, (0.0,)),
    ("log outside its domain", np.log, (-0.7,)),
    ("log at its branch point", np.log, (0.0,)),
    ("sqrt outside its domain", np.sqrt, (-1.0,)),
    ("jump at x", _jump_at(0.55), (0.55,)),
    ("pole at x", lambda z: 1 / (z - 0.25), (0.25,)),
    ("sign", lambda z: np.sign(z) * z, (0.3,)),
    ("conj", lambda z: np.conj(z) * z**2, (0.3,)),
    ("not real at x", lambda z: z + 1e-3j, (0.3,)),
    ("|z - x|^2, seen only across radii", lambda z: np.abs(z - 0.5) ** 2 + z, (0.5,)),
]


# d/dx (x + |x - 0.5|^2) at 0.5 is 1, which is what every circle says: not refused at n = 1.
REFUSALS = [
    pytest.param(f, points, n, id=f"{name}-n{n}")
    for name, f, points in NOT_ANALYTIC
    for n in (0, 1, 2, 4)
    if not (name.startswith("|z - x|") and n == 1)
]


@pytest.mark.parametrize(("f", "points", "n"), REFUSALS)
def test_not_analytic_points_are_refused(f, points, n):
    """No value where f is not analytic at x or not real there: NaN, inf, not-analytic."""
    res = run(f, points, n)
    assert list(res.status) == ["not-analytic"] * len(points), res.message
    assert np.all(np.isnan(res.value))
    assert np.all(np.isinf(res.error))
    assert "not-analytic" in res.message


def test_a_kink_or_jump_outside_the_final_circle_does_not_matter():
    """Near a kink or a jump f is analytic in a small disk, and the circle shrinks into it:
    maximum(x, 0)**2 at 0.5 and at 1e-3 is x^2, the jump at 0.55 is not seen from 0.5."""
    res = run(_relu_squared, [0.5, 1e-3, -0.5], 2)
    assert list(res.status) == ["ok"] * 3
    np.testing.assert_allclose(res.value, [2.0, 2.0, 0.0], rtol=1e-12, atol=1e-12)
    jump = run(_jump_at(0.55), [0.5, 0.6], 1)
    assert list(jump.status) == ["ok", "ok"]
    np.testing.assert_allclose(jump.value, np.exp([0.5, 0.6]), rtol=1e-12)


def test_f_not_finite_on_every_circle_is_nonfinite():
    res = run(lambda z: z * np.nan, [0.3, 2.0], 1)
    assert list(res.status) == ["nonfinite"] * 2
    assert np.all(np.isnan(res.value))
    assert np.all(np.isnan(res.error))
    assert "not finite" in res.message


def test_nonfinite_on_large_circles_only_shrinks_the_radius():
    """A pole at 0.6 and an overflow beyond 700: the first circles are not finite, and
    the search shrinks until they are."""
    res = run(lambda z: np.exp(z) / (z - 0.6), [0.5], 2, radius=0.1)
    truth = exact(sympy.exp(X) / (X - 0.6), 0.5, 2)
    assert res.status[0] == "ok"
    assert relative(float(res.value[0]), truth) <= 1e-12
    big = run(np.exp, [1.0], 1, radius=1e4)
    assert big.status[0] == "ok"
    assert relative(float(big.value[0]), math.e) <= 1e-14


def _noisy_log(z):
    """log with noise of 1e-6 relative: deterministic, and no analytic function."""
    return np.log(z) * (1 + 1e-6 * np.cos(1e7 * z.real + 3e7 * z.imag))


def test_noise_is_seen_and_reported_not_converged():
    """f noisy at 1e-6 relative: f^(10) near a singularity cannot be had to 1e-3, and
    the result says so with an estimate that covers its error."""
    res = run(_noisy_log, [1e-4], 10)
    truth = exact(sympy.log(X), 1e-4, 10)
    assert res.status[0] == "not-converged", res.message
    assert np.isfinite(res.value[0])
    assert float(res.error[0]) > 1e-3 * abs(float(res.value[0]))
    assert abs(float(res.value[0]) - truth) <= 2.0 * float(res.error[0])


def test_ok_never_carries_an_error_beyond_its_criterion():
    """Across every case of this file, "ok" means error <= 1e-3 |f^(n)| or the zero level."""
    cases = [(sympy.lambdify(X, e, "numpy"), p) for _, e, p in SMOOTH]
    cases += [(f, p) for _, f, p in NOT_ANALYTIC] + [(_noisy_log, (1e-4, 1.0))]
    for f, points in cases:
        for n in (1, 4, 10):
            res = run(f, points, n)
            ok = res.status == "ok"
            zero = contour_module.ZERO * EPS * res.size * math.factorial(n) / res.h**n
            assert np.all(np.isfinite(res.error[ok]))
            assert np.all(
                (res.error[ok] <= 1e-3 * np.abs(res.value[ok])) | (res.error[ok] <= zero[ok])
            )


# ---------------------------------------------------------------- shapes, dtypes, errors


def test_vector_valued_phi_is_differentiated_per_component():
    def pair(z):
        return np.stack([np.exp(z), np.sin(3 * z)], axis=-1)

    x = np.array([0.3, 1.0, 2.0])
    res = run(pair, x, 3)
    assert res.value.shape == res.error.shape == (3, 2)
    assert res.coefficients.shape == (3, 4, 2)
    truth = np.stack([np.exp(x), -27 * np.cos(3 * x)], axis=-1)
    assert np.all(np.abs(res.value - truth) <= 2 * res.error)
    np.testing.assert_allclose(res.value, truth, rtol=1e-13)
    np.testing.assert_allclose(res.coefficients[:, 0], np.stack([np.exp(x), np.sin(3 * x)], -1))


def test_float32_points_work_in_float32():
    """float32 points: complex64 nodes, float32 values, errors at float32's eps."""
    seen = []

    def f(z):
        seen.append(z.dtype)
        return np.exp(z) * np.cos(z)

    expr = sympy.exp(X) * sympy.cos(X)
    points = np.array([0.5, 3.0, 1e-4], dtype=np.float32)
    for n in (1, 4, 7):
        res = run(f, points, n, dtype=np.float32)
        assert res.value.dtype == np.float32
        assert set(seen) == {np.dtype(np.complex64)}
        for i, x in enumerate(points):
            truth = exact(expr, float(x), n)
            assert res.status[i] == "ok"
            assert abs(float(res.value[i]) - truth) <= 2.0 * float(res.error[i]) + 1e-7 * abs(truth)
            assert relative(float(res.value[i]), truth) <= 1e-4
            assert float(res.error[i]) >= 1e-8 * abs(truth)  # float32 rounding, not float64's


def test_f_that_drops_the_imaginary_part_raises():
    with pytest.raises(ComplexStepError, match="complex values for complex input"):
        run(np.abs, [0.5], 1)
    with pytest.raises(ComplexStepError, match="complex values for complex input"):
        run(lambda z: np.real(z) ** 2, [0.5], 1)
    with pytest.raises(ComplexStepError, match="f raised"):
        run(lambda z: np.array([math.sin(complex(t)) for t in z]), [0.5], 1)


def test_invalid_arguments_are_refused():
    with pytest.raises(ValueError, match=r"orders n in 0\.\.20"):
        run(np.exp, [1.0], 21)
    with pytest.raises(ValueError, match="orders"):
        run(np.exp, [1.0], -1)
    with pytest.raises(ValueError, match="positive finite starting radius"):
        run(np.exp, [1.0], 1, radius=0.0)
    with pytest.raises(ValueError, match="1-D"):
        contour(np.exp, np.ones((2, 2)), 1, np.float64, np.ones((2, 2)))
    with pytest.raises(ValueError, match="one value"):
        run(lambda z: np.exp(z[:1]), [1.0, 2.0], 1)


def test_no_points_give_an_empty_estimate():
    res = contour(np.exp, np.array([]), 2, np.float64, np.array([]))
    assert res.value.shape == res.error.shape == res.nfev.shape == (0,)


# ---------------------------------------------------------------- cost


class Counting:
    """Wraps f to count its calls and the points it saw."""

    def __init__(self, f):
        self.f, self.calls, self.points = f, 0, 0

    def __call__(self, z):
        self.calls += 1
        self.points += z.size
        return self.f(z)


@pytest.mark.parametrize("n", [2, 10])
def test_nfev_counts_every_evaluation_and_phi_is_called_once_per_round(n):
    f = Counting(np.log)
    points = [1e-4, 0.5, 1.0, 3.0, 1e3]
    res = run(f, points, n)
    assert list(res.status) == ["ok"] * len(points)
    assert f.points == int(res.nfev.sum())
    per_circle = nodes_for(n) // 2 + 1
    assert np.all(res.nfev % per_circle == 0)
    assert f.calls <= MAX_RADII + 1
    assert f.calls == int(res.nfev.max()) // per_circle  # all points share each call


def test_a_good_starting_radius_is_cheap():
    """sin, exp and 1/(1+x^2) at 1 with radius 1: at most 4 circles of N/2 + 1 points."""
    for f in (np.sin, np.exp, lambda z: 1 / (1 + z * z)):
        res = run(f, [1.0], 2)
        assert res.status[0] == "ok"
        assert res.nfev[0] <= 4 * (nodes_for(2) // 2 + 1)
