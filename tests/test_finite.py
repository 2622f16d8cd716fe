"""FiniteDifference against ground truth: steps, schemes, orders, fallbacks, refusals."""

from __future__ import annotations

import re

import numpy as np
import pytest

import diffkit as dk
from diffkit import analysis, catalog, truth
from diffkit.backends.accuracy import ACCEPTED
from diffkit.backends.steps import StepError

SMOOTH_1D = [
    (name, point)
    for name in catalog.names(tag="smooth")
    if catalog.get(name).ndim == 1
    for point in catalog.get(name).points
]
IDS = [f"{name}@{point:g}" for name, point in SMOOTH_1D]


def rel_error(value, exact):
    value, exact = np.asarray(value, dtype=float), np.asarray(exact, dtype=float)
    return np.abs(value - exact) / np.where(exact == 0, 1.0, np.abs(exact))


class CountingFunction:
    """Wraps f to count calls and the points it was evaluated at."""

    def __init__(self, f):
        self.f, self.calls, self.points = f, 0, 0

    def __call__(self, x):
        self.calls += 1
        self.points += np.size(x)
        return self.f(x)


# ---------------------------------------------------------------- given steps


def test_forward_step_given_is_used_exactly():
    """With h given, the forward rule is bit for bit (f(x + h) - f(x)) / h, at any point."""
    f = lambda x: np.exp(x) * np.sin(3 * x)  # noqa: E731
    xs = np.linspace(-2, 2, 41)
    h = 1e-3
    got = dk.FiniteDifference(scheme="forward", h=h).derivative(f, xs)
    assert np.array_equal(got, (f(xs + h) - f(xs)) / h)


def test_backward_and_central_with_given_step_are_the_textbook_quotients():
    f, x, h = np.sin, 0.7, 1e-3
    back = dk.FiniteDifference(scheme="backward", h=h).derivative(f, x)
    central = dk.FiniteDifference(scheme="central", h=h).derivative(f, x)
    assert back == pytest.approx((f(x) - f(x - h)) / h, rel=1e-15)
    assert central == pytest.approx((f(x + h) - f(x - h)) / (2 * h), rel=1e-15)


def test_an_array_of_steps_gives_one_step_per_point():
    f = lambda x: x**2  # noqa: E731
    got = dk.FiniteDifference(scheme="forward", h=[1.0, 0.5]).derivative(f, [3.0, 3.0])
    assert got.tolist() == [7.0, 6.5]


@pytest.mark.parametrize(
    "bad", [0.0, -1e-3, float("nan"), float("inf"), "small", [1e-3, 0.0], True]
)
def test_bad_steps_raise_a_value_error_naming_h(bad):
    with pytest.raises(StepError, match="h must"):
        dk.FiniteDifference(h=bad)
    assert issubclass(StepError, ValueError)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_orders_raise_a_value_error_naming_n(bad):
    with pytest.raises(ValueError, match="order n"):
        dk.FiniteDifference().derivative(np.sin, 1.0, n=bad)


def test_impossible_rules_raise_at_construction():
    with pytest.raises(dk.StencilError, match="even accuracy"):
        dk.FiniteDifference(scheme="central", accuracy=3)
    with pytest.raises(ValueError, match="scheme must be"):
        dk.FiniteDifference(scheme="upwind")


# ---------------------------------------------------------------- auto steps vs truth


@pytest.mark.parametrize(("name", "point"), SMOOTH_1D, ids=IDS)
@pytest.mark.parametrize(("scheme", "accuracy"), [("forward", 1), ("central", 2), ("central", 4)])
def test_auto_steps_land_where_the_error_model_says(name, point, scheme, accuracy):
    """The error at the auto step is within 10x of truncation + rounding predicted at that step."""
    f = catalog.get(name)
    exact = float(truth.derivative(f, point, 1))
    fd = dk.FiniteDifference(scheme=scheme, accuracy=accuracy)
    result = fd.estimate(f, point)
    predicted = analysis.theory(f, point, fd.rule(1)).total(float(result.h))
    actual = abs(float(result.value) - exact)
    # The model's leading term vanishes at an inflection point (sigmoid at 0 for the
    # forward rule): there the result's own estimate, from the pilot, must cover it.
    assert actual <= max(10 * predicted, float(result.error)) + 4 * np.finfo(float).eps * abs(exact)


@pytest.mark.parametrize(("name", "point"), SMOOTH_1D, ids=IDS)
def test_auto_steps_reach_the_textbook_accuracy_where_f_varies_on_the_scale_of_x(name, point):
    """Where |x| is f's own scale, auto steps give ~ eps^(p/(p+1)) relative error."""
    f = catalog.get(name)
    exact = truth.derivative(f, point, 1)
    bounds = {("forward", 1): 1e-6, ("central", 2): 1e-8, ("central", 4): 1e-10}
    if f.tags & {"steep", "oscillatory"} or (name == "exp" and point > 1):
        pytest.skip("f varies faster than |x| says: covered by the error-model test")
    for (scheme, accuracy), bound in bounds.items():
        value = dk.FiniteDifference(scheme=scheme, accuracy=accuracy).derivative(f, point)
        assert rel_error(value, exact) < bound, (scheme, accuracy)
    complex_value = dk.FiniteDifference(scheme="complex").derivative(f, point)
    assert rel_error(complex_value, exact) < 1e-13


@pytest.mark.parametrize(("name", "point"), SMOOTH_1D, ids=IDS)
def test_richardson_reaches_1e10_and_never_underestimates_its_error(name, point):
    f = catalog.get(name)
    exact = float(truth.derivative(f, point, 1))
    result = dk.FiniteDifference(richardson=True).estimate(f, point)
    actual = abs(float(result.value) - exact)
    assert rel_error(result.value, exact) <= 1e-10
    assert float(result.error) >= actual
    assert result.status in ACCEPTED  # near-zero where the derivative is 0
    assert result.nfev <= 64  # the pilot (13 per try, 1 to 4 tries) and the tableau


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize(("name", "point"), [("exp", 0.0), ("squire_trapp", 1.5), ("tanh", 0.5)])
def test_higher_derivatives_match_truth(name, point, n):
    f = catalog.get(name)
    exact = truth.derivative(f, point, n)
    plain = dk.FiniteDifference(scheme="central", accuracy=4).derivative(f, point, n=n)
    extrapolated = dk.FiniteDifference(richardson=True).derivative(f, point, n=n)
    assert rel_error(plain, exact) < 10.0 ** (-9 + 1.5 * n)
    assert rel_error(extrapolated, exact) < 10.0 ** (-12 + 1.5 * n)


@pytest.mark.parametrize("scheme", ["forward", "backward"])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_one_sided_rules_are_exact_on_polynomials_of_their_degree(scheme, n):
    """A rule of accuracy p differentiates polynomials of degree n + p - 1 exactly (up to rounding)."""
    coefficients = [3.0, -2.0, 0.5, 1.25, -0.75][: n + 1]
    f = np.polynomial.Polynomial(coefficients)
    exact = f.deriv(n)(0.3)
    got = dk.FiniteDifference(scheme=scheme, accuracy=1, h=0.125).derivative(f, 0.3, n=n)
    assert got == pytest.approx(exact, rel=1e-8, abs=1e-8)


def test_log_near_zero_is_finite_and_accurate_with_defaults():
    value = dk.FiniteDifference().derivative(np.log, 1e-3)
    assert abs(value - 1000.0) / 1000.0 < 1e-10


# ---------------------------------------------------------------- vectorization, dtypes


def test_derivative_calls_f_once_for_all_points_and_stencil_points():
    f = CountingFunction(np.sin)
    xs = np.linspace(0, 3, 100)
    got = dk.FiniteDifference(scheme="central", accuracy=4).derivative(f, xs)
    assert f.calls == 2  # the pilot measures f's length at every point, then the rule runs
    pilot_points = 10 + 7  # the pilot's 5th-derivative rule at hp and 2hp, and 7 noise nodes
    assert f.points == (pilot_points + 4) * xs.size  # the rule's centre weight is 0
    np.testing.assert_allclose(got, np.cos(xs), rtol=1e-10, atol=1e-12)


def test_richardson_nfev_counts_the_points_f_really_saw():
    f = CountingFunction(np.exp)
    result = dk.FiniteDifference(richardson=True).estimate(f, 0.5)
    assert int(result.nfev) == f.points
    levels = int(result.nfev) // 2  # two points per level of the central rule
    assert f.calls < levels  # levels are batched into fewer calls


# Random expressions whose first Richardson steps are longer than the scale on which f
# varies: the tableau used to settle on noise there and report "ok" (tests/test_properties.py).
FAST = [("cos(x**4)", -2.509), ("sin(exp(exp(x) - 1) - 1)", 1.598)]


@pytest.mark.parametrize(("expression", "point"), FAST)
def test_richardson_drops_steps_longer_than_the_scale_of_f(expression, point):
    """Where the first column is not yet asymptotic, the larger steps are dropped, not used.

    The error is within ten times the estimate, as in the property test: f itself is
    off by some 200 ulps near 1.598, more than the estimate's rounding floor assumes.
    """
    f = dk.Function.from_string(expression)
    exact = float(truth.derivative(f, point))
    fd = dk.FiniteDifference(richardson=True)
    result = fd.estimate(f, point)
    assert rel_error(result.value, exact) <= 1e-10
    assert abs(float(result.value) - exact) <= 10 * float(result.error)
    assert float(result.h) < 0.02  # the first steps, 0.31 and 0.2, were not the best
    among = fd.estimate(f, np.array([point, 0.5]))
    assert float(among.value[0]) == float(result.value)
    assert float(among.error[0]) == float(result.error)


def test_the_pilot_finds_a_length_far_below_x():
    """sin(exp(exp(x) - 1) - 1) at 2.8387 varies on 1e-8, and its inner argument (9.8e6)
    carries a rounding error of 2e-9: f' is knowable to about 1e-5, and no better."""
    f = dk.Function.from_string("sin(exp(exp(x) - 1) - 1)")
    exact = float(truth.derivative(f, 2.8387, 1))
    result = dk.FiniteDifference().estimate(f, 2.8387)
    assert abs(float(result.value) - exact) <= 2 * float(result.error)
    assert rel_error(result.value, exact) < 1e-2


def test_richardson_without_an_asymptotic_step_is_not_converged_with_no_error_bound():
    """The same f with scale=1 given: steps down to 1.7e-4 see noise."""
    f = dk.Function.from_string("sin(exp(exp(x) - 1) - 1)")
    fd = dk.FiniteDifference(richardson=True, scale=1.0)
    result = fd.estimate(f, 2.8387)
    assert result.status == "not-converged"
    assert float(result.error) == np.inf
    assert int(result.nfev) == 2 * fd.max_levels
    among = fd.estimate(f, np.array([2.8387, 0.5]))
    assert among.status.tolist() == ["not-converged", "ok"]
    assert float(among.value[0]) == float(result.value)


def test_richardson_on_a_polynomial_its_rule_makes_exact_stops_in_the_first_batch():
    """Differences lost in rounding pass the asymptotic check: x**2 costs one call of f."""
    f = CountingFunction(lambda x: x**2)
    result = dk.FiniteDifference(richardson=True).estimate(f, 3.0)
    assert result.status == "ok"
    assert float(result.value) == 6.0
    assert f.calls == 2  # the pilot's, and the first batch


def test_shape_of_points_is_kept():
    xs = np.linspace(0.1, 1, 12).reshape(3, 4)
    got = dk.FiniteDifference().derivative(np.log, xs)
    assert got.shape == (3, 4)
    np.testing.assert_allclose(got, 1 / xs, rtol=1e-8)


@pytest.mark.parametrize("scheme", ["forward", "central", "complex"])
def test_float32_in_gives_float32_out_with_float32_accuracy(scheme):
    xs = np.linspace(0.2, 2.0, 10, dtype=np.float32)
    got = dk.FiniteDifference(scheme=scheme).derivative(np.sin, xs)
    assert got.dtype == np.float32
    bound = {"forward": 3e-3, "central": 1e-4, "complex": 1e-6}[scheme]
    np.testing.assert_allclose(got, np.cos(xs.astype(float)), rtol=bound, atol=bound)


def test_integer_points_are_treated_as_float64():
    assert dk.FiniteDifference().derivative(np.exp, 0).dtype == np.float64


def test_results_are_deterministic():
    fd = dk.FiniteDifference(richardson=True)
    xs = np.linspace(0.1, 3, 7)
    assert np.array_equal(fd.derivative(np.log, xs), fd.derivative(np.log, xs))


# ---------------------------------------------------------------- domain and failures


def test_stencil_leaving_the_domain_falls_back_to_a_one_sided_rule():
    f = lambda x: np.sqrt(1.0 - x)  # noqa: E731  domain x <= 1
    x = 1.0 - 1e-9
    result = dk.FiniteDifference().estimate(f, x)
    exact = -0.5 / np.sqrt(1.0 - x)
    assert result.status in ("ok", "one-sided")  # the pilot shrinks the step to the edge
    assert np.isfinite(result.value)
    assert rel_error(result.value, exact) < 1e-8


def test_a_boundary_point_of_the_domain_uses_the_side_inside():
    """x^1.5 at 0: left of 0 is NaN; the forward rule gets f'(0) = 0 up to its O(sqrt h) error."""
    result = dk.FiniteDifference().estimate(lambda x: x**1.5, 0.0)
    # f'' is infinite at 0, so the one-sided pilot shrinks its step to almost nothing,
    # and the tableau's estimate is all that backs the (tiny) value: no ok claimed.
    assert result.status in ("one-sided", "not-converged")
    assert np.isfinite(result.value)
    assert abs(result.value) <= 2 * result.error + 1e-12


def test_given_steps_are_never_changed_by_the_fallback():
    result = dk.FiniteDifference(h=1e-3).estimate(np.sqrt, 0.0)
    assert result.status == "nonfinite"
    assert np.isnan(result.value)


def test_a_point_outside_the_domain_is_reported_not_invented():
    result = dk.FiniteDifference(richardson=True).estimate(np.log, np.array([-1.0, 2.0]))
    assert result.status.tolist() == ["nonfinite", "ok"]
    assert np.isnan(result.value[0])
    assert result.value[1] == pytest.approx(0.5, rel=1e-12)


def test_complex_step_refuses_functions_that_drop_the_imaginary_part():
    with pytest.raises(dk.ComplexStepError, match="complex values"):
        dk.FiniteDifference(scheme="complex").derivative(np.abs, 1.0)
    with pytest.raises(dk.ComplexStepError, match="raised"):
        dk.FiniteDifference(scheme="complex").derivative(lambda x: float(x), 1.0)


@pytest.mark.parametrize(
    ("expression", "primitive"),
    [
        ("x*abs(x)", "abs"),
        ("maximum(x, 0)*x", "maximum"),
        ("relu(x)*x", "relu"),
        ("sqrt(x**2)", "abs"),  # SymPy makes it Abs(x): x is real
        ("sign(x)*x**2", "sign"),
        ("exp(minimum(x, 1))", "minimum"),
    ],
)
def test_complex_step_refuses_expressions_that_are_not_analytic(expression, primitive):
    """Im f(x + ih) / h is f' only for analytic f; the expression names what is not."""
    fd = dk.FiniteDifference(scheme="complex")
    with pytest.raises(dk.ComplexStepError, match=rf"contains {primitive} \("):
        fd.derivative(dk.Function.from_string(expression), 0.7)
    with pytest.raises(dk.ComplexStepError, match=primitive):
        fd.derivative(expression, 0.7)
    variables = dk.Function.from_string(f"x + ({expression})", ["x", "y"])
    with pytest.raises(dk.ComplexStepError, match=primitive):
        fd.gradient(variables, [0.5, 0.7])
    with pytest.raises(dk.ComplexStepError, match=primitive):
        fd.hessian(variables, [0.5, 0.7])


NOT_ANALYTIC = {
    "x*abs(x)": lambda x: x * np.abs(x),  # the complex step gives |x|, f' is 2|x|
    "sign(x)*x**2": lambda x: np.sign(x) * x**2,  # 3|x| against 2|x|
    "exp(x)*abs(x - 0.5)": lambda x: np.exp(x) * np.abs(x - 0.5),
}


@pytest.mark.parametrize("name", sorted(NOT_ANALYTIC))
@pytest.mark.parametrize("point", [-2.5, -0.7, 1e-3, 0.7, 3.0])
def test_complex_step_probe_refuses_plain_callables_that_are_not_analytic(name, point):
    """Without an expression, a Cauchy-Riemann probe compares with real differences."""
    with pytest.raises(dk.ComplexStepError, match="analytic near the real axis"):
        dk.FiniteDifference(scheme="complex").derivative(NOT_ANALYTIC[name], point)


def test_complex_step_probe_refuses_sqrt_of_a_square_where_it_is_wrong_only():
    """sqrt(z**2) is z or -z near real x != 0, so the complex step is right there; at 0
    it gives 1 where |x| has no derivative (0 by the kink convention)."""
    fd = dk.FiniteDifference(scheme="complex")
    f = lambda x: np.sqrt(x**2)  # noqa: E731
    assert fd.derivative(f, [-0.7, 0.7]).tolist() == [-1.0, 1.0]
    with pytest.raises(dk.ComplexStepError, match=r"x = 0\.0"):
        fd.derivative(f, [0.7, 0.0])


@pytest.mark.parametrize("point", [-0.7, 0.0, 0.7, 3.0])
def test_complex_step_on_a_maximum_is_right_or_refused(point):
    """np.maximum orders complex numbers by real part first: maximum(x, 0) * x comes out
    right, so the probe lets it pass; it must never be silently wrong."""
    got = dk.FiniteDifference(scheme="complex").derivative(lambda x: np.maximum(x, 0) * x, point)
    assert got == pytest.approx(2 * max(point, 0.0), abs=1e-15)


ANALYTIC = {"exp": np.exp, "sin": np.sin, "x**3": lambda x: x**3}


@pytest.mark.parametrize("name", [*sorted(ANALYTIC), "squire_trapp"])
def test_complex_step_is_unchanged_bit_for_bit_on_analytic_functions(name):
    """The value is Im f(x + ih) / h with h = 1e-20 |x|, exactly as before the checks,
    wherever f is real at x; a plain callable pays 8 real evaluations for the probe, an
    expression none, and f(x) is evaluated once more only at roots of f (where Im f
    stands out against Re f) and outside the domain (squire_trapp at -2.5 and 3, where
    sin^3 + cos^3 < 0, once came back "ok" at 3.8e18 and 6.8e20)."""
    f = ANALYTIC.get(name) or catalog.get(name)
    xs = np.array([-2.5, -0.7, 0.0, 1e-3, 0.7, 1.5, 3.0])
    steps = np.where(xs == 0, 1.0, np.abs(xs)) * 1e-20
    expected = np.asarray(f(xs + 1j * steps)).imag / steps
    with np.errstate(invalid="ignore"):
        real = np.asarray(f(xs))
    expected[~np.isfinite(real)] = np.nan
    result = dk.FiniteDifference(scheme="complex").estimate(f, xs)
    assert np.array_equal(result.value, expected, equal_nan=True)
    probe = 0 if name == "squire_trapp" else 8
    again = (real == 0) | ~np.isfinite(real)
    assert result.check_nfev.tolist() == (probe + again).tolist()
    assert result.nfev.tolist() == (1 + result.check_nfev).tolist()
    assert result.status.tolist() == np.where(np.isfinite(real), "ok", "nonfinite").tolist()


@pytest.mark.parametrize("frequency", [1e4, 1e6, 1e8])
def test_complex_step_probe_passes_oscillations_too_fast_for_real_differences(frequency):
    """Where f varies below the probe's steps, the probe cannot judge and lets the
    complex step through (sin(1e8 x) at 0 and 3 once aliased with steps in ratio 2)."""
    xs = np.array([0.0, 3.0, -1.4394, 0.7, 2.0025])
    got = dk.FiniteDifference(scheme="complex").derivative(lambda x: np.sin(frequency * x), xs)
    np.testing.assert_allclose(got, frequency * np.cos(frequency * xs), rtol=1e-12)


def test_complex_step_probe_allows_the_truncation_of_a_given_step():
    """At a step the user gave, Im f(x + ih) / h is off by about h^2 |f^(3)| / 6: the
    probe allows for it (the V-curve of scripts/bench_fd.py runs h up to 1)."""
    f = catalog.get("squire_trapp").numpy
    for h in np.logspace(-16, 0, 33):
        dk.FiniteDifference(scheme="complex", h=h, fallback=False).estimate(f, 1.5)


def test_complex_step_hessian_probes_a_plain_callable_once():
    f = CountingFunction(lambda v: v[0] * np.abs(v[0]) + v[1] ** 2)
    with pytest.raises(dk.ComplexStepError):
        dk.FiniteDifference(scheme="complex").hessian(f, np.array([0.7, 0.3]))
    g = lambda v: np.exp(v[0]) * np.sin(v[1])  # noqa: E731
    got = dk.FiniteDifference(scheme="complex").hessian(g, np.array([0.7, 0.3]))
    e, s, c = np.exp(0.7), np.sin(0.3), np.cos(0.3)
    np.testing.assert_allclose(got, [[e * s, e * c], [e * c, -e * s]], rtol=1e-8)


@pytest.mark.parametrize("check", ["auto", "expression", "off", False])
@pytest.mark.parametrize(
    ("f", "point"),
    [(np.log, -0.7), (np.sqrt, -1.0), ("log(x)", -0.7), ("sqrt(x)", -1.0), (np.log, 0.0)],
    ids=["np.log", "np.sqrt", "log(x)", "sqrt(x)", "np.log@0"],
)
def test_complex_step_outside_the_real_domain_is_nonfinite(f, point, check):
    """np.log(-0.7 + 1e-20j) is finite (log 0.7 + i pi), and Im / h = 4.5e20 once came
    back "ok"; f at the real x says x is outside the domain, whatever analytic_check."""
    if check == "expression" and not isinstance(f, str):
        f = dk.Function.from_string(f"{f.__name__}(x)")
    fd = dk.FiniteDifference(scheme="complex", analytic_check=check)
    result = fd.estimate(f, np.array([point, 2.0]))
    assert result.status.tolist() == ["nonfinite", "ok"]
    assert np.isnan(result.value[0])
    assert np.isnan(result.error[0])
    cause = "-inf" if point == 0 else "nan"
    assert re.search(
        rf"x = {point!r} is outside f's real domain: f\(x\) is {cause}", result.message
    )
    assert result.check_nfev[0] == result.check_nfev[1] + 1  # one real evaluation
    assert np.isnan(fd.derivative(f, point))


def test_complex_step_domain_check_costs_nothing_where_f_is_real_and_away_from_roots():
    xs = np.array([-0.7, 0.3, 1e-3, 2.0])
    fd = dk.FiniteDifference(scheme="complex", analytic_check="expression")
    result = fd.estimate(dk.Function.from_string("exp(x)*cos(x)"), xs)
    assert result.nfev.tolist() == [1] * xs.size
    assert result.check_nfev.tolist() == [0] * xs.size
    assert result.message == ""
    at_root = fd.estimate("sin(x)", 0.0)  # Im f = h, Re f = 0: f(0) is evaluated, and real
    assert (int(at_root.nfev), str(at_root.status), float(at_root.value)) == (2, "ok", 1.0)


def test_analytic_check_chooses_what_the_complex_step_pays_for():
    """auto: the probe for a plain callable (8 evaluations), free for an expression;
    expression: never the probe, and no plain callable; off: nothing is checked."""
    x = np.array([0.3, 0.7])
    g = dk.Function.from_string("exp(x)*sin(x)")
    for check, f, cost in [("auto", np.exp, 8), ("auto", g, 0), ("expression", g, 0)]:
        result = dk.FiniteDifference(scheme="complex", analytic_check=check).estimate(f, x)
        assert result.check_nfev.tolist() == [cost, cost]
        assert result.nfev.tolist() == [1 + cost, 1 + cost]
    for off in ("off", False):
        fd = dk.FiniteDifference(scheme="complex", analytic_check=off)
        assert fd.estimate(np.exp, x).nfev.tolist() == [1, 1]
        # The caller vouched: x * abs(x) is not refused, and gives |x| (f' is 2|x|).
        assert fd.derivative(lambda t: t * np.abs(t), 0.5) == 0.5
        assert fd.derivative("x*abs(x)", 0.5) == 0.5
        assert fd.gradient(lambda v: v[0] * np.abs(v[0]), [0.5]).tolist() == [0.5]


def test_analytic_check_expression_refuses_what_it_cannot_check():
    fd = dk.FiniteDifference(scheme="complex", analytic_check="expression")
    assert repr(fd).endswith("analytic_check='expression')")
    with pytest.raises(dk.ComplexStepError, match="contains abs"):
        fd.derivative("x*abs(x)", 0.5)
    none = r"has none \(a plain callable\)"
    with pytest.raises(dk.ComplexStepError, match=none):
        fd.derivative(np.exp, 0.5)
    for call in (fd.gradient, fd.hessian):
        with pytest.raises(dk.ComplexStepError, match=none):
            call(lambda v: np.exp(v[0]), np.array([0.5]))


@pytest.mark.parametrize("check", ["on", True, None, "Expression", 0])
def test_analytic_check_is_validated(check):
    with pytest.raises(
        ValueError, match=r"analytic_check must be one of \('auto', 'expression', 'off'\) or False"
    ):
        dk.FiniteDifference(scheme="complex", analytic_check=check)


def test_analytic_check_belongs_to_the_complex_step():
    with pytest.raises(ValueError, match="analytic_check is an option of the complex and contour"):
        dk.FiniteDifference(scheme="central", analytic_check="off")


@pytest.mark.parametrize("levels", [2, 3])
def test_richardson_refuses_too_few_levels_to_ever_converge(levels):
    """The first column must pass Lyness' test twice (4 levels) before the tableau stops."""
    with pytest.raises(ValueError, match=r"max_levels must be >= 4 with richardson=True"):
        dk.FiniteDifference(richardson=True, max_levels=levels)
    assert dk.FiniteDifference(max_levels=levels).max_levels == levels  # unused without it


def test_richardson_with_the_fewest_levels_can_converge():
    fd = dk.FiniteDifference(richardson=True, max_levels=4)
    result = fd.estimate(lambda x: x**2, 1.3)
    assert str(result.status) == "ok"
    assert int(result.nfev) == 8 + 6 + 7  # four levels of two, the pilot's 6 and 7 noise nodes
    assert float(result.value) == pytest.approx(2.6, rel=1e-14)


def test_complex_step_gives_orders_one_and_two_only():
    with pytest.raises(ValueError, match="order 1 and 2"):
        dk.FiniteDifference(scheme="complex").derivative(np.sin, 1.0, n=3)


def test_elementwise_contract_is_checked():
    with pytest.raises(ValueError, match="elementwise"):
        dk.FiniteDifference().derivative(np.sum, np.ones(3))


# ---------------------------------------------------------------- several variables


MULTI = [
    ("rosenbrock2", 0),
    ("rosenbrock10", 1),
    ("logsumexp", 0),
    ("softmax_xent", 0),
    ("seed_xyz", 0),
]


@pytest.mark.parametrize(("name", "which"), MULTI)
@pytest.mark.parametrize(
    ("backend", "bound"), [("fd", 1e-7), ("fd-richardson", 1e-10), ("complex-step", 1e-13)]
)
def test_gradients_match_truth(name, which, backend, bound):
    f = catalog.get(name)
    point = np.array(f.points[which], dtype=float)
    exact = truth.gradient(f, point)
    got = dk.backend(backend).gradient(f, point)
    scale = np.max(np.abs(exact))
    assert np.max(np.abs(got - exact)) / scale < bound


@pytest.mark.parametrize(("name", "which"), [("rosenbrock2", 0), ("logsumexp", 0), ("seed_xyz", 0)])
@pytest.mark.parametrize(
    ("backend", "bound"), [("fd", 1e-5), ("fd-richardson", 1e-9), ("complex-step", 1e-7)]
)
def test_hessians_match_truth_and_are_symmetric(name, which, backend, bound):
    f = catalog.get(name)
    point = np.array(f.points[which], dtype=float)
    exact = truth.hessian(f, point)
    got = dk.backend(backend).hessian(f, point)
    assert np.array_equal(got, got.T)
    assert np.max(np.abs(got - exact)) / np.max(np.abs(exact)) < bound


def test_jacobian_of_a_vector_function():
    def f(v):
        return np.array([v[0] * v[1], np.sin(v[0]) + v[1] ** 2, np.exp(v[1])])

    x = np.array([0.3, -1.2])
    exact = np.array([[x[1], x[0]], [np.cos(x[0]), 2 * x[1]], [0.0, np.exp(x[1])]])
    for name in ("fd", "fd-richardson", "complex-step"):
        got = dk.backend(name).jacobian(f, x)
        assert got.shape == (3, 2)
        np.testing.assert_allclose(got, exact, rtol=1e-7, atol=1e-9)


def test_one_step_per_variable_in_gradients():
    f = lambda v: v[0] ** 2 + 10 * v[1] ** 2  # noqa: E731
    got = dk.FiniteDifference(scheme="forward", h=[0.5, 0.25]).gradient(f, [1.0, 1.0])
    assert got.tolist() == [2.5, 22.5]
    with pytest.raises(ValueError, match="one step per variable"):
        dk.FiniteDifference(h=[0.1, 0.1, 0.1]).gradient(f, [1.0, 1.0])


@pytest.mark.parametrize(("name", "point"), SMOOTH_1D[::3], ids=IDS[::3])
def test_one_point_richardson_gives_the_same_bits_as_the_array_path(name, point):
    """A scalar call takes a float fast path; a point inside an array takes the NumPy one."""
    f = catalog.get(name)
    fd = dk.FiniteDifference(richardson=True)
    alone = fd.estimate(f, point)
    among = fd.estimate(f, np.array([point, point + 0.25 * abs(point) + 0.125]))
    assert float(alone.value) == float(among.value[0])
    assert float(alone.error) == float(among.error[0])
    assert float(alone.h) == float(among.h[0])
    assert int(alone.nfev) == int(among.nfev[0])


@pytest.mark.parametrize(("name", "point"), SMOOTH_1D, ids=IDS)
@pytest.mark.parametrize("scheme", ["central", "complex"])
def test_error_estimates_of_single_rules_cover_the_actual_error(name, point, scheme):
    f = catalog.get(name)
    exact = float(truth.derivative(f, point, 1))
    result = dk.FiniteDifference(scheme=scheme).estimate(f, point)
    assert float(result.error) >= abs(float(result.value) - exact)


@pytest.mark.parametrize("scheme", ["central", "complex"])
def test_a_matrix_point_reaches_f_as_the_matrix(scheme):
    """f(a) = sum(a @ a) at a 2x2 point: a flat point would make ``a @ a`` a dot product and
    the gradient 2a, silently another function's. d/da_ij sum(a @ a) = (sum_k a_jk + sum_k a_ki)."""
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    f = lambda m: np.sum(m @ m)  # noqa: E731
    exact = a.sum(axis=1)[None, :] + a.sum(axis=0)[:, None]
    fd = dk.FiniteDifference(scheme=scheme)
    np.testing.assert_allclose(fd.gradient(f, a), exact, rtol=1e-7)
    exact_jacobian = np.kron(np.eye(2), a.T) + np.kron(a, np.eye(2))  # row-major vec
    jacobian = fd.jacobian(lambda m: m @ m, a)
    assert jacobian.shape == (2, 2, 2, 2)  # f's output shape + x's shape
    np.testing.assert_allclose(jacobian.reshape(4, 4), exact_jacobian, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(
        fd.hessian(f, a), dk.ReverseMode().hessian(f, a), rtol=1e-5, atol=1e-6
    )
