"""Hessians: the whole matrix per step, extrapolated as one Richardson tableau.

On the scaled variables t (x = x0 + s * t, s_i the length on which f varies along
axis i, measured by the pilot), one step tau gives every entry at once:

    H_ii = (f(x + 2 tau s_i e_i) - 2 f(x) + f(x - 2 tau s_i e_i)) / (4 tau^2 s_i^2)
    H_ij = (f(x + tau(s_i e_i + s_j e_j)) - f(x + tau(s_i e_i - s_j e_j))
            - f(x - tau(s_i e_i - s_j e_j)) + f(x - tau(s_i e_i + s_j e_j))) / (4 tau^2 s_i s_j)

2 n^2 + 1 evaluations per step (f(x) shared), an error series in tau^2 for every
entry, and a rounding error of about eps max|f| / tau^2 in every scaled entry. So
the scaled matrix (and, for vector-valued f, the whole stack of them) goes through
one ``richardson.Tableau`` as its components: the same Lyness check, stopping rule
and error estimate as a scalar derivative. The plain rule takes one step, the
optimum of the central second difference on the scaled variables, and estimates
its truncation from the step 2 tau.

The complex step differentiates its own (exact to rounding) gradient by central
differences; the contour scheme polarizes: H_ij = (D_u^2 - D_v^2) / 4 along
u, v = s_i e_i +- s_j e_j, each a contour second derivative.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..function import as_callable, coordinate_line
from .accuracy import judge
from .complexstep import needs_probe
from .pilot import F_ULPS, pilot, typical_length
from .richardson import FIRST_BATCH, NEXT_BATCH, Tableau, asymptotic_ratios, richardson_factors
from .stencils import stencil
from .steps import exact_step, machine_epsilon, optimal_step, step_scale

if TYPE_CHECKING:
    from .finite import FDResult, FiniteDifference
    from .multivariate import Lines

__all__ = ["complex_hessian", "contour_hessian", "matrix_hessian"]


def _lengths(fd: FiniteDifference, lines: Lines) -> tuple[np.ndarray, np.ndarray, int]:
    """Per variable, the length on which f varies along its axis, how far the pilot saw
    f along it (inf for a given scale), and what measuring cost."""
    point = lines.point
    if fd.scale is not None:
        return step_scale(point, fd.scale), np.full(point.size, np.inf), 0
    lengths, reach, cost = np.empty(point.size), np.empty(point.size), 0
    for i in range(point.size):
        found = pilot(coordinate_line(lines.f, point, i), point[i : i + 1], 4, lines.dtype)
        seen = found.size[0] > 0
        lengths[i] = found.length[0] if seen else typical_length(point[i : i + 1])[0]
        reach[i] = found.reach[0] if seen else np.inf
        cost += int(found.nfev[0])
    return lengths, reach, cost


def _offsets(k: int) -> tuple[np.ndarray, list[tuple[int, int, int, int, int]]]:
    """The stencil of one step in units of tau s: rows of offsets, and where each entry reads.

    Row 0 is x; rows 1 + 2i, 2 + 2i are x -+ 2 e_i; then four rows per pair i < j.
    """
    rows = [np.zeros(k)]
    for i in range(k):
        for sign in (1.0, -1.0):
            e = np.zeros(k)
            e[i] = 2.0 * sign
            rows.append(e)
    pairs = []
    for i in range(k):
        for j in range(i + 1, k):
            start = len(rows)
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                e = np.zeros(k)
                e[i], e[j] = si, sj
                rows.append(e)
            pairs.append((i, j, start, start + 1, start + 2))
    return np.array(rows), pairs


def _scaled_hessians(
    fn: Any, point: np.ndarray, s: np.ndarray, taus: np.ndarray, dtype: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """For each tau: the scaled Hessians (levels, *out, k, k), max |f|, the steps, evaluations."""
    k = point.size
    rows, pairs = _offsets(k)
    levels = []
    sizes = []
    steps = []
    for tau in taus:
        d = exact_step(point.astype(float), tau * s)  # the steps taken, exactly representable
        ys = point[None, :] + (rows * d[None, :]).astype(point.dtype)
        with np.errstate(all="ignore"):
            fs = np.stack([np.asarray(fn(y)) for y in ys])
        if np.iscomplexobj(fs):
            from .finite import _cast

            _cast(fs, dtype)
        fs = fs.astype(float)
        out = fs.shape[1:]
        h = np.zeros((*out, k, k))
        scale = d / s  # tau per axis, as taken
        for i in range(k):
            second = fs[1 + 2 * i] - 2.0 * fs[0] + fs[2 + 2 * i]
            h[..., i, i] = second / (4.0 * scale[i] ** 2)
        for i, j, a, b, c in pairs:
            mixed = fs[a] - fs[b] - fs[c] + fs[c + 1]
            h[..., i, j] = h[..., j, i] = mixed / (4.0 * scale[i] * scale[j])
        levels.append(h)
        sizes.append(float(np.max(np.abs(fs))) if fs.size else 0.0)
        steps.append(d)
    return np.array(levels), np.array(sizes), np.array(steps), len(taus) * len(rows)


def matrix_hessian(fd: FiniteDifference, lines: Lines) -> FDResult:
    """The real-step Hessian (plain or Richardson) of the module docstring."""
    from .finite import REACH_FACTOR, RICHARDSON_START, FDResult, _cast

    point, dtype = lines.point, lines.dtype
    eps = machine_epsilon(dtype)
    fn = as_callable(lines.f)
    if isinstance(fd.h, str):
        s, reach, cost = _lengths(fd, lines)
        if fd.richardson:  # the longest step, 2 tau0 s_i, no farther than the pilot saw f
            tau0 = min(RICHARDSON_START, float(np.min(REACH_FACTOR * reach / (2.0 * s))))
        else:
            tau0 = float(optimal_step(stencil("central", 2), dtype))
    else:
        s, cost = np.asarray(lines.steps, dtype=float), 0
        tau0 = 0.5  # the stencil's +-2 tau s_i is then +-h_i: the user's step, exactly
    if fd.richardson:
        value, error, status, used, nfev, size = _extrapolated(fn, point, s, tau0, fd, eps, dtype)
    else:
        levels, sizes, steps, nfev = _scaled_hessians(
            fn, point, s, np.array([tau0, 2 * tau0]), dtype
        )
        value = levels[0]
        rounding = F_ULPS * eps * sizes[0] / tau0**2
        error = np.abs(levels[0] - levels[1]) / 3.0 + rounding + eps * np.abs(value)
        status = np.where(np.isfinite(value), "ok", "nonfinite").astype(object)
        used, size = steps[0], sizes[0]
    unscale = np.outer(s, s)
    value = value / unscale
    error = error / unscale
    rounding = F_ULPS * eps * size / np.outer(used, used)
    natural = size / unscale
    shape = value.shape
    status = np.broadcast_to(status, shape).reshape(-1)
    if fd.fallback:
        status = judge(
            status,
            value.reshape(-1, 1),
            error.reshape(-1),
            np.broadcast_to(rounding, shape).reshape(-1),
            np.broadcast_to(natural, shape).reshape(-1),
            eps,
        )
    return FDResult(
        value=_cast(value, dtype),
        error=error,
        h=used,
        nfev=np.array(nfev + cost),
        status=status.reshape(shape),
        check_nfev=np.array(0),
    )


def _extrapolated(
    fn: Any,
    point: np.ndarray,
    s: np.ndarray,
    tau0: float,
    fd: FiniteDifference,
    eps: float,
    dtype: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, float]:
    """Richardson over tau0 / r^level on the whole scaled matrix: one tableau, all entries."""
    ratio, max_levels = fd.step_ratio, fd.max_levels
    factors, gains, shrink = richardson_factors(2, 2, ratio, max_levels)
    table = Tableau(*asymptotic_ratios(2, 2, ratio))
    levels, batch, nfev = 0, FIRST_BATCH, 0
    shape: tuple[int, ...] = ()
    size = 0.0
    steps_seen: list[np.ndarray] = []
    while not table.done and levels < max_levels:
        count = min(batch, max_levels - levels)
        taus = tau0 * shrink[levels : levels + count]
        hs, sizes, steps, cost = _scaled_hessians(fn, point, s, taus, dtype)
        nfev += cost
        shape = hs.shape[1:]
        for b in range(count):
            size = max(size, float(sizes[b]))
            noise = F_ULPS * eps * float(sizes[b]) / float(taus[b]) ** 2
            table.add(hs[b].reshape(-1).tolist(), factors, gains, noise, eps)
            steps_seen.append(steps[b])
        levels += count
        batch = NEXT_BATCH
    value = np.array(table.best_value).reshape(shape) if table.depth else np.full(shape, np.nan)
    error = np.full(shape, table.error)
    status = np.full(shape, table.status if table.depth else "nonfinite", dtype=object)
    return value, error, status, steps_seen[table.best_level], nfev, size


def complex_hessian(fd: FiniteDifference, f: Any, lines: Lines) -> FDResult:
    """Central differences of the complex-step gradient, symmetrized; analyticity checked once."""
    from dataclasses import replace

    from .finite import FiniteDifference

    point = lines.point
    inner = FiniteDifference(scheme="complex", h=fd.h, scale=fd.scale, analytic_check="off")
    if needs_probe(f, fd.analytic_check):
        fd.estimate_gradient(lines.f, point)  # raises ComplexStepError where f is not analytic
    # The gradient's own error (cancellation inside it, near a minimum most of all) is
    # noise to the outer difference, which assumes eps |g|: it is added, divided by
    # the outer step, and so is the asymmetry of the two halves of the matrix.
    noise = float(np.max(inner.estimate_gradient(lines.f, point).error))
    outer = FiniteDifference(scheme="central", scale=fd.scale, fallback=fd.fallback)
    result = outer.estimate_jacobian(lambda y: inner.estimate_gradient(lines.f, y).value, point)
    k = point.size
    value = result.value.reshape(k, k)
    error = result.error.reshape(k, k) + 2.0 * noise / result.h[None, :]
    error = np.maximum(error, error.T) + 0.5 * np.abs(value - value.T)
    value = 0.5 * (value + value.T)
    status = result.status.reshape(k, k)
    if fd.fallback:
        eps = machine_epsilon(lines.dtype)
        size = np.abs(value).reshape(-1)
        status = judge(
            status.reshape(-1),
            value.reshape(-1, 1),
            error.reshape(-1),
            error.reshape(-1),
            size + noise,
            eps,
        )
        status = status.reshape(k, k)
    return replace(
        result,
        value=value,
        error=error,
        status=status,
        nfev=np.array(int(result.nfev) * k + k + 1),
    )


def contour_hessian(fd: FiniteDifference, lines: Lines) -> FDResult:
    """Second derivatives by the contour integral along axes and polarized diagonals."""
    from .finite import FDResult, _cast

    point, dtype = lines.point, lines.dtype
    fn = as_callable(lines.f)
    k = point.size
    s = typical_length(point) if fd.scale is None else step_scale(point, fd.scale)
    value = np.empty((k, k))
    error = np.empty((k, k))
    status = np.empty((k, k), dtype=object)
    nfev = 0

    def second(direction: np.ndarray) -> tuple[float, float, str]:
        nonlocal nfev

        def line(t: np.ndarray) -> np.ndarray:
            return np.stack([np.asarray(fn(point + ti * direction)) for ti in t])

        part = fd._estimate_line(line, np.zeros(1, dtype=dtype), 2, "auto", dtype)
        nfev += int(np.sum(part.nfev))
        return (
            float(np.asarray(part.value).reshape(-1)[0]),
            float(np.max(part.error)),
            str(part.status[0]),
        )

    for i in range(k):
        e_i = np.zeros(k)
        e_i[i] = s[i]
        v, err, st = second(e_i)
        value[i, i], error[i, i], status[i, i] = v / s[i] ** 2, err / s[i] ** 2, st
        for j in range(i + 1, k):
            e_j = np.zeros(k)
            e_j[j] = s[j]
            up, eu, su = second(e_i + e_j)
            down, ed, sd = second(e_i - e_j)
            scale = 4.0 * s[i] * s[j]
            value[i, j] = value[j, i] = (up - down) / scale
            error[i, j] = error[j, i] = (eu + ed) / scale
            status[i, j] = status[j, i] = su if su != "ok" else sd
    return FDResult(
        value=_cast(value, dtype),
        error=error,
        h=s,
        nfev=np.array(nfev),
        status=status,
        check_nfev=np.array(0),
    )
