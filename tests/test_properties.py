"""Properties over random expressions: exact backends agree, Richardson keeps its error estimate.

Functions come from ``diffkit.randexpr`` through a hypothesis strategy: hypothesis
draws the seed, the depth, the number of variables and a subset of the table's rows,
and the generator builds the tree and finds points inside its domain.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, reject, settings
from hypothesis import strategies as st

from diffkit import truth
from diffkit.backends import FiniteDifference, backend
from diffkit.function import Function
from diffkit.randexpr import DEFAULT_OPS, random_function

EPS = float(np.finfo(float).eps)
SMOOTH_OPS = tuple(
    name for name in DEFAULT_OPS if name not in ("abs", "relu", "maximum", "minimum", "sign")
)

# Reproducible in CI: a fixed sequence of examples and no example database.
PROFILE = settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@st.composite
def random_functions(
    draw: st.DrawFn,
    *,
    ops: tuple[str, ...] = DEFAULT_OPS,
    max_depth: int = 5,
    max_variables: int = 3,
) -> Function:
    """A random function of ``diffkit.randexpr`` with one point; hypothesis picks its shape."""
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    depth = draw(st.integers(min_value=1, max_value=max_depth))
    nvars = draw(st.integers(min_value=1, max_value=max_variables))
    rows = draw(
        st.one_of(
            st.just(ops),
            st.lists(st.sampled_from(ops), min_size=2, max_size=6, unique=True).map(tuple),
        )
    )
    try:
        return random_function(
            seed, 0, depth=(depth, depth), variables=(nvars,), ops=rows, points=1
        )
    except RuntimeError:  # rows that make no usable tree (say, sign alone): draw again
        reject()


def _derivatives(f: Function, point: Any) -> tuple[np.ndarray, np.ndarray]:
    """(symbolic, reverse) first derivative or gradient at ``point``."""
    symbolic, reverse = backend("symbolic"), backend("reverse")
    with np.errstate(all="ignore"):
        if f.ndim == 1:
            return (
                np.atleast_1d(symbolic.derivative(f, point)),
                np.atleast_1d(reverse.derivative(f, point)),
            )
        x = np.asarray(point, dtype=float)
        return symbolic.gradient(f, x), reverse.gradient(f, x)


# ---------------------------------------------------------------- exact backends agree


@settings(PROFILE, max_examples=40)
@given(random_functions())
def test_symbolic_and_reverse_mode_agree_to_1e_12(f: Function) -> None:
    """Where both are finite, normwise relative difference <= 1e-12, with an absolute floor.

    The floor, 1e-15 * max(1, |f|), is for derivatives that vanish: one backend's
    exact 0 against the other's 1e-17 differs in every digit and means nothing.
    """
    (point,) = f.points
    a, b = _derivatives(f, point)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return
    size = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))))
    value = float(np.max(np.abs(np.asarray(f(np.asarray(point, dtype=float)), dtype=float))))
    tolerance = 1e-12 * size + 1e-15 * max(1.0, value)
    assert float(np.max(np.abs(a - b))) <= tolerance, (f.name, str(f.expr), point, a, b)


# ---------------------------------------------------------------- Richardson's estimate

RICHARDSON = FiniteDifference(richardson=True)
F_ACCURATE = 8.0


def _richardson_excess(f: Function, point: float) -> tuple[float, float, float, float]:
    """(actual error, estimated error, 4-ulp allowance, f's own error in ulps) at ``point``.

    The last is f's float evaluation error against the exact value, near ``point``
    (at x + k h, k = -2..2, h Richardson's final step), in units of eps * max|f|: the
    estimate's rounding floor assumes about one, and ``log(x**2 + 1)`` at small x
    (where 1 + x**2 rounds) has dozens.
    """
    with np.errstate(all="ignore"):
        result = RICHARDSON.estimate(f, point)
    exact = float(truth.derivative(f, point))
    actual = abs(float(result.value) - exact)
    around = point + float(result.h) * np.arange(-2.0, 3.0)
    exact_values = truth.value(f, around)
    with np.errstate(all="ignore"):
        wrong = np.max(np.abs(np.asarray(f(around), dtype=float) - exact_values))
    size = max(float(np.max(np.abs(exact_values))), np.finfo(float).tiny)
    return actual, float(result.error), 4 * EPS * abs(exact), float(wrong / size / EPS)


@settings(PROFILE, max_examples=60)
@given(random_functions(ops=SMOOTH_OPS, max_depth=4, max_variables=1))
def test_richardson_error_is_within_ten_times_its_estimate(f: Function) -> None:
    """|value - truth| <= 10 * estimate + 4 ulps, for smooth functions (no kink in a stencil).

    Kinks are left out on purpose: the estimate assumes f is smooth across the
    stencil, and a kink closer than the first step breaks that (measured in
    ``test_richardson_estimate_rate_on_a_fixed_sample``).
    """
    (point,) = f.points
    actual, estimate, ulps, f_error = _richardson_excess(f, float(point))
    assume(f_error <= F_ACCURATE)
    assert actual <= 10 * estimate + ulps, (str(f.expr), point, actual, estimate)


def test_richardson_estimate_rate_on_a_fixed_sample(record_property: Any) -> None:
    """How often the actual error exceeds the estimate at all, and ten times, on 120 points.

    Measured on 600 points of seed 300 (depth 1-4, every row): exceeded 2.5%, ten times
    0.7% before the first column had to pass Lyness' test, 2.0% and 0.17% since. The
    excesses came in three kinds: a first step far above the scale on which f varies
    (``sin(exp(exp(x) - 1) - 1)`` at 2.8387: the tableau settled on noise; now the
    larger steps are dropped, or the point is not-converged with an infinite error,
    see the test below), a kink inside the first stencil (``Min(1, 2 - x)`` at
    0.9476), and an f computed far less accurately than the estimate's rounding floor
    assumes (``atan(log(x**2 + 1))`` at 0.0659: 1 + x**2 rounds, so f is off by about
    100 ulps, and the error is 8.5e-14 against an estimate of 7.4e-15). Only the first
    kind is Richardson's own: the others break its premises (f smooth across the
    stencil, f accurate to about one ulp), which the property test above requires.
    """
    exceeded = tenfold = total = 0
    for index in range(60):
        f = random_function(301, index)
        for point in f.points:
            if truth.on_kink(f, point):
                continue
            actual, estimate, ulps, _ = _richardson_excess(f, float(point))
            total += 1
            exceeded += actual > estimate + ulps
            tenfold += actual > 10 * estimate + ulps
    record_property("richardson_exceeded", f"{exceeded}/{total}")
    record_property("richardson_exceeded_tenfold", f"{tenfold}/{total}")
    assert exceeded / total < 0.10
    assert tenfold / total < 0.03


def test_richardson_estimate_holds_for_a_fast_oscillation() -> None:
    """``sin(exp(exp(x) - 1) - 1)`` at 2.8387 varies on a scale of 4e-8, and its values
    carry a rounding error of 2e-9 relative (its inner argument is 9.8e6), far above
    eps |f|: the pilot measures that noise, and the estimate covers the error."""
    f = Function.from_string("sin(exp(exp(x) - 1) - 1)")
    actual, estimate, ulps, _ = _richardson_excess(f, 2.8387)
    assert actual <= 10 * estimate + ulps, (actual, estimate)


def test_exact_reference_of_the_fast_oscillation_is_right() -> None:
    """The truth used above is the derivative itself, not an artefact: cos(u) e^(e^x - 1) e^x."""
    x = 2.8387
    inner = math.exp(math.exp(x) - 1)
    expected = math.cos(inner - 1) * inner * math.exp(x)
    got = float(truth.derivative(Function.from_string("sin(exp(exp(x) - 1) - 1)"), x))
    assert got == pytest.approx(expected, rel=1e-6)
