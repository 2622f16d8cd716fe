"""References a check compares against, each with an error estimate per entry.

* ``symbolic``: the exact derivative of the traced function, evaluated in float64.
  Its only error is rounding: ``ROUNDING * eps * (|ref| + floor)``, the same model
  as the complex step's (a few ulps of the derivative and of ``|f| / scale``, the
  size of the terms f's evaluation combines).
* ``fd-richardson``: adaptive Richardson extrapolation of central differences,
  with its own error estimate, in float64.

References are always computed at the float64 point, so a float32 user is judged
against a float64 answer and the tolerance reflects only the user's dtype.

Each reference carries ``why``, a one-line note for the report: which reference it
is and, when it is finite differences, why not symbolic (the method asked for, the
number of variables, the tracer's own reason, or a non-finite symbolic value). A
user who sees a looser tolerance than expected can then tell what to change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backends.finite import FiniteDifference
from ..backends.multivariate import Lines
from ..backends.steps import step_scale
from ..backends.symbolic import Symbolic
from ..function import as_callable, coordinate_line
from ..symbolic import TracerError, UnevaluatedDerivativeError
from .report import Kink, TaylorResult

__all__ = [
    "ROUNDING",
    "SAFETY",
    "Reference",
    "directional",
    "directional_vector",
    "directions_note",
    "one_sided",
    "reference_gradient",
    "reference_hessian",
    "reference_jacobian",
    "taylor_test",
]

# A rounding budget in ulps: 64 eps is 1.4e-14 in float64 and 7.6e-6 in float32, far
# below the errors worth finding (1e-6 and 1e-3) and above what evaluating a gradient
# formula a different way costs on smooth functions.
ROUNDING = 64.0
# Richardson's error estimate is an estimate: trust it to within this factor.
SAFETY = 10.0
# Tracing costs ~1 ms per variable; past this many the reference is finite differences.
SYMBOLIC_UP_TO = 100
# A directional estimate is taken as converged at this relative error; otherwise the
# step scale shrinks by SHRINK, at most RETRIES times.
CONVERGED = 1e-9
SHRINK = 64.0
RETRIES = 4
EPS64 = float(np.finfo(np.float64).eps)

_SYMBOLIC_FAILURES = (TracerError, UnevaluatedDerivativeError, NotImplementedError)
# A tracer's message is a paragraph (what failed, what is supported, what to use
# instead); a report note keeps its first clause, at most this many characters.
REASON_CHARS = 160

SYMBOLIC = "symbolic"
RICHARDSON = "fd-richardson"
RICHARDSON_OF_GRADIENT = "fd-richardson(reverse grad)"
# What each reference is, as the report's note says it.
WHAT = {
    SYMBOLIC: "exact derivative of the traced function",
    RICHARDSON: "Richardson finite differences with their error estimate",
    RICHARDSON_OF_GRADIENT: (
        "Richardson finite differences of diffkit's reverse-mode gradient, "
        "with their error estimate"
    ),
}


@dataclass(frozen=True)
class Reference:
    """Reference values, a trusted bound on their error (same shape), method name and cost.

    For Richardson the bound is ``SAFETY`` times its estimate; for symbolic the rounding
    model. ``why`` is the report's note on which reference this is and why it was chosen.
    """

    value: np.ndarray
    error: np.ndarray
    method: str
    nfev: int
    why: str


def _note(method: str, because: str | None = None, what: str | None = None) -> str:
    note = f"reference: {method} ({what or WHAT[method]})"
    return note if because is None else f"{note} because {because}"


def directions_note(n: int, k: int, *, asked: bool, threshold: int, of: str = "f") -> str:
    """The note for a directions-mode check: 1-D Richardson derivatives of ``of`` along k d's."""
    because = (
        "mode='directions' was asked for"
        if asked
        else f"x has {n} variables (>= {threshold}, where mode='auto' checks directions, "
        "whose cost does not grow with n)"
    )
    what = f"Richardson derivatives of {of} along {k} seeded directions, with their error estimate"
    return _note(RICHARDSON, because, what)


def _one_line(exc: BaseException) -> str:
    """The gist of an exception's message: its first clause, on one line, bounded in length."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    head = re.split(r"; |: |\. ", text, maxsplit=1)[0]
    if len(head) >= 20:  # a clause, not a prefix like "error: ..."
        text = head
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 3].rstrip() + "..."


def _richardson() -> FiniteDifference:
    return FiniteDifference(richardson=True)


def _symbolic(
    compute: Callable[[], np.ndarray], x: np.ndarray, method: str
) -> tuple[np.ndarray | None, str]:
    """The symbolic answer and its note, or None and why the reference must be Richardson.

    Not tried for ``method="fd"``, nor (under ``"auto"``) past ``SYMBOLIC_UP_TO``
    variables; tried and refused where f does not trace or the result is not finite
    (a derivative that is infinite or NaN at the point, where Richardson may still see
    a finite limit).
    """
    if method == "fd":
        return None, "method='fd' was asked for"
    if method == "auto" and x.size > SYMBOLIC_UP_TO:
        return None, f"x has {x.size} variables (> {SYMBOLIC_UP_TO}, the limit for tracing)"
    try:
        with np.errstate(all="ignore"):
            value = np.asarray(compute(), dtype=np.float64)
    except _SYMBOLIC_FAILURES as exc:
        return None, f"the symbolic backend could not trace f: {_one_line(exc)}"
    bad = int(np.count_nonzero(~np.isfinite(value)))
    if bad:
        return None, (
            f"the symbolic result was not finite at the point ({bad} of {value.size} entries)"
        )
    return value, _note(SYMBOLIC)


def _along(f: Any, x: np.ndarray, method: str, because: str) -> Reference:
    """Richardson derivatives along every axis: columns (n, *out) with errors."""
    fd = _richardson()
    parts = Lines(fd, f, x, (), None).along_axes(fd, 1, probe=False)
    value = np.stack([np.asarray(p.value, dtype=float)[0] for p in parts])
    error = np.stack([np.asarray(p.error, dtype=float)[0] for p in parts])
    nfev = int(sum(int(np.max(p.nfev)) for p in parts))
    error = np.where(np.isnan(error), np.inf, SAFETY * error)
    return Reference(value, error, method, nfev, _note(method, because))


def reference_gradient(f: Any, x: np.ndarray, *, method: str = "auto") -> Reference:
    """The gradient reference at float64 point x: symbolic where f traces, else Richardson."""
    fx = abs(float(np.asarray(as_callable(f)(x))))
    value, why = _symbolic(lambda: Symbolic().gradient(f, x), x, method)
    if value is not None:
        error = ROUNDING * EPS64 * (np.abs(value) + fx / step_scale(x))
        return Reference(value.reshape(-1), error.reshape(-1), SYMBOLIC, 1, why)
    if method == "symbolic":
        raise TypeError(f"no symbolic reference: {why}; use method='fd' or 'auto'")
    ref = _along(f, x, RICHARDSON, why)
    return Reference(ref.value.reshape(-1), ref.error.reshape(-1), ref.method, ref.nfev, ref.why)


def reference_jacobian(f: Any, x: np.ndarray, *, method: str = "auto") -> Reference:
    """The Jacobian reference (m, n) at float64 point x."""
    fx = np.abs(np.asarray(as_callable(f)(x), dtype=float)).reshape(-1, 1)
    value, why = _symbolic(lambda: Symbolic().jacobian(f, x), x, method)
    if value is not None:
        error = ROUNDING * EPS64 * (np.abs(value) + fx / step_scale(x).reshape(1, -1))
        return Reference(value, error, SYMBOLIC, 1, why)
    ref = _along(f, x, RICHARDSON, why)  # (n, m) columns
    return Reference(
        ref.value.reshape(x.size, -1).T,
        ref.error.reshape(x.size, -1).T,
        ref.method,
        ref.nfev,
        ref.why,
    )


def reference_hessian(f: Any, x: np.ndarray, *, method: str = "auto") -> Reference:
    """The Hessian reference: symbolic, else Richardson columns of the reverse-mode gradient."""
    value, why = _symbolic(lambda: Symbolic().hessian(f, x), x, method)
    if value is not None:
        error = ROUNDING * EPS64 * (np.abs(value) + np.max(np.abs(value)))
        return Reference(value, error, SYMBOLIC, 1, why)
    from ..backends.reverse import ReverseMode

    fn = as_callable(f)
    ref = _along(lambda y: ReverseMode().gradient(fn, y), x, RICHARDSON_OF_GRADIENT, why)
    shape = (x.size, x.size)
    return Reference(
        ref.value.reshape(shape), ref.error.reshape(shape), ref.method, ref.nfev, ref.why
    )


def _line(f: Callable[..., Any], x: np.ndarray, d: np.ndarray) -> Callable[[Any], np.ndarray]:
    """t -> f(x + t d) for an array t of shape (k,): values of shape (k, m), f flattened."""

    def phi(t: Any) -> np.ndarray:
        ts = np.asarray(t, dtype=float).reshape(-1)
        return np.stack([np.asarray(f(x + ti * d), dtype=float).reshape(-1) for ti in ts])

    return phi


def directional_vector(
    f: Callable[..., Any], x: np.ndarray, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """The derivative of F: R^n -> R^m along d at x by 1-D Richardson: (value, bound, nfev).

    value and bound have shape (m,). Richardson keeps one error estimate per point, the
    largest over the outputs, so every component gets that bound (conservative where
    the outputs differ in size). Richardson can stop at steps too coarse for a function
    that oscillates faster than d's scale (sin(1e4 x)), with an error estimate as large
    as the value; then it runs again on a scale ``SHRINK`` times smaller, up to
    ``RETRIES`` times, keeping the estimate with the smallest error.
    """
    line = _line(f, x, d)
    origin = np.zeros(1)
    best: tuple[np.ndarray, float] = (np.full(1, np.nan), np.inf)
    nfev = 0
    for k in range(RETRIES + 1):
        fd = FiniteDifference(richardson=True, scale=SHRINK**-k)
        result = fd._estimate_line(line, origin, 1, "auto", np.float64)
        nfev += int(np.max(result.nfev))
        value = np.asarray(result.value, dtype=float).reshape(-1)
        error = float(np.max(np.asarray(result.error, dtype=float)))
        if np.all(np.isfinite(value)) and np.isfinite(error) and error < best[1]:
            best = (value, error)
        if best[1] <= CONVERGED * float(np.max(np.abs(best[0]))):
            break
    bound = np.full(best[0].shape, SAFETY * best[1])
    return best[0], bound, nfev


def directional(f: Callable[..., Any], x: np.ndarray, d: np.ndarray) -> tuple[float, float, int]:
    """The derivative of f: R^n -> R along d at x: (value, error bound, nfev).

    The scalar case of ``directional_vector``.
    """
    value, bound, nfev = directional_vector(f, x, d)
    return float(value[0]), float(bound[0]), nfev


def one_sided(f: Any, x: np.ndarray, i: int, yours: float, tol: float, index: str) -> Kink | None:
    """A kink along coordinate i, or None where the one-sided derivatives agree.

    Forward and backward Richardson estimates differ beyond their error estimates only
    where f is not differentiable; there any value between them (with tolerance) is a
    valid subgradient.
    """
    line = coordinate_line(f, x, i)
    point = x[i : i + 1]
    right = FiniteDifference(scheme="forward", richardson=True).estimate(line, point)
    left = FiniteDifference(scheme="backward", richardson=True).estimate(line, point)
    lo, hi = float(left.value[0]), float(right.value[0])
    noise = SAFETY * (float(left.error[0]) + float(right.error[0])) + tol
    if not (np.isfinite(lo) and np.isfinite(hi)) or abs(hi - lo) <= noise:
        return None
    accepted = min(lo, hi) - tol <= yours <= max(lo, hi) + tol
    return Kink(index, lo, hi, yours, accepted)


def taylor_test(
    f: Callable[..., Any], g: np.ndarray, x: np.ndarray, d: np.ndarray, *, levels: int = 30
) -> TaylorResult:
    """Fit the slope of log r(t) over the four smallest t = 2^-k with r above rounding.

    ``g`` is a gradient (n,) of f: R^n -> R or a Jacobian (m, n) of F: R^n -> R^m, and
    r(t) = ||F(x + t d) - F(x) - t g d||. Needs no step choice: below the rounding level
    (r < ROUNDING eps ||F||) the points are dropped; a correct derivative gives 2 (3
    where the curvature along d vanishes), a wrong one 1.
    """
    t = 2.0 ** -np.arange(1, levels + 1)
    f0 = np.asarray(f(x), dtype=float).reshape(-1)
    slope_gd = (np.asarray(g, dtype=float) @ d).reshape(-1)
    with np.errstate(all="ignore"):
        ft = np.stack([np.asarray(f(x + ti * d), dtype=float).reshape(-1) for ti in t])
        r = np.linalg.norm(ft - f0 - t[:, None] * slope_gd, axis=1)
        size = np.maximum(np.linalg.norm(ft, axis=1), np.linalg.norm(f0))
    noise = SAFETY * ROUNDING * EPS64 * size
    usable = np.flatnonzero(np.isfinite(r) & (r > noise))
    if usable.size >= 2:
        # the smallest usable t, contiguous from the last one above noise
        last = usable[-1]
        run = [last]
        for k in usable[::-1][1:]:
            if k != run[-1] - 1 or len(run) == 4:
                break
            run.append(k)
        pick = np.array(sorted(run))
        if pick.size >= 3:
            slope = float(np.polyfit(np.log2(t[pick]), np.log2(r[pick]), 1)[0])
            return TaylorResult(slope, t, r)
    return TaylorResult(float("nan"), t, r)
