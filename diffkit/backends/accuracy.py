"""What a finite-difference status means, and when a result earns ``ok``.

A result is ``ok`` only when its own error estimate supports it: finite, and at
most ``OK_RTOL`` of the value (three correct digits or more). Otherwise the status
says why not:

- ``near-zero``: the error is above OK_RTOL of the value, but tiny against the size
  of f's derivatives near x (F / L^n, from the pilot): the derivative is 0 to within
  an error that small (cos' at 0). Relative error means nothing there; the absolute
  error estimate is the answer. Not a warning.
- ``rounding-dominated``: the estimate is mostly rounding (a step forced far below
  f's scale by a domain edge, a user's h, float32 at a high order).
- ``not-converged``: the estimate is mostly truncation, or Richardson's tableau never
  settled (its error is then infinite where no step was in the asymptotic range).
- ``nonfinite``: no step gave a finite value; ``not-analytic``: the complex-plane
  methods found f not analytic (or not real) near x.
- ``one-sided``: accurate (as ``ok``), on a one-sided stencil because x is on the
  edge of f's domain.

A plain call (``derivative``, ``gradient``, ``jacobian``, ``hessian``) returns the
values and warns with ``FDAccuracyWarning`` (a ``RuntimeWarning``) naming the status,
the point and the estimate wherever a status is not in ``ACCEPTED``; turn it into an
error with ``warnings.simplefilter("error", dk.FDAccuracyWarning)``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = ["ACCEPTED", "OK_RTOL", "FDAccuracyWarning", "judge", "warn_unless_accepted"]

OK_RTOL = 1e-3
ACCEPTED = ("ok", "near-zero", "one-sided")
_JUDGED = ("ok", "one-sided")


class FDAccuracyWarning(RuntimeWarning):
    """A finite-difference result whose error estimate does not support it."""


def near_zero_tolerance(eps: float) -> float:
    """How small, against F / L^n, an error must be for a derivative to count as zero."""
    return float(eps ** (1.0 / 3.0))


def judge(
    status: np.ndarray,
    value: np.ndarray,
    error: np.ndarray,
    rounding: np.ndarray,
    natural: np.ndarray,
    eps: float,
) -> np.ndarray:
    """Per point, the status the error estimate supports (statuses already bad are kept).

    ``value`` (k, ...) and per-point ``error``, ``rounding`` (the rounding part of the
    error) and ``natural`` (F / L^n: the size of f's n-th derivative on its length).
    """
    out = np.asarray(status, dtype=object).copy()
    k = out.size
    if k == 1:  # the common scalar call, without NumPy's per-call costs
        values = np.abs(np.asarray(value, dtype=float)).reshape(-1).tolist()
        out.reshape(-1)[0] = _judge_one(
            str(out.reshape(-1)[0]),
            min(values) if values else 0.0,
            max(np.asarray(error, dtype=float).reshape(-1).tolist()),
            max(np.asarray(rounding, dtype=float).reshape(-1).tolist()),
            max(np.asarray(natural, dtype=float).reshape(-1).tolist()),
            eps,
        )
        return out
    size = _per_point(np.abs(np.asarray(value, dtype=float)), k, np.min)
    error = _per_point(error, k, np.max)
    rounding = _per_point(rounding, k, np.max)
    natural = _per_point(natural, k, np.max)
    judged = np.isin(out, _JUDGED)
    with np.errstate(invalid="ignore"):
        fine = (error <= OK_RTOL * size) & (size > 0)  # an exact 0 is near-zero at best
        zero = error <= near_zero_tolerance(eps) * natural
        rounded = rounding >= 0.5 * error
    bad = judged & ~fine
    out[bad & zero] = "near-zero"
    out[bad & ~zero & rounded] = "rounding-dominated"
    out[bad & ~zero & ~rounded] = "not-converged"
    return out


def _judge_one(
    status: str, size: float, error: float, rounding: float, natural: float, eps: float
) -> str:
    """``judge`` for one point, in Python floats (the same comparisons)."""
    if status not in _JUDGED or (error <= OK_RTOL * size and size > 0):
        return status
    if error <= near_zero_tolerance(eps) * natural:
        return "near-zero"
    return "rounding-dominated" if rounding >= 0.5 * error else "not-converged"


def _per_point(values: Any, k: int, reduce: Any) -> np.ndarray:
    """One number per point from an array over (points, components...) or a scalar."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 1:
        return np.full(k, float(arr.reshape(-1)[0]))
    arr = arr.reshape(k, -1)
    return reduce(arr, axis=1) if arr.shape[1] else np.zeros(k)


def warn_unless_accepted(status: Any, error: Any, points: Any, what: str) -> None:
    """Warn once per call where any status is not in ACCEPTED, naming the first such point."""
    status = np.asarray(status, dtype=object).reshape(-1)
    if status.size == 1 and status[0] in ACCEPTED:
        return
    bad = ~np.isin(status, ACCEPTED)
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    errors = np.broadcast_to(np.asarray(error, dtype=float).reshape(-1), status.shape)
    where = np.asarray(points, dtype=float).reshape(-1)
    at = f" at x = {float(where[i])!r}" if where.size == status.size else ""
    count = f" ({int(bad.sum())} of {status.size})" if status.size > 1 else ""
    warnings.warn(
        f"{what}{at} is {status[i]}{count}: error estimate {float(errors[i]):.3g}. "
        "Call estimate() for values, errors and statuses; see diffkit.backends.accuracy",
        FDAccuracyWarning,
        stacklevel=3,
    )
