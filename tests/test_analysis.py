"""The error model against measured errors, and the metrics the report builds on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import diffkit as dk
from diffkit import analysis, catalog
from diffkit.backends.stencils import stencil


@pytest.mark.parametrize(("scheme", "accuracy"), [("forward", 1), ("central", 2), ("central", 4)])
def test_predicted_optimum_matches_the_observed_v_curve(scheme, accuracy):
    """On Squire-Trapp at 1.5, the error at the predicted h* is near the best observed one,
    and the predicted floor bounds the observed floor from above (rounding is a bound)."""
    f = catalog.get("squire_trapp")
    rule = stencil(scheme, 1, accuracy)
    model = analysis.theory(f, 1.5, rule)
    steps = np.logspace(-14, -1, 131)
    fd = dk.FiniteDifference(
        scheme=scheme, accuracy=accuracy, h=np.append(steps, model.optimal_step)
    )
    values = fd.derivative(f, np.full(steps.size + 1, 1.5))
    err = np.abs(values - float(dk.truth.derivative(f, 1.5)))
    at_optimum, observed = err[-1], err[:-1]
    assert at_optimum < 30 * observed.min()  # the floor is noise: its lowest point is luck
    assert observed.min() < 2 * model.minimal_error
    assert observed.min() > model.minimal_error / 100


def test_truncation_side_follows_the_model_closely():
    f = catalog.get("squire_trapp")
    rule = stencil("central", 1, 2)
    model = analysis.theory(f, 1.5, rule)
    h = np.array([1e-2, 3e-3, 1e-3])
    values = dk.FiniteDifference(h=h).derivative(f, np.full(3, 1.5))
    err = np.abs(values - float(dk.truth.derivative(f, 1.5)))
    np.testing.assert_allclose(err, model.truncation(h), rtol=0.05)


@pytest.mark.parametrize(
    ("scheme", "accuracy", "order"), [("forward", 1, 1), ("central", 2, 2), ("central", 4, 4)]
)
def test_fitted_order_recovers_the_rule_accuracy(scheme, accuracy, order):
    h = np.logspace(-3, -1, 9)
    values = dk.FiniteDifference(scheme=scheme, accuracy=accuracy, h=h).derivative(
        np.exp, np.full(h.size, 0.3)
    )
    slope = analysis.fitted_order(h, np.abs(values - np.exp(0.3)))
    assert slope == pytest.approx(order, abs=0.15)


def test_complex_step_model_is_flat_in_h():
    model = analysis.complex_step_model(first=2.0, third=1.0)
    assert model.rounding(1e-20) == model.rounding(1e-3)
    assert model.optimal_step == 0.0


def test_error_metrics_handle_zero_and_infinite_truth():
    assert analysis.relative_error(1e-3, 0.0) == pytest.approx(1e-3)
    assert analysis.absolute_error(np.inf, np.inf) == 0.0
    assert analysis.absolute_error(np.nan, 1.0) == np.inf
    assert np.isnan(analysis.absolute_error(1.0, np.nan))


def test_best_rows_picks_the_smallest_finite_error_per_group():
    frame = pd.DataFrame(
        {
            "method": ["a", "a", "b", "b"],
            "h": [1.0, 2.0, 1.0, 2.0],
            "rel_err": [0.3, 0.1, np.nan, 0.5],
        }
    )
    best = analysis.best_rows(frame, ["method"])
    assert best.h.tolist() == [2.0, 2.0]


def test_theory_needs_an_expression():
    f = dk.Function.from_callable(np.sin)
    assert analysis.theory(f, 1.0, stencil("central", 1, 2)) is None
