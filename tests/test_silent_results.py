"""No silent wrong result: each case below once came back as a number marked ok (or as no
error at all) where the right answer was a refusal or another number.

Reproduced by trying to break diffkit on purpose (issue 13); every test names the
result it once gave.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import diffkit as dk
from diffkit.backends.complexstep import ComplexStepError
from diffkit.sweep import sweep


def rosen(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


@pytest.mark.parametrize("bad", [None, "s", object()])
def test_reverse_mode_refuses_a_function_that_returns_no_number(bad):
    """ReverseMode().derivative(lambda x: None, 0.5) was 0.0, grad of a str zeros."""
    with pytest.raises(TypeError, match="not an array or a number"):
        dk.ReverseMode().derivative(lambda x: bad, 0.5)
    with pytest.raises(TypeError, match="not an array or a number"):
        dk.grad(lambda x: bad)(np.zeros(2))


def test_a_sweep_row_of_a_function_with_the_wrong_output_shape_is_never_ok():
    """Two values where a sweep needs one: the rows were ok with value 0.0."""
    frame = sweep(
        [lambda x: np.array([x, x])],
        points=[0.5],
        methods=["central"],
        steps=[1e-3],
        backends=["reverse", "fd-richardson"],
    )
    assert not (frame["status"] == "ok").any()
    assert frame["message"].str.len().gt(0).all()


@pytest.mark.parametrize("scheme", ["central", "complex"])
def test_finite_differences_keep_an_n_d_point_whole(scheme):
    """The gradient at a 2x2 point was [[-151, -50], [251, -50]]: f saw a flat vector."""
    x = np.array([[0.5, 1.0], [1.5, 2.0]])
    want = np.array([[-251.0, -400.0], [250.0, 200.0]])
    np.testing.assert_allclose(dk.grad(rosen)(x), want, rtol=1e-14)
    np.testing.assert_allclose(
        dk.FiniteDifference(scheme=scheme).gradient(rosen, x), want, rtol=1e-8
    )


def test_the_complex_step_where_f_is_infinite_is_not_ok():
    """exp(1000 x) at 1 overflows: the value was 0.0 marked ok."""
    result = dk.FiniteDifference(scheme="complex").estimate(lambda x: np.exp(1000 * x), 1.0)
    assert str(result.status) != "ok"
    assert not np.isfinite(float(result.value))


@pytest.mark.parametrize("scheme", ["central", "complex"])
def test_a_complex_valued_f_is_refused(scheme):
    """exp(x) (1 + i): the complex step read about 1/h marked ok."""
    with pytest.raises(ComplexStepError, match="complex values for real input"):
        dk.FiniteDifference(scheme=scheme).estimate(lambda x: np.exp(x) * (1 + 1j), 1.0)


# ---------------------------------------------------------------------- costs said up front


def test_large_hessians_say_what_they_will_cost():
    """At n = 5000 both ran for minutes without a word: past a documented size they warn
    with the cost and the method that does it cheaply, before any work."""
    from diffkit.backends.costs import FD_HESSIAN_WARN, SYMBOLIC_HESSIAN_WARN

    class Stop(Exception):
        pass

    def f(x):
        raise Stop  # the warning must come first: f is never needed to see it

    assert FD_HESSIAN_WARN < 5000
    fd_cost = pytest.warns(dk.CostWarning, match=r"about 100,000,000 evaluations of f")
    with fd_cost, pytest.raises(Stop):
        dk.FiniteDifference().hessian(f, np.zeros(5000))
    symbolic_cost = pytest.warns(dk.CostWarning, match="12,502,500 exact second derivatives")
    with symbolic_cost, pytest.raises(Stop):
        dk.Symbolic().hessian(f, np.zeros(5000))
    assert SYMBOLIC_HESSIAN_WARN < 5000
    with warnings.catch_warnings():
        warnings.simplefilter("error", dk.CostWarning)
        dk.FiniteDifference().hessian(lambda x: np.sum(x**2), np.ones(3))
        dk.Symbolic().hessian(lambda x: np.sum(x**2), np.ones(3))
