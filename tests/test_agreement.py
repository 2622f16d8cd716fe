"""Agreement between backends in matching significant digits, from hand-built frames."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from diffkit import catalog
from diffkit.agreement import agreement, digit_cap, entries, matching_digits
from diffkit.analysis import absolute_error, relative_error
from diffkit.sweep import sweep


def _row(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "function": "f",
        "point": "1",
        "x": 1.0,
        "component": 0,
        "n": 1,
        "backend": "symbolic",
        "method": "symbolic",
        "scheme": "",
        "accuracy": np.nan,
        "h": np.nan,
        "dtype": "float64",
        "noise": 0.0,
        "value": 1.0,
        "truth": 1.0,
        "error_estimate": np.nan,
        "nfev": 1,
        "seconds": 0.0,
        "status": "ok",
        "message": "",
        "kink": False,
    }
    base.update(fields)
    base["abs_err"] = float(absolute_error(base["value"], base["truth"]))
    base["rel_err"] = float(relative_error(base["value"], base["truth"]))
    return base


def _fd(method: str, accuracy: int, steps: dict[float, float], **fields: Any) -> list[dict]:
    return [
        _row(backend="fd", method=method, scheme=method, accuracy=accuracy, h=h, value=v, **fields)
        for h, v in steps.items()
    ]


def test_digit_cap_by_dtype() -> None:
    assert digit_cap("float64") == 17
    assert digit_cap("float32") == 8


@pytest.mark.parametrize(
    ("a", "b", "digits"),
    [
        (1.0, 1.0 + 1e-6, 6.0),
        (2.0, 2.0 + 2e-10, 10.0),
        (-3.0, -3.0 * (1 + 1e-3), 3.0),
        (1.0, 1.0, 17.0),
        (0.0, 0.0, 17.0),
        (1.0, -1.0, 0.0),  # opposite signs share nothing (clipped at 0)
        (0.0, 1e-9, 0.0),
    ],
)
def test_matching_digits_of_known_differences(a: float, b: float, digits: float) -> None:
    assert matching_digits(a, b) == pytest.approx(digits, abs=0.01)


def test_matching_digits_is_normwise_for_gradients() -> None:
    # max |a - b| = 1e-8 against max |a| = 100: 10 digits, whatever the small component does.
    assert matching_digits([100.0, 1e-3], [100.0, 1e-3 + 1e-8]) == pytest.approx(10.0)
    assert matching_digits([1.0, 2.0], [1.0, 2.0], "float32") == 8.0
    with pytest.raises(ValueError, match="shapes"):
        matching_digits([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        matching_digits(np.inf, 1.0)


def _frame() -> pd.DataFrame:
    rows = [
        _row(backend="symbolic", method="symbolic", value=2.0, truth=2.0),
        _row(backend="reverse", method="reverse", value=2.0 + 2e-12, truth=2.0),
        # forward FD: its best step (least error) is h = 1e-4, where it is off by 2e-6.
        *_fd("forward", 1, {1e-2: 2.01, 1e-4: 2.0 + 2e-6, 1e-12: 2.1}, truth=2.0),
        # a kink: every entry at this point is left out, not counted as disagreement
        _row(function="k", backend="symbolic", method="symbolic", value=0.0, truth=0.0, kink=True),
        _row(function="k", backend="reverse", method="reverse", value=1.0, truth=0.0, kink=True),
        # an infinite derivative, and an error row
        _row(function="s", backend="symbolic", value=np.inf, truth=np.inf, status="infinite"),
        _row(function="s", backend="reverse", value=np.nan, truth=np.inf, status="error"),
        _row(function="g", backend="symbolic", value=1.0, truth=1.0),
        _row(function="g", backend="reverse", value=np.nan, truth=1.0, status="error"),
        # noisy rows never enter
        _row(backend="reverse", method="reverse", value=5.0, truth=2.0, noise=1e-3),
    ]
    return pd.DataFrame(rows)


def test_agreement_digits_of_known_differences() -> None:
    result = agreement(_frame())
    pairs = result.pairs.set_index(["a", "b"])["digits"]
    assert pairs[("fd-forward", "reverse")] == pytest.approx(6.0, abs=0.01)
    assert pairs[("fd-forward", "symbolic")] == pytest.approx(6.0, abs=0.01)
    assert pairs[("reverse", "symbolic")] == pytest.approx(12.0, abs=0.01)
    assert len(result.pairs) == 3


def test_kink_infinite_and_failed_rows_are_excluded_and_counted() -> None:
    result = agreement(_frame())
    reasons = result.excluded.set_index(["function", "entry"])["reason"].to_dict()
    assert reasons == {
        ("g", "reverse"): "error",
        ("k", "reverse"): "kink",
        ("k", "symbolic"): "kink",
        ("s", "reverse"): "infinite",
        ("s", "symbolic"): "infinite",
    }
    assert set(result.pairs["function"]) == {"f"}  # g has one entry left: no pair


def test_estimates_without_truth_agree_by_backend_and_leave_swept_rules_out() -> None:
    """No exact derivative: backends are still compared; a swept rule has no best step."""
    nan = float("nan")
    rows = [
        _row(backend="reverse", method="reverse", value=2.0, truth=nan, status="no-truth"),
        _row(
            backend="fd-richardson",
            method="fd-richardson-auto",
            value=2.0 + 2e-10,
            truth=nan,
            status="no-truth",
        ),
        *_fd("forward", 1, {1e-4: 2.0001, 1e-8: 2.0 + 1e-8}, truth=nan, status="no-truth"),
    ]
    result = agreement(pd.DataFrame(rows))
    assert result.pairs[["a", "b"]].values.tolist() == [["fd-richardson", "reverse"]]
    assert result.pairs["digits"].iloc[0] == pytest.approx(10.0, abs=0.01)
    reasons = result.excluded.set_index("entry")["reason"].to_dict()
    assert reasons == {"fd-forward": "no-truth"}


def test_matrix_is_symmetric_with_swept_rules_first() -> None:
    matrix = agreement(_frame()).matrix
    assert list(matrix.index) == ["fd-forward", "reverse", "symbolic"]
    assert np.allclose(matrix.to_numpy(), matrix.to_numpy().T, equal_nan=True)
    assert np.isnan(np.diag(matrix.to_numpy())).all()
    assert matrix.loc["symbolic", "reverse"] == pytest.approx(12.0, abs=0.01)


def test_matrix_takes_the_median_over_functions() -> None:
    rows = []
    for name, gap in [("a", 1e-3), ("b", 1e-5), ("c", 1e-13)]:
        rows += [
            _row(function=name, backend="symbolic", method="symbolic"),
            _row(function=name, backend="reverse", method="reverse", value=1.0 + gap),
        ]
    result = agreement(pd.DataFrame(rows))
    assert result.matrix.loc["reverse", "symbolic"] == pytest.approx(5.0, abs=0.01)
    assert len(result.by_function) == 3


def test_swept_gradient_uses_the_normwise_best_step() -> None:
    rows = []
    for h, (g0, g1) in {1e-3: (10.001, 1.0), 1e-6: (10.0, 1.0 + 1e-5)}.items():
        for c, (v, t) in enumerate([(g0, 10.0), (g1, 1.0)]):
            rows += _fd("central", 2, {h: v}, component=c, truth=t)
    rows += [_row(component=c, value=t, truth=t) for c, t in enumerate([10.0, 1.0])]
    chosen, excluded = entries(pd.DataFrame(rows))
    # normwise error 1e-4 at 1e-3 and 1e-6 at 1e-6: the second step is chosen
    assert np.allclose(chosen[("f", "1", "float64")]["fd-central"], [10.0, 1.0 + 1e-5])
    assert excluded.empty
    digits = agreement(pd.DataFrame(rows)).pairs["digits"].iloc[0]
    assert digits == pytest.approx(6.0, abs=0.01)


def test_float32_agreement_caps_at_8_digits() -> None:
    rows = [
        _row(dtype="float32", backend="symbolic", method="symbolic"),
        _row(dtype="float32", backend="reverse", method="reverse"),
    ]
    result = agreement(pd.DataFrame(rows))
    assert result.dtype == "float32"
    assert result.matrix.loc["reverse", "symbolic"] == 8.0


def test_empty_frame_gives_empty_results() -> None:
    result = agreement(_frame().iloc[0:0])
    assert result.pairs.empty
    assert result.matrix.empty
    assert result.excluded.empty


def test_on_a_real_sweep_exact_backends_agree_fully() -> None:
    functions = [catalog.get(n) for n in ("exp", "tanh", "abs_kink")]
    frame = sweep(functions, steps=np.logspace(-12, -1, 12), backends=["reverse", "symbolic"])
    result = agreement(frame)
    assert result.matrix.loc["reverse", "symbolic"] >= 15.5
    assert 6 < result.matrix.loc["fd-forward", "symbolic"] < 10  # ~ half the digits
    assert 9 < result.matrix.loc["fd-central", "symbolic"] < 13  # ~ two thirds
    assert set(result.excluded["function"]) == {"abs_kink"}
    assert set(result.excluded["reason"]) == {"kink"}
