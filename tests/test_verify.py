"""check_gradient & co: correct derivatives pass, wrong ones are caught and located."""

from __future__ import annotations

import math

import numpy as np
import pytest

import diffkit as dk
from diffkit import catalog, truth
from diffkit.symbolic import TracerError
from diffkit.verify import GradientMismatch, check_backward, taylor_test
from diffkit.verify.reference import REASON_CHARS


def f_smooth(x):
    return np.sum(np.sin(x) * x**2)


def g_smooth(x):
    return np.cos(x) * x**2 + 2 * x * np.sin(x)


def wrong_at(i, delta):
    def g(x):
        out = np.array(g_smooth(x), dtype=np.float64)
        out[i] *= 1 + delta
        return out.astype(np.asarray(x).dtype)

    return g


X = np.linspace(0.2, 1.3, 6)


@pytest.mark.parametrize(
    "name", ["rosenbrock2", "rosenbrock10", "seed_abc", "logsumexp", "softmax_xent", "mlp_tanh"]
)
def test_catalog_truth_gradient_passes(name):
    f = catalog.get(name)
    x = np.asarray(f.points[0], dtype=float)
    report = dk.check_gradient(f, truth.gradient(f, x), x)
    assert report.passed


def test_hand_written_gradient_passes_both_modes():
    assert dk.check_gradient(f_smooth, g_smooth, X).passed
    assert dk.check_gradient(f_smooth, g_smooth, X, mode="directions").passed


def test_one_wrong_component_is_caught_with_its_index_and_labels():
    with pytest.raises(GradientMismatch, match=r"x\[3\]") as info:
        dk.check_gradient(f_smooth, wrong_at(3, 1e-6), X)
    message = str(info.value)
    assert "yours" in message
    assert "symbolic" in message
    assert info.value.report.failed.tolist() == [3]


def test_untraceable_function_uses_richardson_and_still_catches():
    def branchy(x):
        return np.sum(np.sin(x) * x**2) if x[0] > 0 else 0.0

    assert dk.check_gradient(branchy, g_smooth, X).method == "fd-richardson"
    with pytest.raises(GradientMismatch, match=r"fd-richardson") as info:
        dk.check_gradient(branchy, wrong_at(2, 1e-6), X)
    assert info.value.report.failed.tolist() == [2]


def test_large_n_directions_catch_and_bisection_locates():
    x = np.linspace(-2, 2, 500)
    assert dk.check_gradient(f_smooth, g_smooth, x).mode == "directions"
    with pytest.raises(GradientMismatch, match=r"x\[137\]"):
        dk.check_gradient(f_smooth, wrong_at(137, 1e-4), x)


@pytest.mark.parametrize(
    ("f", "point", "yours", "kink"),
    [
        # the tie of maximum gives 1/2 (the reference); any value in [0, 1] is a subgradient
        (lambda x: np.sum(np.maximum(x, 0.0)), [0.0, 1.0], [0.25, 1.0], 0),
        (lambda x: np.sum(np.abs(x)), [1.0, 0.0], [1.0, -0.3], 1),
    ],
)
def test_subgradient_at_a_kink_passes_with_a_note(f, point, yours, kink):
    report = dk.check_gradient(f, np.array(yours), np.array(point))
    assert report.passed
    assert f"kink at x[{kink}]" in str(report)


def test_value_outside_the_one_sided_derivatives_fails_at_a_kink():
    with pytest.raises(GradientMismatch, match=r"kink at x\[0\]"):
        dk.check_gradient(lambda x: np.sum(np.abs(x)), np.array([1.5]), np.array([0.0]))


def test_float32_correct_passes_and_1e3_is_caught():
    x = X.astype(np.float32)
    assert dk.check_gradient(f_smooth, g_smooth, x).passed
    with pytest.raises(GradientMismatch, match=r"x\[1\]"):
        dk.check_gradient(f_smooth, wrong_at(1, 1e-3), x)


def test_directions_mode_is_deterministic():
    x = np.linspace(-1, 1, 50)
    a = dk.check_gradient(f_smooth, g_smooth, x, mode="directions", seed=7)
    b = dk.check_gradient(f_smooth, g_smooth, x, mode="directions", seed=7)
    np.testing.assert_array_equal(a.reference, b.reference)
    np.testing.assert_array_equal(a.tolerance, b.tolerance)


def test_taylor_slope_is_two_for_correct_and_one_for_wrong():
    d = np.random.default_rng(0).standard_normal(X.size)
    g = g_smooth(X)
    assert taylor_test(f_smooth, g, X, d).slope == pytest.approx(2.0, abs=0.1)
    assert taylor_test(f_smooth, g * 1.1, X, d).slope == pytest.approx(1.0, abs=0.1)


def test_user_rtol_and_atol_are_honoured():
    wrong = wrong_at(2, 1e-3)
    with pytest.raises(GradientMismatch):
        dk.check_gradient(f_smooth, wrong, X)
    assert dk.check_gradient(f_smooth, wrong, X, rtol=1e-2).passed
    assert dk.check_gradient(f_smooth, wrong, X, atol=1e-2).passed
    with pytest.raises(ValueError, match="rtol"):
        dk.check_gradient(f_smooth, g_smooth, X, rtol=-1.0)


def test_check_jacobian():
    def F(x):
        return np.array([x[0] * x[1], np.sin(x[0]) + x[1] ** 2])

    x = np.array([0.7, -1.2])
    J = np.array([[x[1], x[0]], [np.cos(x[0]), 2 * x[1]]])
    assert dk.check_jacobian(F, J, x, rtol=1e-6).passed
    bad = J.copy()
    bad[1, 0] *= 1 + 1e-6
    with pytest.raises(GradientMismatch, match=r"J\[1,0\]"):
        dk.check_jacobian(F, bad, x)


def test_check_hessian():
    f = catalog.get("rosenbrock2")
    x = np.asarray(f.points[0], dtype=float)
    H = truth.hessian(f, x)
    assert dk.check_hessian(f, H, x).passed
    bad = H.copy()
    bad[0, 1] *= 1 + 1e-6
    with pytest.raises(GradientMismatch, match=r"H\[0,1\]"):
        dk.check_hessian(f, bad, x)


def test_check_backward_on_our_engine():
    report = check_backward(f_smooth, X)
    assert report.passed
    assert "reverse" in report.table()


def test_shape_mismatch_names_the_shapes():
    with pytest.raises(ValueError, match="shape"):
        dk.check_gradient(f_smooth, np.zeros(3), X)


def F_vec(x):
    return np.array([x[0] * x[1], np.sin(x[0]) + x[1] ** 2, np.sum(np.exp(0.1 * x))])


def J_vec(x):
    return np.array(
        [
            [x[1], x[0]],
            [np.cos(x[0]), 2 * x[1]],
            [0.1 * np.exp(0.1 * x[0]), 0.1 * np.exp(0.1 * x[1])],
        ]
    )


XJ = np.array([0.7, -1.2])


def F_wide(x):
    return np.array([np.sum(np.sin(x) * x**2), np.sum(np.cos(x) * x), x[3] * x[137]])


def J_wide(x):
    out = np.zeros((3, x.size))
    out[0] = g_smooth(x)
    out[1] = np.cos(x) - x * np.sin(x)
    out[2, 3], out[2, 137] = x[137], x[3]
    return out


XW = np.linspace(-2, 2, 150)


@pytest.mark.parametrize("mode", ["components", "directions"])
def test_correct_jacobian_passes_both_modes(mode):
    report = dk.check_jacobian(F_vec, J_vec(XJ), XJ, mode=mode)
    assert report.passed
    assert report.mode == mode


@pytest.mark.parametrize("mode", ["components", "directions"])
def test_jacobian_wrong_in_one_entry_is_caught_with_row_and_column(mode):
    bad = J_vec(XJ)
    bad[1, 0] *= 1 + 1e-6
    with pytest.raises(GradientMismatch, match=r"J\[1,0\]") as info:
        dk.check_jacobian(F_vec, bad, XJ, mode=mode)
    report = info.value.report
    assert [report.index[i] for i in report.failed if report.index[i].startswith("J[")] == [
        "J[1,0]"
    ]


def test_large_n_jacobian_directions_catch_and_bisection_locates():
    assert dk.check_jacobian(F_wide, J_wide, XW).mode == "directions"
    bad = J_wide(XW)
    bad[1, 137] *= 1 + 1e-6
    with pytest.raises(GradientMismatch, match=r"J\[1,137\]") as info:
        dk.check_jacobian(F_wide, bad, XW)
    assert "bisection located 1 entries" in str(info.value)


def test_jacobian_directions_mode_is_deterministic():
    a = dk.check_jacobian(F_wide, J_wide, XW, mode="directions", seed=3)
    b = dk.check_jacobian(F_wide, J_wide, XW, mode="directions", seed=3)
    assert a.index == b.index
    np.testing.assert_array_equal(a.reference, b.reference)
    np.testing.assert_array_equal(a.tolerance, b.tolerance)
    np.testing.assert_array_equal(a.taylor.remainder, b.taylor.remainder)


def test_jacobian_taylor_slope_is_two_for_correct_and_one_for_wrong():
    good = dk.check_jacobian(F_vec, J_vec(XJ), XJ)
    assert good.taylor.slope == pytest.approx(2.0, abs=0.2)
    bad = J_vec(XJ)
    bad[1, 0] *= 1.1
    wrong = dk.check_jacobian(F_vec, bad, XJ, raise_on_failure=False)
    assert not wrong.passed
    assert wrong.taylor.slope == pytest.approx(1.0, abs=0.1)
    assert "Taylor test: remainder slope" in str(wrong)


def test_taylor_test_takes_a_jacobian():
    d = np.random.default_rng(1).standard_normal(XJ.size)
    assert taylor_test(F_vec, J_vec(XJ), XJ, d).slope == pytest.approx(2.0, abs=0.2)
    assert taylor_test(F_vec, J_vec(XJ) * 1.1, XJ, d).slope == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("mode", ["components", "directions"])
def test_check_hessian_both_modes(mode):
    f = catalog.get("rosenbrock10")
    x = np.asarray(f.points[0], dtype=float)
    H = truth.hessian(f, x)
    report = dk.check_hessian(f, H, x, mode=mode)
    assert report.passed
    assert report.taylor.slope == pytest.approx(2.0, abs=0.2)
    bad = H.copy()
    bad[2, 3] *= 1 + 1e-6
    with pytest.raises(GradientMismatch, match=r"H\[2,3\]") as info:
        dk.check_hessian(f, bad, x, mode=mode)
    report = info.value.report
    assert [report.index[i] for i in report.failed if report.index[i].startswith("H[")] == [
        "H[2,3]"
    ]
    wrong = bad.copy()
    wrong[2, 3] *= 1.1
    slope = dk.check_hessian(f, wrong, x, mode=mode, raise_on_failure=False).taylor.slope
    assert slope == pytest.approx(1.0, abs=0.1)


def test_check_jacobian_validates_mode():
    with pytest.raises(ValueError, match="mode"):
        dk.check_jacobian(F_vec, J_vec(XJ), XJ, mode="sideways")


# ---------------------------------------------------------------- which reference, and why
# Functions the tracer will never take (a Python branch on the input, a conversion to
# float, math on a Python float), so these notes stay fd-richardson as the tracer grows.

SYMBOLIC_NOTE = "reference: symbolic (exact derivative of the traced function)"
RICHARDSON_NOTE = (
    "reference: fd-richardson (Richardson finite differences with their error estimate)"
)
UNTRACEABLE = RICHARDSON_NOTE + " because the symbolic backend could not trace f: "


def branchy(x):
    return np.sum(np.sin(x) * x**2) if x[0] > 0 else 0.0


def floated(x):
    return np.sum(np.sin(x) * x**2) + 0.0 * float(x[0])


def math_sin(x):
    return np.sum(np.sin(x[1:]) * x[1:] ** 2) + math.sin(x[0]) * x[0] ** 2


def test_a_traceable_function_notes_the_symbolic_reference():
    report = dk.check_gradient(f_smooth, g_smooth, X)
    assert report.method == "symbolic"
    assert report.notes == (SYMBOLIC_NOTE,)
    assert SYMBOLIC_NOTE in str(report)


def _tracer_message(f):
    """What the tracer itself says about f, on one line (its wording is its own business)."""
    with pytest.raises(TracerError) as info:
        dk.Symbolic().gradient(f, X)
    return " ".join(str(info.value).split())


@pytest.mark.parametrize("f", [branchy, floated, math_sin])
def test_an_untraceable_function_notes_the_tracers_reason_on_one_line(f):
    report = dk.check_gradient(f, g_smooth, X)
    assert report.method == "fd-richardson"
    (note,) = report.notes
    assert note.startswith(UNTRACEABLE)
    reason = note.removeprefix(UNTRACEABLE)
    assert len(reason) >= 20
    assert _tracer_message(f).startswith(reason.removesuffix("..."))
    assert "\n" not in note
    assert len(reason) <= REASON_CHARS
    assert note in str(report)


def test_the_mismatch_message_says_why_the_reference_is_finite_differences():
    with pytest.raises(GradientMismatch) as info:
        dk.check_gradient(branchy, wrong_at(2, 1e-6), X)
    assert UNTRACEABLE in str(info.value)


def test_method_fd_is_noted_as_asked_for():
    report = dk.check_gradient(f_smooth, g_smooth, X, method="fd")
    assert report.notes == (RICHARDSON_NOTE + " because method='fd' was asked for",)


def test_method_symbolic_that_cannot_trace_raises_with_the_reason():
    with pytest.raises(
        TypeError, match=r"no symbolic reference: the symbolic backend could not trace f: "
    ):
        dk.check_gradient(branchy, g_smooth, X, method="symbolic")


def test_too_many_variables_to_trace_is_noted_with_the_count_and_the_limit():
    x = np.linspace(0.1, 1.0, 250)
    report = dk.check_gradient(f_smooth, g_smooth, x, mode="components", taylor=False)
    assert report.notes == (
        RICHARDSON_NOTE + " because x has 250 variables (> 100, the limit for tracing)",
    )


def test_directions_mode_notes_its_reference_and_why():
    x = np.linspace(0.1, 1.0, 250)
    (note,) = dk.check_gradient(f_smooth, g_smooth, x).notes
    assert note.startswith("reference: fd-richardson (Richardson derivatives of f along 3 seeded")
    assert "because x has 250 variables (>= 33, where mode='auto' checks directions" in note
    (note,) = dk.check_gradient(f_smooth, g_smooth, X, mode="directions").notes
    assert note.endswith("because mode='directions' was asked for")


def test_a_direction_failure_notes_both_references_in_order():
    notes = dk.check_gradient(
        f_smooth, wrong_at(3, 1e-4), X, mode="directions", raise_on_failure=False
    ).notes
    assert [n.split(" (")[0] for n in notes] == [
        "reference: fd-richardson",
        "direction check failed along d0; checked every component",
        "reference: symbolic",
    ]


def test_a_symbolic_result_that_is_not_finite_is_noted():
    # exp(-1/x^2) is smooth with derivative 0 at 0, but its symbolic derivative
    # 2 exp(-1/x^2) / x^3 evaluates to 0 * inf there.
    def flat(x):
        with np.errstate(divide="ignore"):
            return np.sum(np.exp(-1.0 / x**2))

    x = np.array([0.0, 0.5])
    grad = np.array([0.0, 2 * np.exp(-4.0) / 0.125])
    report = dk.check_gradient(flat, grad, x)
    assert report.passed
    assert report.notes == (
        RICHARDSON_NOTE
        + " because the symbolic result was not finite at the point (1 of 2 entries)",
    )


def test_check_backward_notes_its_reference():
    assert check_backward(f_smooth, X).notes == (SYMBOLIC_NOTE,)
    (note,) = check_backward(branchy, X).notes
    assert note.startswith(UNTRACEABLE)


def test_check_jacobian_notes_its_reference():
    def branchy_vec(x):
        return np.sin(x) if x[0] > 0 else x

    J = np.diag(np.cos(X))
    assert dk.check_jacobian(np.sin, J, X).notes == (SYMBOLIC_NOTE,)
    (note,) = dk.check_jacobian(branchy_vec, J, X).notes
    assert note.startswith(UNTRACEABLE)
    assert dk.check_jacobian(np.sin, J, X, method="fd").notes == (
        RICHARDSON_NOTE + " because method='fd' was asked for",
    )
    (note,) = dk.check_jacobian(np.sin, J, X, mode="directions").notes
    assert note.startswith("reference: fd-richardson (Richardson derivatives of f along 3")
    with pytest.raises(GradientMismatch, match=r"because the symbolic backend could not trace"):
        dk.check_jacobian(branchy_vec, J * 1.01, X)


def test_check_hessian_notes_its_reference():
    H = dk.Symbolic().hessian(f_smooth, X)
    assert dk.check_hessian(f_smooth, H, X).notes == (SYMBOLIC_NOTE,)
    (note,) = dk.check_hessian(branchy, H, X).notes
    assert note.startswith(
        "reference: fd-richardson(reverse grad) (Richardson finite differences of diffkit's "
        "reverse-mode gradient, with their error estimate) because the symbolic backend "
        "could not trace f: "
    )
    (note,) = dk.check_hessian(f_smooth, H, X, mode="directions").notes
    assert note.startswith(
        "reference: fd-richardson (Richardson derivatives of diffkit's reverse-mode gradient "
        "along 3 seeded directions"
    )
