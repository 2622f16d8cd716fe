"""Richardson extrapolation with Ridders' error estimate, adaptive per point.

The base rule runs at steps h0, h0/r, h0/r^2, ...; a Neville tableau removes the
error terms h^p, h^(p+d), ... one by one (d = 2 for symmetric rules). The error
estimate of a level is the larger change of its newest entry against its two
neighbours, floored by the rounding level the extrapolation has amplified; a point
stops at the first level where the estimate reaches that floor or starts to grow,
and keeps its best level.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .quotients import Estimate, LineFunction, difference_quotient, per_point
from .stencils import Stencil

__all__ = ["extrapolate"]

# Levels evaluated in the first call of f and in each later one: most smooth
# functions settle within five levels, and batching keeps the calls few.
FIRST_BATCH = 5
NEXT_BATCH = 2


class Tableau:
    """One point's Richardson tableau over all its output components, in plain floats.

    A level whose base estimate is not finite (a stencil point outside f's domain)
    restarts the tableau at the next, smaller step if nothing finite came before,
    and ends it otherwise, keeping the best estimate so far.
    """

    __slots__ = (
        "best_error",
        "best_level",
        "best_value",
        "depth",
        "done",
        "levels",
        "lowest",
        "nfev",
        "row",
    )

    def __init__(self) -> None:
        self.row: list[list[float]] = []  # newest level's T[i][0..depth], per component
        self.levels = 0  # levels seen, finite or not: the step of level i is h0 / r^i
        self.depth = 0  # finite levels in the current tableau
        self.lowest = float("inf")  # smallest error estimate before the newest level
        self.best_value: list[float] = [float("nan")]
        self.best_error = float("inf")
        self.best_level = 0
        self.done = False
        self.nfev = 0

    def add(
        self, base: list[float], factors: list[float], gains: list[float], noise: float, eps: float
    ) -> None:
        """Take the next level's base estimates; update the best value, its error and the stop flag."""
        if self.done:  # later levels of the same batch: evaluated, but no longer needed
            return
        level, depth = self.levels, self.depth
        self.levels += 1
        if not all(math.isfinite(v) for v in base):
            self.done = depth > 0
            return
        row = []
        estimate = 0.0
        magnitude = 0.0
        for c, v in enumerate(base):
            new = [v]
            if depth:
                old = self.row[c]
                for j in range(depth):
                    a = new[j]
                    new.append(a + (a - old[j]) / factors[j])
                top = new[depth]
                estimate = max(estimate, abs(top - new[depth - 1]), abs(top - old[depth - 1]))
            magnitude = max(magnitude, abs(new[depth]))
            row.append(new)
        floor = gains[depth] * noise + eps * magnitude
        estimate = max(estimate, floor) if depth else math.inf
        self.row = row
        self.depth = depth + 1
        if depth == 0 or estimate < self.best_error:
            self.best_value = [new[depth] for new in row]
            self.best_error, self.best_level = estimate, level
        converged = depth > 0 and estimate <= 4.0 * floor
        diverging = depth > 2 and estimate > 4.0 * self.lowest
        self.lowest = min(self.lowest, estimate)
        self.done = converged or diverging


@lru_cache(maxsize=64)
def richardson_factors(
    accuracy: int, spacing: int, ratio: float, levels: int
) -> tuple[list[float], list[float], np.ndarray]:
    """Neville divisors r^e - 1 for the error exponents e = p, p + d, ..., rounding gains,
    and the step factors r^-level.

    Each extrapolation column can amplify rounding in the base estimates by at most
    (r^e + 1) / (r^e - 1); the gains are the running products of these factors.
    """
    exponents = [accuracy + j * spacing for j in range(levels)]
    factors = [ratio**e - 1.0 for e in exponents]
    gains = [1.0]
    for e in exponents:
        gains.append(gains[-1] * (ratio**e + 1.0) / (ratio**e - 1.0))
    return factors, gains, ratio ** -np.arange(levels, dtype=float)


def extrapolate(
    phi: LineFunction,
    x: np.ndarray,
    h0: np.ndarray,
    rule: Stencil,
    eps: float,
    *,
    ratio: float,
    max_levels: int,
) -> Estimate:
    """Adaptive Richardson extrapolation over steps h0 / r^level.

    f is evaluated for all points at once, a batch of levels per call; the small
    tableaux are then updated per point in plain floats (cheaper than NumPy on a
    handful of numbers), and each point stops at the first level whose estimate
    reaches the rounding floor or starts to grow.
    """
    if x.size == 1 and x.dtype == np.float64:
        return _extrapolate_one(phi, x, h0, rule, eps, ratio, max_levels)
    factors, gains, shrink = richardson_factors(
        rule.accuracy, rule.error_exponents_step, ratio, max_levels
    )
    rounding = eps * rule.abs_weight_sum
    tables = [Tableau() for _ in range(x.size)]
    active = list(range(x.size))
    levels, batch = 0, FIRST_BATCH
    while active and levels < max_levels:
        count = min(batch, max_levels - levels)
        steps = h0[active][None, :] * shrink[levels : levels + count, None]
        base, size = difference_quotient(phi, x[active], steps, rule)
        base_rows = base.reshape(count, len(active), -1).tolist()
        size_max = size.reshape(count, len(active), -1).max(axis=2)
        noise = (rounding * size_max / steps**rule.n).tolist()
        for point in active:
            tables[point].nfev += count * rule.evaluations
        for b in range(count):
            for a, point in enumerate(active):
                tables[point].add(base_rows[b][a], factors, gains, noise[b][a], eps)
        levels += count
        active = [p for p in active if not tables[p].done]
        batch = NEXT_BATCH
    shape = (x.size, *base.shape[2:])
    nan_row = [math.nan] * int(np.prod(shape[1:], dtype=int))
    value = np.array([t.best_value if t.depth else nan_row for t in tables]).reshape(shape)
    error = np.array([t.best_error for t in tables])
    return Estimate(
        value=value,
        error=per_point(error, value) + 0.0 * np.abs(value),
        h=h0 * shrink[[t.best_level for t in tables]],
        nfev=np.array([t.nfev for t in tables]),
        status=np.array(["ok" if t.done else "not-converged" for t in tables], dtype=object),
    )


def _extrapolate_one(
    phi: LineFunction,
    x: np.ndarray,
    h0: np.ndarray,
    rule: Stencil,
    eps: float,
    ratio: float,
    max_levels: int,
) -> Estimate:
    """``extrapolate`` for a single float64 point, in Python floats around the calls of f.

    A scalar derivative is the common call, and NumPy's per-operation cost on
    one-element arrays would dominate it. The arithmetic is the same, operation for
    operation, as the array path (IEEE doubles either way), so both give the same
    bits; a test holds them to that.
    """
    factors, gains, shrink = richardson_factors(
        rule.accuracy, rule.error_exponents_step, ratio, max_levels
    )
    offsets, weights = rule.used
    reach = offsets.tolist()
    rounding = eps * rule.abs_weight_sum
    x0, first = float(x[0]), float(h0[0])
    table = Tableau()
    levels, batch = 0, FIRST_BATCH
    width = 1
    while not table.done and levels < max_levels:
        count = min(batch, max_levels - levels)
        steps = [first * float(shrink[k]) for k in range(levels, levels + count)]
        t = [x0 + s * h for s in reach for h in steps]
        values = np.asarray(phi(np.array(t)))
        width = values[0].size
        fs = values.reshape(len(reach), count, width).tolist()
        table.nfev += count * len(reach)
        for b, h in enumerate(steps):
            denom = h if rule.n == 1 else h**rule.n
            base = []
            size = 0.0
            for c in range(width):
                total = fs[0][b][c] if weights[0] == 1 else weights[0] * fs[0][b][c]
                size = max(size, abs(fs[0][b][c]))
                for w, f_s in zip(weights[1:], fs[1:], strict=True):
                    total = total + (f_s[b][c] if w == 1 else w * f_s[b][c])
                    size = max(size, abs(f_s[b][c]))
                base.append(total / denom)
            table.add(base, factors, gains, rounding * size / h**rule.n, eps)
        levels += count
        batch = NEXT_BATCH
    value = np.array(table.best_value if table.depth else [math.nan] * width)
    shape = (1, *np.shape(values)[1:])
    return Estimate(
        value=value.reshape(shape),
        error=np.full(shape, table.best_error),
        h=np.array([first * float(shrink[table.best_level])]),
        nfev=np.array([table.nfev]),
        status=np.array(["ok" if table.done else "not-converged"], dtype=object),
    )
