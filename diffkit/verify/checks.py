"""check_gradient and check_backward: pass or raise a table (matrices: ``matrices.py``).

Tolerance, per entry: ``max(reference bound, base)`` where the reference bound is
what the reference can vouch for (Richardson: ``SAFETY`` x its error estimate;
symbolic: its rounding) and ``base`` is the user's rounding, ``ROUNDING * eps(dtype)
* (|ref| + floor)`` with ``floor = |f(x)| / scale_i`` (a gradient formula combines
terms of size |f| / scale, as in the complex step's error model). A user's ``rtol``
/ ``atol`` replace ``base`` by ``atol + rtol |ref|``; no tolerance can be finer than
the reference's own error, since then a disagreement would prove nothing.

Cheap mode (``mode="directions"``, the default past ``DIRECTIONS_FROM`` variables):
k seeded Gaussian directions d (scaled per variable), and ``<g, d>`` against a 1-D
Richardson derivative of t -> f(x + t d). Cost does not grow with n. Rounding in g
enters ``<g, d>`` as a sum of independent terms against the random d, so its base is
``ROUNDING eps (|ref| + Z ||g * scale||_2)`` (Z standard deviations). A failing
direction is located: component-wise for small n, else by bisecting the direction
(masked to halves of the coordinates) down to single coordinates.

The report's notes start with which reference was used and why (``Reference.why``,
or the directions-mode note), so a fallback to finite differences is never silent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autodiff import engine as ad
from ..backends.inputs import as_points
from ..backends.steps import machine_epsilon, step_scale
from ..function import as_callable
from .reference import (
    RICHARDSON,
    ROUNDING,
    Reference,
    directional,
    directions_note,
    one_sided,
    reference_gradient,
    taylor_test,
)
from .report import MAX_ROWS, CheckReport, GradientMismatch, Kink

__all__ = ["check_backward", "check_gradient"]

DIRECTIONS_FROM = 33
DIRECTIONS = 3
Z = 6.0
LOCATE_COMPONENTS_UP_TO = 100

Derivative = Callable[..., Any] | np.ndarray | Any


def _point(x: Any) -> tuple[np.ndarray, Any]:
    arr = as_points(x)
    if arr.ndim > 1:
        raise ValueError(f"x must be a number or a 1-D array, got shape {arr.shape}; flatten it")
    return arr, arr.dtype


def _yours(derivative: Derivative, x: np.ndarray, shape: tuple[int, ...], what: str) -> np.ndarray:
    value = derivative(x) if callable(derivative) else derivative
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != int(np.prod(shape)):
        raise ValueError(
            f"your {what} has shape {np.shape(value)}, expected {shape} for x of shape {x.shape}"
        )
    return arr.reshape(shape)


def _options(rtol: float | None, atol: float | None) -> None:
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value is not None and not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def _modes(mode: str, method: str, directions: int) -> None:
    if mode not in ("auto", "components", "directions"):
        raise ValueError(f"mode must be 'auto', 'components' or 'directions', got {mode!r}")
    if method not in ("auto", "symbolic", "fd"):
        raise ValueError(f"method must be 'auto', 'symbolic' or 'fd', got {method!r}")
    if isinstance(directions, bool) or not isinstance(directions, int) or directions < 1:
        raise ValueError(f"directions must be an integer >= 1, got {directions!r}")


def _tolerance(
    ref: np.ndarray,
    bound: np.ndarray,
    floor: Any,
    eps: float,
    rtol: float | None,
    atol: float | None,
) -> np.ndarray:
    if rtol is None and atol is None:
        base = ROUNDING * eps * (np.abs(ref) + floor)
    else:
        base = (atol or 0.0) + (rtol or 0.0) * np.abs(ref)
    return np.maximum(bound, base)


def _finish(report: CheckReport, raise_on_failure: bool) -> CheckReport:
    if raise_on_failure and not report.passed:
        raise GradientMismatch(report)
    return report


def _kinks(
    fn: Callable[..., Any],
    x64: np.ndarray,
    indices: np.ndarray,
    yours: np.ndarray,
    tol: np.ndarray,
    reference: np.ndarray,
) -> list[Kink]:
    """One-sided tests at the failing components (at most a table's worth)."""
    kinks = []
    for i in indices[: 2 * MAX_ROWS]:
        kink = one_sided(fn, x64, int(i), float(yours[i]), float(tol[i]), f"x[{i}]")
        if kink is not None:
            kinks.append(kink)
    return kinks


def _components(
    fn: Callable[..., Any],
    f: Any,
    x64: np.ndarray,
    g: np.ndarray,
    eps: float,
    rtol: float | None,
    atol: float | None,
    method: str,
    kinks: bool,
) -> tuple[Reference, np.ndarray, list[Kink]]:
    """Every component against the reference: (reference, tolerances, kinks found)."""
    ref = reference_gradient(f, x64, method=method)
    floor = abs(float(np.asarray(fn(x64)))) / step_scale(x64)
    tol = _tolerance(ref.value, ref.error, floor, eps, rtol, atol)
    bad = np.flatnonzero(~(np.abs(g - ref.value) <= tol))
    found = _kinks(fn, x64, bad, g, tol, ref.value) if kinks and bad.size else []
    return ref, tol, found


def _locate(
    fn: Callable[..., Any],
    x64: np.ndarray,
    g: np.ndarray,
    d: np.ndarray,
    eps: float,
    rtol: float | None,
    atol: float | None,
) -> tuple[list[int], list[float], list[float], int]:
    """Bisect a failing direction, depth first, down to up to MAX_ROWS single coordinates.

    Returns the coordinates, the reference partials and their tolerances, and nfev.
    """
    stack = [np.arange(x64.size)]
    found: list[int] = []
    refs: list[float] = []
    tols: list[float] = []
    nfev = 0
    while stack and len(found) < MAX_ROWS:
        block = stack.pop()
        masked = np.zeros_like(d)
        masked[block] = d[block]
        ref, bound, cost = directional(fn, x64, masked)
        nfev += cost
        spread = Z * float(np.linalg.norm(g[block] * masked[block]))
        tol = float(_tolerance(np.asarray(ref), np.asarray(bound), spread, eps, rtol, atol))
        if abs(float(g[block] @ masked[block]) - ref) <= tol:
            continue
        if block.size == 1:
            size = abs(float(d[block[0]]))
            found.append(int(block[0]))
            refs.append(ref / float(d[block[0]]))
            tols.append(tol / size)
            continue
        half = block.size // 2
        stack.extend([block[half:], block[:half]])  # left half popped first
    return found, refs, tols, nfev


def check_gradient(
    f: Any,
    grad: Derivative,
    x: Any,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    mode: str = "auto",
    directions: int = DIRECTIONS,
    seed: int = 0,
    method: str = "auto",
    kinks: bool = True,
    taylor: bool = True,
    label: str = "yours",
    raise_on_failure: bool = True,
) -> CheckReport:
    """Check a gradient (callable x -> g, or an array) of f: R^n -> R at x.

    Returns the report when it passes; raises ``GradientMismatch`` (an AssertionError
    whose message is the table) when it does not (``raise_on_failure=False`` returns
    the failing report instead). ``label`` names your gradient in the table.

    - ``method``: the reference, ``"auto"`` (symbolic where f traces, else Richardson
      finite differences with their error estimate), ``"symbolic"`` or ``"fd"``.
    - Tolerance, per component: by default ``max(what the reference can vouch for,
      ROUNDING eps (|ref| + |f(x)| / scale))`` with ``ROUNDING`` = 64, eps of x's
      dtype and scale = |x_i| (1 where x_i = 0): the reference's own error (10x
      Richardson's estimate; the rounding of the exact one) or your gradient's
      rounding, whichever is larger.
      ``rtol`` / ``atol`` replace the rounding part by ``atol + rtol |ref|``; no
      tolerance is finer than the reference's error, where a disagreement proves
      nothing.
    - ``mode``: ``"components"`` (every component), ``"directions"`` (``directions``
      seeded random directions, ``seed``; the cost does not grow with n, and a failing
      direction is bisected down to its components) or ``"auto"`` (directions from
      ``DIRECTIONS_FROM`` = 33 variables).
    - ``kinks``: at a failing component, compare the one-sided Richardson derivatives;
      where they differ beyond their errors, f has a kink there, and any value between
      them (a subgradient: ``relu`` at 0) is accepted and listed as such.
    - ``taylor``: add a Taylor test along the first direction, the slope of
      log ||f(x + t d) - f(x) - t <g, d>|| over small t: 2 for a correct gradient, 1
      for a wrong one, whatever the tolerances (shown in the report, not judged).
    """
    start = time.perf_counter()
    _options(rtol, atol)
    _modes(mode, method, directions)
    point, dtype = _point(x)
    fn = as_callable(f)
    x64 = np.atleast_1d(point).astype(np.float64)
    call = fn if point.ndim == 1 else (lambda y: fn(np.asarray(y).reshape(())))
    g = _yours(grad, point, (x64.size,), "gradient")
    eps = machine_epsilon(dtype)
    n = x64.size
    use = mode if mode != "auto" else ("directions" if n >= DIRECTIONS_FROM else "components")
    rng = np.random.default_rng(seed)
    dirs = rng.standard_normal((directions, n)) * step_scale(x64)
    notes: list[str] = []
    found: list[Kink] = []
    nfev = 1
    if use == "components":
        full, tol, found = _components(
            call, f if point.ndim == 1 else call, x64, g, eps, rtol, atol, method, kinks
        )
        nfev += full.nfev
        notes.append(full.why)
        reference, ref_method = full.value, full.method
        index, yours = [f"x[{i}]" for i in range(n)], g
    else:
        notes.append(
            directions_note(n, directions, asked=mode == "directions", threshold=DIRECTIONS_FROM)
        )
        refs, tols, ref_method = [], [], RICHARDSON
        for d in dirs:
            ref, bound, cost = directional(call, x64, d)
            nfev += cost
            spread = Z * float(np.linalg.norm(g * d))
            refs.append(ref)
            tols.append(
                float(_tolerance(np.asarray(ref), np.asarray(bound), spread, eps, rtol, atol))
            )
        reference, tol = np.asarray(refs), np.asarray(tols)
        yours = dirs @ g
        index = [f"<g,d{j}>" for j in range(directions)]
        bad = np.flatnonzero(~(np.abs(yours - reference) <= tol))
        if bad.size and n <= LOCATE_COMPONENTS_UP_TO:
            notes.append(f"direction check failed along d{bad[0]}; checked every component")
            full, tol, found = _components(
                call, f if point.ndim == 1 else call, x64, g, eps, rtol, atol, method, kinks
            )
            nfev += full.nfev
            notes.append(full.why)
            reference, ref_method = full.value, full.method
            use, index, yours = "directions->components", [f"x[{i}]" for i in range(n)], g
        elif bad.size:
            worst = int(bad[np.argmax(np.abs(yours - reference)[bad] / tol[bad])])
            coords, crefs, ctols, cost = _locate(call, x64, g, dirs[worst], eps, rtol, atol)
            nfev += cost
            notes.append(f"direction d{worst} failed; bisection located {len(coords)} component(s)")
            if kinks:
                for i, t in zip(coords, ctols, strict=True):
                    kink = one_sided(call, x64, i, float(g[i]), t, f"x[{i}]")
                    if kink is not None:
                        found.append(kink)
            index = index + [f"x[{i}]" for i in coords]
            yours = np.concatenate([yours, g[coords]])
            reference = np.concatenate([reference, crefs])
            tol = np.concatenate([tol, ctols])
    accepted = {k.index for k in found if k.accepted}
    outside = [index[i] for i in np.flatnonzero(~(np.abs(yours - reference) <= tol))]
    if use == "directions->components" or not any(i.startswith("x[") for i in outside):
        passed = all(i in accepted for i in outside)
    else:  # bisection: the failing directions are explained only if every located entry is
        located = [i for i in outside if i.startswith("x[")]
        passed = all(i in accepted for i in located) and bool(accepted)
    report_taylor = taylor_test(call, g, x64, dirs[0]) if taylor else None
    if taylor:
        nfev += report_taylor.t.size if report_taylor is not None else 0
    report = CheckReport(
        kind="gradient",
        method=ref_method,
        mode=use,
        index=index,
        yours=np.asarray(yours, dtype=float),
        reference=np.asarray(reference, dtype=float),
        tolerance=np.asarray(tol, dtype=float),
        passed=passed,
        label=label,
        kinks=tuple(found),
        taylor=report_taylor,
        notes=tuple(notes),
        nfev=nfev,
        seconds=time.perf_counter() - start,
        accepted=tuple(sorted(accepted)),
    )
    return _finish(report, raise_on_failure)


def check_backward(f: Any, x: Any, **options: Any) -> CheckReport:
    """Check diffkit's own reverse mode (``dk.grad``) on f at x against the reference."""
    options.setdefault("label", "reverse")
    return check_gradient(f, ad.grad(as_callable(f)), x, **options)
