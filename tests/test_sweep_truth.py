"""A user's own callable in a sweep: ground truth from its trace, or rows that say there is none.

Each case is written as a user would hit it (a lambda, several variables, a function
the tracer refuses, one that raises, no points) and checks the truth against
``truth.derivative`` / ``truth.gradient`` of the equivalent expression, the
``truth_source`` column, and that no row ever reads ok with an error of NaN.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import diffkit as dk
from diffkit import catalog, truth
from diffkit.sweep import COLUMNS, FD_METHODS, sweep

STEPS = (1e-8, 1e-5, 1e-2)
BACKENDS = ["symbolic", "reverse", "fd-richardson"]


def _never_ok_without_error(frame: pd.DataFrame) -> None:
    ok = frame[frame.status == "ok"]
    assert np.isfinite(ok.rel_err).all(), ok[["function", "method", "truth", "rel_err"]]


def _branchy(x):
    # Python branches on the input: fine on numbers and arrays, refused by the tracer.
    if np.all(x > 0):
        return np.sin(x) * x
    return -x


# ---------------------------------------------------------------------- traced truth


def test_a_lambda_gets_the_truth_of_its_traced_expression():
    f = dk.as_function(lambda x: np.exp(x) * np.sin(3 * x))
    frame = sweep([f], points=[0.7, -1.2], steps=STEPS, backends=BACKENDS)
    assert list(frame.columns) == COLUMNS
    assert set(frame.truth_source) == {"traced"}
    exact = dk.Function.from_string("exp(x)*sin(3*x)")
    for x, rows in frame.groupby("x"):
        np.testing.assert_array_equal(rows.truth, truth.derivative(exact, x, 1))
    assert set(frame.status) == {"ok"}
    _never_ok_without_error(frame)
    assert frame[frame.backend == "reverse"].rel_err.max() < 1e-14


def test_a_lambda_of_several_variables_takes_them_from_the_point():
    f = dk.as_function(lambda x: x[0] ** 2 * np.sin(x[1]))
    frame = sweep([f], points=[(1.0, 2.0)], steps=STEPS, backends=BACKENDS)
    assert set(frame.truth_source) == {"traced"}
    assert set(frame.component) == {0, 1}
    assert frame.x.isna().all()  # x is the coordinate of univariate points only
    expected = truth.gradient(dk.Function.from_string("x0**2*sin(x1)"), (1.0, 2.0))
    for component, rows in frame.groupby("component"):
        assert (rows.truth == expected[component]).all()
    assert set(frame.status) == {"ok"}
    assert frame[frame.backend == "symbolic"].rel_err.max() < 1e-15


def test_a_point_given_as_a_one_element_sequence_is_a_point_of_one_variable():
    frame = sweep([dk.as_function(np.tanh)], points=[(0.5,), np.array([0.5])], steps=STEPS)
    expected = truth.derivative(dk.Function.from_string("tanh(x)"), 0.5)
    assert (frame.truth == expected).all()
    assert set(frame.x) == {0.5}


def test_the_tracer_runs_once_per_function_not_once_per_point():
    traced = []

    def f(x):
        if type(x).__name__ == "SymbolicArray":
            traced.append(x)
        return np.cos(x) * x

    frame = sweep([dk.as_function(f)], points=[0.1, 0.2, 0.3, 0.4], steps=STEPS)
    assert len(traced) == 1
    assert set(frame.truth_source) == {"traced"}


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(),
    reason="a local function reaches spawned workers only pickled",
)
def test_worker_processes_trace_at_most_once_each_and_give_the_serial_frame(tmp_path: Path):
    log = tmp_path / "traces"

    def f(x):
        if type(x).__name__ == "SymbolicArray":
            with log.open("a") as out:
                out.write(f"{os.getpid()}\n")
        return np.exp(-x * x)

    g = dk.as_function(f)
    points = [0.1, 0.5, 0.9, 1.3, 1.7, 2.1]
    parallel = sweep([g], points=points, steps=STEPS, backends=["reverse"], jobs=2)
    pids = log.read_text().split()
    assert len(pids) == len(set(pids)) <= 2  # one trace per worker, never one per point
    serial = sweep([g], points=points, steps=STEPS, backends=["reverse"])
    pd.testing.assert_frame_equal(parallel.drop(columns="seconds"), serial.drop(columns="seconds"))


# ---------------------------------------------------------------------- no exact truth


def test_a_function_the_tracer_refuses_reads_no_truth_and_never_ok():
    frame = sweep([dk.as_function(_branchy)], points=[0.7], steps=STEPS, backends=BACKENDS)
    _never_ok_without_error(frame)
    assert set(frame.truth_source) == {"none"}
    assert "ok" not in set(frame.status)
    estimates = frame[frame.backend != "symbolic"]
    assert set(estimates.status) == {"no-truth"}
    assert estimates.message.str.contains("the tracer refused '_branchy'").all()
    assert estimates.message.str.len().max() < 300  # the tracer's message, shortened
    assert estimates.value.notna().all()  # the estimates are still there
    # The symbolic backend cannot trace it either: that is an error, as before.
    assert set(frame[frame.backend == "symbolic"].status) == {"error"}


def test_a_refused_function_of_several_variables_reads_no_truth():
    f = dk.as_function(lambda x: x[0] * x[1] if x[0] > 0 else 0.0 * x[1])
    frame = sweep([f], points=[(1.0, 2.0)], steps=STEPS, backends=["reverse"])
    _never_ok_without_error(frame)
    assert set(frame.status) == {"no-truth"}
    np.testing.assert_allclose(frame[frame.backend == "reverse"].value, [2.0, 1.0])


def test_a_function_that_raises_keeps_its_error_rows():
    def broken(x):
        raise RuntimeError("boom")

    frame = sweep([dk.as_function(broken)], points=[1.0], steps=STEPS, backends=["reverse"])
    assert set(frame.status) == {"error"}
    assert frame.message.str.contains("RuntimeError: boom").all()
    assert set(frame.truth_source) == {"none"}


def test_an_expression_without_a_real_derivative_at_the_point_reads_no_truth():
    # The callable is finite at -1; the expression the user gave for it is not real there.
    root = dk.Function.from_string("sqrt(x)")
    f = dk.Function.from_callable(
        lambda t: np.sqrt(np.abs(t)), name="root", expr=root.expr, points=(-1.0, 4.0)
    )
    frame = sweep([f], steps=STEPS, methods=FD_METHODS[:2], backends=["reverse"])
    _never_ok_without_error(frame)
    assert set(frame.truth_source) == {"expression"}
    outside = frame[frame.x == -1.0]
    assert set(outside.status) == {"no-truth"}
    assert outside.message.str.contains("not a real number").all()
    inside = frame[frame.x == 4.0]
    assert (inside.truth == truth.derivative(root, 4.0)).all()


def test_a_runaway_trace_is_stopped_by_the_time_limit_and_not_repeated():
    def slow_to_trace(x):
        if type(x).__name__ == "SymbolicArray":
            time.sleep(30)
        return np.sin(x)

    start = time.perf_counter()
    frame = sweep(
        [dk.as_function(slow_to_trace), catalog.get("exp")],
        points=[0.3, 0.6, 0.9],
        steps=STEPS,
        methods=FD_METHODS[:1],
        time_limit=1.0,
    )
    assert time.perf_counter() - start < 10  # one time limit, not one per point
    mine = frame[frame.function == "slow_to_trace"]
    assert set(mine.status) == {"no-truth"}
    assert set(mine.truth_source) == {"none"}
    assert mine.message.str.contains("timeout").all()
    retried = mine.groupby("x").message.first().str.contains("not tried again")
    assert retried.sum() == 2  # the first point ran into the limit; the others were spared
    np.testing.assert_allclose(mine.value, np.cos(mine.x), rtol=1e-2)  # forward differences
    assert (frame[frame.function == "exp"].status == "ok").all()


def test_a_finite_estimate_of_an_infinite_derivative_has_relative_error_one():
    frame = sweep([catalog.get("sqrt_zero")], steps=(1e-16, 1e-8), backends=["reverse"])
    _never_ok_without_error(frame)
    finite = frame[(frame.status == "ok") & np.isinf(frame.truth)]
    assert not finite.empty
    assert (finite.rel_err == 1.0).all()
    assert np.isinf(finite.abs_err).all()


# ---------------------------------------------------------------------- what the user passes


def test_a_callable_without_points_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"'<lambda>'.*pass points="):
        sweep([dk.as_function(lambda x: x**2)])
    with pytest.raises(ValueError, match=r"'sin'.*pass points="):
        sweep([dk.as_function(np.sin)], points=[])


def test_points_that_contradict_the_variables_are_an_error_naming_both():
    with pytest.raises(ValueError, match=r"'sin\(x\)' has 1 variable\(s\) \(x\).*\(1\.0, 2\.0\)"):
        sweep(["sin(x)"], points=[(1.0, 2.0)])
    three = dk.Function.from_callable(np.sum, name="total", ndim=3)
    with pytest.raises(ValueError, match=r"'total' has 3 variable.*\(1\.0, 2\.0\) has 2"):
        sweep([three], points=[(1.0, 2.0)])
    with pytest.raises(ValueError, match=r"'cos'.*0\.5 has 1 coordinate.*\(1\.0, 2\.0\) has 2"):
        sweep([dk.as_function(np.cos)], points=[0.5, (1.0, 2.0)])
    with pytest.raises(ValueError, match=r"points=\[0\.7\]"):
        sweep([dk.as_function(np.cos)], points=0.7)


@pytest.mark.parametrize(
    ("fn", "point", "count"),
    [
        (lambda x: np.sin(x), (1.0, 2.0), 2),  # elementwise on a point of two variables
        (lambda x: np.stack([x, x**2]), 0.7, 2),
    ],
)
def test_a_vector_valued_function_gives_error_rows_that_say_so(fn, point, count):
    frame = sweep([dk.as_function(fn)], points=[point], steps=STEPS, backends=BACKENDS)
    assert set(frame.status) == {"error"}
    assert frame.message.str.contains(f"returns {count} values").all(), set(frame.message)
    assert not frame.message.str.contains("0-dimensional").any()


def test_a_traced_truth_goes_through_opaque_linear_algebra_and_reductions():
    """det, inv, max: opaque nodes of the trace; their truth once failed (SymPy's Derivative
    wants a set of free symbols) and every row read no-truth."""
    det = lambda x: np.linalg.det(np.stack([np.stack([x + 3, 1.0]), np.stack([2.0, x**2 + 1])]))  # noqa: E731
    frame = sweep([det], points=[0.37], methods=[], backends=["reverse", "symbolic"])
    assert set(frame.truth_source) == {"traced"}
    assert (frame.status == "ok").all(), frame[["backend", "status", "message"]]
    # d/dx ((x + 3)(x^2 + 1) - 2) = 3x^2 + 6x + 1
    np.testing.assert_allclose(frame.truth, 3 * 0.37**2 + 6 * 0.37 + 1, rtol=1e-15)


def test_a_tie_inside_np_max_is_a_kink():
    tied = sweep(
        [lambda v: np.sum(np.min(np.reshape(v, (2, 2)), axis=1))],
        points=[(1.0, 1.0, 2.0, 3.0), (1.0, 2.0, 3.0, 4.0)],
        methods=[],
        backends=["reverse"],
    )
    assert tied.groupby("point").kink.all().to_dict() == {"1, 1, 2, 3": True, "1, 2, 3, 4": False}


def test_a_matrix_shaped_point_is_refused_not_flattened():
    """Flattened, sum(a @ a) became a dot product: every row ok, with another function's truth."""
    with pytest.raises(ValueError, match="shape \\(2, 2\\)"):
        sweep([lambda a: np.sum(a @ a)], points=[np.eye(2)], backends=["reverse"])


# ---------------------------------------------------------------------- truth's own limits


@pytest.mark.parametrize("jobs", [1, 2])
def test_ground_truth_past_its_memory_limit_is_named_not_grown(jobs):
    """10**10**10**10 needs a 10^10-digit integer exactly: under a 256 MiB cap the truth
    stops at once, in-process or in a worker, and every row says so (its rows fail
    anyway: f overflows in float64). Without the cap it grew to gigabytes."""
    import resource

    before = resource.getrlimit(resource.RLIMIT_AS)
    started = time.perf_counter()
    frame = sweep(
        ["x**x**x**x"],
        points=[10.0],
        methods=["central"],
        steps=[1e-3],
        backends=["reverse"],
        jobs=jobs,
        truth_memory_limit=256 * 2**20,
    )
    assert time.perf_counter() - started < 30
    assert resource.getrlimit(resource.RLIMIT_AS) == before  # the cap was lifted after
    assert frame["truth"].isna().all()
    assert frame["message"].str.contains("more memory than ground truth may take").all()


def test_ground_truth_past_its_time_limit_reads_no_truth_and_names_the_limit():
    frame = sweep(
        ["sin(x)"], points=[1.0], methods=["central"], steps=[1e-3], truth_time_limit=1e-9
    )
    assert set(frame["status"]) == {"no-truth"}
    assert frame["message"].str.contains("time limit of 1e-09 s").all()
    _never_ok_without_error(frame)


def test_a_ground_truth_limit_of_its_own_beside_the_sweeps():
    """The sweep's time limit applies to truth too, and the tighter of the two wins."""
    frame = sweep(
        ["sin(x)"],
        points=[1.0],
        methods=["central"],
        steps=[1e-3],
        time_limit=1e-9,
        truth_time_limit=None,
    )
    assert frame["message"].str.contains("computing it stopped").all()
    fine = sweep(["sin(x)"], points=[1.0], methods=["central"], steps=[1e-3], time_limit=60)
    assert set(fine["status"]) == {"ok"}
