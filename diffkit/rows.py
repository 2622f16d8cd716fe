"""The sweep's frame: its columns, and an estimate's ``Outcome`` turned into rows of them.

Every row is one derivative estimate (one gradient component for functions of
several variables) with its ground truth and errors. Rows are built column by
column, as lists, and the frame once, at the end of the sweep (``frame_of``).

``truth_source`` says where the exact derivative came from (``ground_truth``):
``expression``, ``traced`` or ``none``. A row with no exact value to measure against
never reads ok with an error of NaN: what would be ok reads ``no-truth``, with the
reason as its message, and is compared with the other backends instead
(``diffkit.agreement``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .analysis import absolute_error, relative_error
from .estimates import Outcome
from .function import Function

if TYPE_CHECKING:  # pandas costs ~0.2 s to import: only sweeps and reports load it
    import pandas as pd

__all__ = ["COLUMNS", "NO_TRUTH", "USABLE", "frame_of", "outcome_rows", "point_label"]

COLUMNS = [
    "function",
    "point",
    "x",
    "component",
    "n",
    "backend",
    "method",
    "scheme",
    "accuracy",
    "h",
    "dtype",
    "noise",
    "value",
    "truth",
    "truth_source",
    "abs_err",
    "rel_err",
    "error_estimate",
    "nfev",
    "seconds",
    "status",
    "message",
    "kink",
]

_NUMERIC = (
    "x",
    "accuracy",
    "h",
    "noise",
    "value",
    "truth",
    "abs_err",
    "rel_err",
    "error_estimate",
    "seconds",
)
_INTEGER = ("component", "n", "nfev")

# The status of an estimate that has no exact derivative to be measured against.
NO_TRUTH = "no-truth"
# Statuses of estimates that are values of the derivative (a backend's fallbacks included).
USABLE = ("ok", "near-zero", "reduced-step", "one-sided")


def point_label(point: Any) -> str:
    """A readable label; a long vector shows its ends, size and a digest, so labels stay distinct."""
    arr = np.atleast_1d(np.asarray(point, dtype=float))
    if arr.size <= 4:
        return ", ".join(f"{v:.6g}" for v in arr)
    digest = hashlib.sha1(arr.astype("<f8").tobytes()).hexdigest()[:6]
    return f"{arr[0]:.6g}, {arr[1]:.6g}, ..., {arr[-1]:.6g} ({arr.size} values, #{digest})"


def outcome_rows(
    outcome: Outcome,
    *,
    function: Function,
    point: Any,
    n: int,
    dtype: str,
    noise: float,
    labels: Mapping[str, Any],
    truth: np.ndarray,
    kink: bool,
    seconds: float,
    truth_source: str,
    no_truth: str = "",
    truth_stopped: bool = False,
) -> dict[str, list[Any]]:
    """The outcome's rows, column by column; ``labels`` fill backend, method, scheme, accuracy.

    A usable estimate that is not finite becomes "infinite" when the exact derivative
    is the same infinity, else "nonfinite"; an ok estimate without an exact value (NaN
    truth) becomes "no-truth" with the message ``no_truth``; where a limit stopped the
    truth (``truth_stopped``), every other row adds that message to its own, so a
    point whose rows fail anyway still says its truth failed. A finite estimate of an
    infinite derivative has relative error 1, the limit of |v - t| / |t| (its absolute
    error is inf). ``seconds`` is shared over the rows.
    """
    steps, components = outcome.values.shape
    count = steps * components
    values = outcome.values.reshape(-1).astype(float)
    padded = np.concatenate([truth, np.full(components, np.nan)])[:components]
    truths = np.tile(padded, steps)
    status = np.repeat(np.asarray(outcome.status, dtype=object), components)
    message = np.full(count, outcome.message, dtype=object)
    usable = np.isin(status, USABLE)
    infinite = usable & np.isinf(values) & (values == truths)
    nonfinite = usable & ~np.isfinite(values) & ~infinite
    status[infinite], message[infinite] = "infinite", "infinite, as the exact derivative is"
    status[nonfinite], message[nonfinite] = "nonfinite", "the estimate is not finite"
    silent = (status == "nonfinite") & (message == "")
    message[silent] = "no finite estimate: a stencil point is outside the domain or f overflowed"
    own = np.isin(status, ("infinite", "undefined")) & (message == "")  # a backend's own verdict
    message[own] = [f"the backend's derivative is {s} at this point" for s in status[own]]
    unmeasured = (status == "ok") & np.isnan(truths)
    status[unmeasured] = NO_TRUTH
    message[unmeasured] = no_truth or "no exact derivative at this point"
    if truth_stopped and no_truth:
        others = ~unmeasured & np.isnan(truths)
        message[others] = [f"{m}; {no_truth}" if m else no_truth for m in message[others]]
    relative = np.asarray(relative_error(values, truths), dtype=float)
    relative[np.isinf(truths) & np.isfinite(values)] = 1.0
    return {
        "function": [function.name] * count,
        "point": [point_label(point)] * count,
        "x": [float(point) if function.ndim == 1 else float("nan")] * count,
        "component": np.tile(np.arange(components), steps).tolist(),
        "n": [n] * count,
        **{key: [value] * count for key, value in labels.items()},
        "h": np.repeat(outcome.h.astype(float), components).tolist(),
        "dtype": [dtype] * count,
        "noise": [noise] * count,
        "value": values.tolist(),
        "truth": truths.tolist(),
        "truth_source": [truth_source] * count,
        "abs_err": np.asarray(absolute_error(values, truths), dtype=float).tolist(),
        "rel_err": relative.tolist(),
        "error_estimate": outcome.estimates.reshape(-1).astype(float).tolist(),
        "nfev": np.repeat(outcome.nfev.astype(int), components).tolist(),
        "seconds": [seconds / count] * count,
        "status": status.tolist(),
        "message": message.tolist(),
        "kink": [kink] * count,
    }


def frame_of(results: Iterable[Mapping[str, list[Any]]]) -> pd.DataFrame:
    """Concatenate tasks' column lists into one frame of ``COLUMNS`` with stable dtypes."""
    import pandas as pd

    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for result in results:
        for name in COLUMNS:
            columns[name] += result[name]
    frame = pd.DataFrame(columns, columns=COLUMNS)
    for name in _NUMERIC:
        frame[name] = frame[name].astype(float)
    for name in _INTEGER:
        frame[name] = frame[name].astype(int)
    frame["kink"] = frame["kink"].astype(bool)
    return frame
