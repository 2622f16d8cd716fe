"""Step sizes: the rounding/truncation optimum, and validation of a user's step.

For a rule with weights w, accuracy p and error constant C (see ``stencils``), the
error of the n-th derivative estimate at step h is about

    E(h) = |C| M h^p  +  eps S F / h^n,      S = sum |w_i|,

with M ~ |f^(n+p)| (truncation) and F ~ |f| (rounding). E is smallest where
dE/dh = 0, that is at

    h* = (n eps S F / (p |C| M)) ** (1 / (n + p)).

Without knowing f we take M / F ~ 1 / scale^(n+p), where ``scale`` is the size of
x (1 at x = 0): the function varies on the scale of its argument. This gives the
familiar h* ~ eps^(1/2) |x| for forward and eps^(1/3) |x| for central differences.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from .stencils import Stencil

__all__ = ["StepError", "exact_step", "optimal_step", "step_scale", "validate_step"]


class StepError(ValueError):
    """A step h that cannot be used: zero, negative, NaN, infinite or of the wrong shape."""


@lru_cache(maxsize=32)
def machine_epsilon(dtype: Any) -> float:
    """Unit roundoff of a floating dtype (complex dtypes use their real part's); cached,
    as np.finfo costs microseconds and every scalar derivative asks twice."""
    return float(np.finfo(np.dtype(dtype)).eps)


def step_scale(x: Any, scale: Any = None) -> np.ndarray:
    """The length on which f is assumed to vary: ``scale`` if given, else |x|, and 1 where x is 0."""
    ax = np.abs(np.asarray(x, dtype=float))
    if scale is not None:
        return np.broadcast_to(np.asarray(scale, dtype=float), ax.shape).copy()
    ax[ax == 0] = 1.0
    return ax


def optimal_step(rule: Stencil, dtype: Any = np.float64, *, scale: Any = 1.0) -> Any:
    """h* of the module docstring for ``rule`` in ``dtype``, times ``scale``."""
    n, p = rule.n, rule.accuracy
    ratio = n * machine_epsilon(dtype) * rule.abs_weight_sum / (p * rule.abs_error_constant)
    return np.asarray(scale, dtype=float) * ratio ** (1.0 / (n + p))


# An automatic step is never below this many spacings of x: a shorter one leaves
# x + h == x (a difference of 0) or a quotient of rounding alone.
MIN_SPACINGS = 4.0


def exact_step(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Shrink h so that x + h - x == h exactly: the step taken is the step divided by.

    h is first raised to ``MIN_SPACINGS`` spacings of x where it is shorter. Call it
    under ``np.errstate(over="ignore")`` near the largest floats; where x + h
    overflows, h is kept as it is.
    """
    h = np.maximum(h, MIN_SPACINGS * np.spacing(np.abs(x)))
    exact = (x + h) - x
    if exact.size == 1:  # the common scalar case, without NumPy's masking machinery
        return exact if 0 < exact[0] < np.inf else h
    bad = ~(exact > 0) | (exact == np.inf)
    exact[bad] = h[bad]
    return exact


def validate_step(h: Any, *, name: str = "h") -> float | np.ndarray | str:
    """Check a user's step: ``"auto"``, a positive finite float, or an array of them."""
    if isinstance(h, str):
        if h != "auto":
            raise StepError(
                f'{name} must be a positive number, an array of them, or "auto"; got {h!r}'
            )
        return h
    if isinstance(h, bool):
        raise StepError(f"{name} must be a positive number, got {h!r}")
    try:
        arr = np.asarray(h, dtype=float)
    except (TypeError, ValueError):
        raise StepError(
            f"{name} must be a positive number or an array of them, got {h!r}"
        ) from None
    if arr.size == 0:
        raise StepError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise StepError(f"{name} must be finite, got {h!r}")
    if not np.all(arr > 0):
        raise StepError(f"{name} must be > 0, got {h!r}")
    return float(arr) if arr.ndim == 0 else arr
