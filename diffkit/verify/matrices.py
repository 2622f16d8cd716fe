"""check_jacobian and check_hessian: entry by entry, or along seeded directions.

Components: every entry against the reference (symbolic where f traces, else
Richardson columns), with the tolerance of ``checks``. Directions (``mode="directions"``,
the default past ``DIRECTIONS_FROM`` variables): for k seeded directions d, the
m-vector J d against the 1-D Richardson derivative of t -> F(x + t d), output by
output, with base ``ROUNDING eps (|ref_i| + Z ||J_i * d||)`` as for gradients (row i
of J plays the gradient). Cost does not grow with n. A failing direction is located
entry by entry for small n, else by bisecting it over the columns of each failing row.

A Hessian is the Jacobian of the gradient: its directions mode compares Hessian-vector
products H d against Richardson derivatives of diffkit's reverse-mode gradient along d,
and its Taylor test runs on that gradient.

As for gradients, the report's notes say which reference was used and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autodiff import engine as ad
from ..backends.steps import machine_epsilon, step_scale
from ..function import as_callable
from .checks import (
    DIRECTIONS,
    DIRECTIONS_FROM,
    LOCATE_COMPONENTS_UP_TO,
    Derivative,
    Z,
    _finish,
    _locate,
    _modes,
    _options,
    _point,
    _tolerance,
    _yours,
)
from .reference import (
    RICHARDSON,
    Reference,
    directional_vector,
    directions_note,
    reference_hessian,
    reference_jacobian,
    taylor_test,
)
from .report import MAX_ROWS, CheckReport

__all__ = ["check_hessian", "check_jacobian"]

Entries = tuple[list[str], np.ndarray, np.ndarray, np.ndarray]


def _entries(prefix: str, ref: Reference, yours: np.ndarray, tol: np.ndarray) -> Entries:
    rows, cols = ref.value.shape
    index = [f"{prefix}[{i},{j}]" for i in range(rows) for j in range(cols)]
    return index, yours.reshape(-1), ref.value.reshape(-1), tol.reshape(-1)


def _products(
    F: Callable[..., Any],
    M: np.ndarray,
    x64: np.ndarray,
    dirs: np.ndarray,
    eps: float,
    rtol: float | None,
    atol: float | None,
    prefix: str,
) -> tuple[Entries, int]:
    """M d against the Richardson derivative of t -> F(x + t d), per direction and output."""
    index: list[str] = []
    yours, refs, tols = [], [], []
    nfev = 0
    for j, d in enumerate(dirs):
        ref, bound, cost = directional_vector(F, x64, d)
        nfev += cost
        ref = np.broadcast_to(ref, (M.shape[0],))
        bound = np.broadcast_to(bound, (M.shape[0],))
        spread = Z * np.linalg.norm(M * d, axis=1)
        index.extend(f"({prefix}d{j})[{i}]" for i in range(M.shape[0]))
        yours.append(M @ d)
        refs.append(ref)
        tols.append(_tolerance(ref, bound, spread, eps, rtol, atol))
    return (index, np.concatenate(yours), np.concatenate(refs), np.concatenate(tols)), nfev


def _bisect_rows(
    F: Callable[..., Any],
    M: np.ndarray,
    x64: np.ndarray,
    d: np.ndarray,
    rows: list[int],
    eps: float,
    rtol: float | None,
    atol: float | None,
    prefix: str,
) -> tuple[Entries, int]:
    """Bisect direction d over the columns of each failing row, up to MAX_ROWS entries."""
    index: list[str] = []
    yours: list[float] = []
    refs: list[float] = []
    tols: list[float] = []
    nfev = 0
    for r in rows:
        if len(index) >= MAX_ROWS:
            break

        def row(y: np.ndarray, r: int = r) -> Any:
            return np.asarray(F(y), dtype=float).reshape(-1)[r]

        cols, crefs, ctols, cost = _locate(row, x64, M[r], d, eps, rtol, atol)
        nfev += cost
        index.extend(f"{prefix}[{r},{c}]" for c in cols)
        yours.extend(float(M[r, c]) for c in cols)
        refs.extend(crefs)
        tols.extend(ctols)
    return (index, np.asarray(yours), np.asarray(refs), np.asarray(tols)), nfev


def _check_matrix(
    kind: str,
    prefix: str,
    F: Callable[..., Any],
    M: np.ndarray,
    x64: np.ndarray,
    dtype: Any,
    components: Callable[[], tuple[Reference, Any]],
    *,
    rtol: float | None,
    atol: float | None,
    mode: str,
    directions: int,
    seed: int,
    taylor: bool,
    label: str,
    start: float,
    of: str,
) -> CheckReport:
    """Check M as the Jacobian of F at x64; ``components`` gives the reference and floor.

    ``of`` names F in the directions-mode note ("f", "diffkit's reverse-mode gradient").
    """
    n = x64.size
    eps = machine_epsilon(dtype)
    use = mode if mode != "auto" else ("directions" if n >= DIRECTIONS_FROM else "components")
    dirs = np.random.default_rng(seed).standard_normal((directions, n)) * step_scale(x64)
    notes: list[str] = []
    nfev = 1
    method = RICHARDSON
    if use == "directions":
        notes.append(
            directions_note(
                n, directions, asked=mode == "directions", threshold=DIRECTIONS_FROM, of=of
            )
        )
        entries, cost = _products(F, M, x64, dirs, eps, rtol, atol, prefix)
        nfev += cost
        index, yours, reference, tol = entries
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.abs(yours - reference) / tol
        bad = np.flatnonzero(~(np.abs(yours - reference) <= tol))
        if bad.size and n <= LOCATE_COMPONENTS_UP_TO:
            notes.append(f"direction check failed at {index[bad[0]]}; checked every entry")
            use = "directions->components"
        elif bad.size:
            m = M.shape[0]
            worst = int(bad[np.argmax(np.where(np.isnan(ratio[bad]), np.inf, ratio[bad]))])
            j = worst // m
            order = np.argsort(-np.nan_to_num(ratio[j * m : (j + 1) * m], nan=np.inf))
            rows = [int(i) for i in order if not np.abs(ratio[j * m + i]) <= 1.0]
            found, cost = _bisect_rows(F, M, x64, dirs[j], rows, eps, rtol, atol, prefix)
            nfev += cost
            notes.append(f"direction d{j} failed; bisection located {len(found[0])} entries")
            index = index + found[0]
            yours, reference, tol = (
                np.concatenate([a, b]) for a, b in zip(entries[1:], found[1:], strict=True)
            )
    if use != "directions":
        ref, floor = components()
        nfev += ref.nfev
        method = ref.method
        notes.append(ref.why)
        tolerance = _tolerance(ref.value, ref.error, floor, eps, rtol, atol)
        index, yours, reference, tol = _entries(prefix, ref, M, tolerance)
    report_taylor = taylor_test(F, M, x64, dirs[0]) if taylor else None
    if report_taylor is not None:
        nfev += report_taylor.t.size
    report = CheckReport(
        kind=kind,
        method=method,
        mode=use,
        index=index,
        yours=np.asarray(yours, dtype=float),
        reference=np.asarray(reference, dtype=float),
        tolerance=np.asarray(tol, dtype=float),
        passed=bool(np.all(np.abs(yours - reference) <= tol)),
        label=label,
        taylor=report_taylor,
        notes=tuple(notes),
        nfev=nfev,
        seconds=time.perf_counter() - start,
    )
    return report


def check_jacobian(
    f: Any,
    jac: Derivative,
    x: Any,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    mode: str = "auto",
    directions: int = DIRECTIONS,
    seed: int = 0,
    method: str = "auto",
    taylor: bool = True,
    label: str = "yours",
    raise_on_failure: bool = True,
) -> CheckReport:
    """Check a Jacobian (m, n) of f: R^n -> R^m at x (options as for ``check_gradient``).

    ``mode="directions"`` compares J d with derivatives along seeded directions d; the
    Taylor test reports how ||f(x + t d) - f(x) - t J d|| shrinks (slope 2 when correct).
    """
    start = time.perf_counter()
    _options(rtol, atol)
    _modes(mode, method, directions)
    point, dtype = _point(x)
    x64 = np.atleast_1d(point).astype(np.float64)
    fn = as_callable(f)
    fx = np.abs(np.asarray(fn(x64), dtype=float)).reshape(-1, 1)
    yours = _yours(jac, point, (fx.size, x64.size), "Jacobian")

    def components() -> tuple[Reference, Any]:
        return reference_jacobian(f, x64, method=method), fx / step_scale(x64).reshape(1, -1)

    report = _check_matrix(
        "jacobian",
        "J",
        fn,
        yours,
        x64,
        dtype,
        components,
        rtol=rtol,
        atol=atol,
        mode=mode,
        directions=directions,
        seed=seed,
        taylor=taylor,
        label=label,
        start=start,
        of="f",
    )
    return _finish(report, raise_on_failure)


def check_hessian(
    f: Any,
    hess: Derivative,
    x: Any,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    mode: str = "auto",
    directions: int = DIRECTIONS,
    seed: int = 0,
    method: str = "auto",
    taylor: bool = True,
    label: str = "yours",
    raise_on_failure: bool = True,
) -> CheckReport:
    """Check a Hessian (n, n) of f: R^n -> R at x as the Jacobian of its gradient.

    Components: the reference is symbolic where f traces, else Richardson columns of
    diffkit's reverse-mode gradient; the rounding floor is max |H| (second derivatives
    combine terms of the Hessian's size). Directions: H d against Richardson
    derivatives of the reverse-mode gradient along d.
    """
    start = time.perf_counter()
    _options(rtol, atol)
    _modes(mode, method, directions)
    point, dtype = _point(x)
    x64 = np.atleast_1d(point).astype(np.float64)
    yours = _yours(hess, point, (x64.size, x64.size), "Hessian")

    def components() -> tuple[Reference, Any]:
        ref = reference_hessian(f, x64, method=method)
        return ref, float(np.max(np.abs(ref.value))) if ref.value.size else 0.0

    report = _check_matrix(
        "hessian",
        "H",
        ad.grad(as_callable(f)),
        yours,
        x64,
        dtype,
        components,
        rtol=rtol,
        atol=atol,
        mode=mode,
        directions=directions,
        seed=seed,
        taylor=taylor,
        label=label,
        start=start,
        of="diffkit's reverse-mode gradient",
    )
    return _finish(report, raise_on_failure)
