"""Error theory and error metrics: pure functions of numbers and of the sweep's frame.

The finite-difference error model at step h, for a rule with weights w, accuracy p
and error constant C (``backends.stencils``), in a dtype with unit roundoff eps:

    truncation(h) = |C| |f^(n+p)(x)| h^p
    rounding(h)   = eps sum|w_i| |f(x)| / h^n
    h*            = (n eps sum|w_i| |f| / (p |C| |f^(n+p)|)) ** (1/(n+p))

The rounding term is an upper-bound style estimate (each f value carries a relative
error of about eps), so observed curves scatter below it; the truncation term is
the exact leading behaviour, so observed curves follow it where it dominates.
For the complex step, truncation is |f'''| h^2 / 6 and rounding is eps |f'|, flat in h.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import truth
from .backends.stencils import Stencil
from .backends.steps import machine_epsilon
from .function import Function

if TYPE_CHECKING:  # pandas costs ~0.2 s to import: only sweeps and reports load it
    import pandas as pd

__all__ = [
    "ErrorModel",
    "absolute_error",
    "best_rows",
    "complex_step_model",
    "error_model",
    "fitted_order",
    "relative_error",
    "theory",
]


@dataclass(frozen=True)
class ErrorModel:
    """Predicted error of one rule at one point: ``total(h) = trunc * h^p + round / h^n``."""

    truncation_coefficient: float  # |C| |f^(n+p)(x)|
    rounding_coefficient: float  # eps sum|w| |f(x)|
    p: int
    n: int

    def truncation(self, h: Any) -> np.ndarray:
        return self.truncation_coefficient * np.asarray(h, dtype=float) ** self.p

    def rounding(self, h: Any) -> np.ndarray:
        return self.rounding_coefficient / np.asarray(h, dtype=float) ** self.n

    def total(self, h: Any) -> np.ndarray:
        return self.truncation(h) + self.rounding(h)

    @property
    def optimal_step(self) -> float:
        """h*, where the two terms balance (inf when there is no truncation, 0 without rounding)."""
        if self.truncation_coefficient == 0:
            return float("inf")
        if self.n == 0 or self.rounding_coefficient == 0:
            return 0.0
        ratio = self.n * self.rounding_coefficient / (self.p * self.truncation_coefficient)
        return float(ratio ** (1.0 / (self.n + self.p)))

    @property
    def minimal_error(self) -> float:
        h = self.optimal_step
        if not np.isfinite(h) or h == 0:
            return float("nan")
        return float(self.total(h))


def error_model(
    rule: Stencil, fx: float, higher_derivative: float, dtype: Any = np.float64
) -> ErrorModel:
    """The model of the module docstring for ``rule``, given f(x) and f^(n+p)(x)."""
    eps = machine_epsilon(dtype)
    return ErrorModel(
        truncation_coefficient=abs(float(rule.error_constant)) * abs(float(higher_derivative)),
        rounding_coefficient=eps * rule.abs_weight_sum * abs(float(fx)),
        p=rule.accuracy,
        n=rule.n,
    )


def complex_step_model(first: float, third: float, dtype: Any = np.float64) -> ErrorModel:
    """Complex step: truncation |f'''| h^2 / 6, rounding eps |f'| that does not grow as h shrinks."""
    eps = machine_epsilon(dtype)
    # n = 0 makes the rounding term flat in h.
    return ErrorModel(abs(float(third)) / 6.0, eps * abs(float(first)), p=2, n=0)


def absolute_error(value: Any, truth: Any) -> np.ndarray:
    """|value - truth|, computed in float64; inf where value is not finite and truth is."""
    v = np.asarray(value, dtype=float)
    t = np.asarray(truth, dtype=float)
    with np.errstate(invalid="ignore"):
        err = np.abs(v - t)
    both_inf = np.isinf(v) & np.isinf(t) & (np.sign(v) == np.sign(t))
    return np.where(both_inf, 0.0, np.where(np.isfinite(v) | ~np.isfinite(t), err, np.inf))


def relative_error(value: Any, truth: Any) -> np.ndarray:
    """|value - truth| / |truth|; where truth is 0 the absolute error is used instead."""
    err = absolute_error(value, truth)
    t = np.abs(np.asarray(truth, dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(t > 0, err / np.where(t > 0, t, 1.0), err)


def fitted_order(h: Any, err: Any) -> float:
    """Slope of log(err) against log(h): the observed order of accuracy in the truncation regime.

    Fit only points that are in one regime: pass the steps above the observed
    optimum. Non-positive or non-finite errors are ignored; fewer than 3 points give NaN.
    """
    hh = np.asarray(h, dtype=float)
    ee = np.asarray(err, dtype=float)
    keep = np.isfinite(ee) & (ee > 0) & np.isfinite(hh) & (hh > 0)
    if keep.sum() < 3:
        return float("nan")
    slope, _ = np.polyfit(np.log10(hh[keep]), np.log10(ee[keep]), 1)
    return float(slope)


def best_rows(frame: pd.DataFrame, by: list[str], error: str = "rel_err") -> pd.DataFrame:
    """For each group of ``by``, the row of smallest finite ``error`` (groups with none are dropped)."""
    finite = frame[np.isfinite(frame[error].to_numpy(dtype=float))]
    if finite.empty:
        return finite
    idx = finite.groupby(by, sort=True, dropna=False)[error].idxmin()
    return finite.loc[idx.to_numpy()].reset_index(drop=True)


def theory(
    f: Function, x: float, rule: Stencil | None, dtype: Any = np.float64
) -> ErrorModel | None:
    """The error model of ``rule`` (``None``: the complex step) for univariate ``f`` at ``x``.

    Needs f's expression for f(x) and f^(n+p)(x) from the ground truth; returns None
    when f has none, is multivariate, or the needed values are not finite.
    """
    if f.ndim != 1 or f.expr is None:
        return None
    if rule is None:
        first, third = truth.derivative(f, x, 1), truth.derivative(f, x, 3)
        if not (np.isfinite(first) and np.isfinite(third)):
            return None
        return complex_step_model(float(first), float(third), dtype)
    fx = truth.derivative(f, x, 0)
    higher = truth.derivative(f, x, rule.n + rule.accuracy)
    if not (np.isfinite(fx) and np.isfinite(higher)):
        return None
    return error_model(rule, float(fx), float(higher), dtype)
