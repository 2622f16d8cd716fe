"""The sweep: a tidy frame with truth and errors, and failures kept as rows."""

from __future__ import annotations

import numpy as np
import pytest

import diffkit as dk
from diffkit import catalog
from diffkit.sweep import COLUMNS, FD_METHODS, sweep

STEPS = (1e-12, 1e-8, 1e-5, 1e-3, 1e-1)


@pytest.fixture(scope="module")
def frame():
    functions = [catalog.get(name) for name in ("squire_trapp", "log", "rosenbrock2", "abs_kink")]
    return sweep(functions, steps=STEPS, backends=["fd-richardson"], dtypes=("float64", "float32"))


def test_columns_and_one_row_per_estimate(frame):
    assert list(frame.columns) == COLUMNS
    fd_rows = frame[frame.backend == "fd"]
    # squire_trapp 1 point, log 1 point, abs_kink 1 point: 1 row per (method, h, dtype);
    # rosenbrock2: 2 points x 2 components.
    points = {name: len(catalog.get(name).points) for name in ("squire_trapp", "log", "abs_kink")}
    univariate = sum(points.values()) * len(FD_METHODS) * len(STEPS) * 2
    multivariate = len(catalog.get("rosenbrock2").points) * 2 * len(FD_METHODS) * len(STEPS) * 2
    assert len(fd_rows) == univariate + multivariate


def test_catalog_functions_have_their_expression_and_no_ok_row_lacks_an_error(frame):
    assert set(frame.truth_source) == {"expression"}
    ok = frame[frame.status == "ok"]
    assert np.isfinite(ok.rel_err).all()
    assert "no-truth" not in set(frame.status)


def test_errors_are_measured_against_ground_truth(frame):
    ok = frame[(frame.status == "ok") & np.isfinite(frame.truth)]
    np.testing.assert_allclose(ok.abs_err, np.abs(ok.value - ok.truth), rtol=1e-12, atol=0)
    row = ok[
        (ok.function == "squire_trapp")
        & (ok.method == "complex")
        & (ok.h == 1e-12)
        & (ok.dtype == "float64")
    ]
    assert row.rel_err.iloc[0] < 1e-14


def test_the_v_curve_is_in_the_data(frame):
    """Central differences on Squire-Trapp: error falls then rises as h shrinks."""
    rows = frame[
        (frame.function == "squire_trapp")
        & (frame.method == "central")
        & (frame.dtype == "float64")
    ]
    err = rows.set_index("h").rel_err
    assert err[1e-5] < err[1e-1]
    assert err[1e-5] < err[1e-12]


def test_float32_rows_are_computed_in_float32(frame):
    rows = frame[(frame.function == "squire_trapp") & (frame.method == "central")]
    best = rows.groupby("dtype").rel_err.min()
    assert best["float32"] > 1e-6 > best["float64"]


def test_auto_backend_rows_carry_their_cost_and_step(frame):
    rows = frame[frame.backend == "fd-richardson"]
    assert set(rows.function) == {"squire_trapp", "log", "rosenbrock2", "abs_kink"}
    st = rows[(rows.function == "squire_trapp") & (rows.dtype == "float64")].iloc[0]
    assert st.rel_err < 1e-12
    assert st.nfev > 0
    assert st.h > 0


def test_failures_become_rows_with_messages(frame):
    rows = frame[(frame.function == "abs_kink") & (frame.method == "complex")]
    assert set(rows.status) == {"error"}
    assert rows.message.str.contains("ComplexStepError").all()
    log_central = frame[(frame.function == "log") & (frame.method == "central") & (frame.h == 1e-1)]
    assert set(log_central.status) == {"nonfinite"}


def test_a_function_that_raises_does_not_stop_the_sweep():
    def broken(x):
        raise RuntimeError("boom")

    f = dk.Function.from_callable(broken, name="broken", points=(1.0,))
    frame = sweep([f, catalog.get("exp")], steps=STEPS, backends=["fd"])
    assert set(frame[frame.function == "broken"].status) == {"error"}
    assert frame[frame.function == "broken"].message.str.contains("boom").all()
    assert (frame[frame.function == "exp"].status == "ok").all()


def test_a_function_that_returns_nan_gets_a_status():
    f = dk.Function.from_callable(lambda x: x * np.nan, name="nan", points=(1.0,))
    frame = sweep([f], steps=STEPS, methods=FD_METHODS[:2])
    assert set(frame.status) == {"nonfinite"}
    assert frame.message.str.len().min() > 0


def test_strings_and_custom_points():
    frame = sweep(["x**3"], points=[2.0], steps=(1e-4,), methods=FD_METHODS[1:2])
    assert frame.truth.iloc[0] == 12.0
    assert frame.rel_err.iloc[0] < 1e-7


def test_same_inputs_same_frame():
    a = sweep([catalog.get("tanh")], steps=STEPS).drop(columns="seconds")
    b = sweep([catalog.get("tanh")], steps=STEPS).drop(columns="seconds")
    assert a.equals(b)


def test_an_infinite_derivative_matching_the_truth_is_reported_as_infinite():
    frame = sweep([catalog.get("sqrt_zero")], steps=STEPS, methods=(), backends=["reverse"])
    row = frame.iloc[0]
    assert row.status == "infinite"
    assert row.value == np.inf
    assert row.abs_err == 0.0


def test_every_backend_appears_beside_the_finite_differences():
    frame = sweep([catalog.get("squire_trapp")], steps=STEPS, backends=["fd-richardson", "reverse"])
    reverse = frame[frame.backend == "reverse"].iloc[0]
    assert reverse.rel_err <= 2 * np.finfo(float).eps
    assert set(frame.backend) == {"fd", "fd-richardson", "reverse"}


def test_rules_by_label():
    by_label = sweep(["exp(x)"], points=[0.5], methods=["central"], steps=[1e-5])
    assert list(by_label.method.unique()) == ["central"]
    with pytest.raises(ValueError, match="unknown finite-difference rule 'centre'"):
        sweep(["exp(x)"], points=[0.5], methods=["centre"])


def test_a_fast_call_is_timed_by_repeats_after_its_warm_up():
    """The first run pays for imports and caches (8e-4 s where the next took 3e-6 s): a
    call under REPEAT_BELOW is timed as the median of REPEATS runs after it."""
    import importlib
    import time as clock

    sweep_module = importlib.import_module("diffkit.sweep")  # dk.sweep is the function

    numeric_calls = []

    def slow_once(x):
        values = np.asarray(x)
        if values.dtype.kind == "f" and values.size == 2:  # the central rule's two points
            numeric_calls.append(values.size)
            if len(numeric_calls) == 1:
                clock.sleep(0.6 * sweep_module.REPEAT_BELOW)  # a warm-up, once
        return np.sin(x)

    frame = sweep([slow_once], points=[0.5], methods=["central"], steps=[1e-3])
    assert len(numeric_calls) == 1 + sweep_module.REPEATS
    assert frame["seconds"].sum() < 0.3 * sweep_module.REPEAT_BELOW
    assert frame["status"].tolist() == ["ok"]
