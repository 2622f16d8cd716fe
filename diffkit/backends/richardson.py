"""Richardson extrapolation with Ridders' error estimate, adaptive per point.

The base rule runs at steps h0, h0/r, h0/r^2, ...; a Neville tableau removes the
error terms h^p, h^(p+d), ... one by one (d = 2 for symmetric rules). The error
estimate of a level is the larger change of its newest entry against its two
neighbours, floored by the rounding level the extrapolation has amplified; a point
stops at the first level where the estimate reaches that floor or starts to grow,
and keeps its best level. None of that means anything before the base rule is in its
asymptotic range, so the first column is checked first (``Tableau``): steps too long
for f are dropped, and a point whose steps all are is ``not-converged``.
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
# The first column must pass this many of Lyness' checks in a row before the tableau
# may stop: a base estimate that is noise passes one by chance now and then (about one
# level in ten on sin(exp(exp(x))) at 2.84), two in a row far more rarely.
ANCHOR = 2
# Lyness' test needs three levels, and each further check one more: a tableau of fewer
# than MIN_LEVELS levels can never be anchored, hence never converge.
MIN_LEVELS = ANCHOR + 2
# A difference of two base estimates within NOISE times their rounding bounds is
# rounding, whatever its ratio to the next.
NOISE = 8.0


class Tableau:
    """One point's Richardson tableau over all its output components, in plain floats.

    A level whose base estimate is not finite (a stencil point outside f's domain)
    restarts the tableau at the next, smaller step if nothing finite came before,
    and ends it otherwise, keeping the best estimate so far.

    Richardson's premise is that the base estimates D(h) = D + C h^p + ... are in
    their asymptotic range, and nothing in the tableau itself checks it: on a step far
    longer than the scale on which f varies, D(h) is noise of size |f| / h, and the
    tableau can settle on it by chance. So the first column is checked first (Lyness'
    test for Romberg tables): its differences D(h / r^(i-1)) - D(h / r^i) must shrink
    by about r^p per level, or be lost in rounding. A level that fails is dropped with
    every larger step before it, and the tableau starts again from the next one; the
    point may stop only once ``ANCHOR`` checks in a row have passed. A point that never
    gets there is ``not-converged`` with an infinite error: no estimate is trustworthy.
    """

    __slots__ = (
        "anchored",
        "best_error",
        "best_level",
        "best_value",
        "depth",
        "done",
        "high",
        "last",
        "levels",
        "low",
        "lowest",
        "nfev",
        "row",
        "support",
    )

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high  # bounds on an asymptotic ratio of differences
        self.row: list[list[float]] = []  # newest level's T[i][0..depth], per component
        # The newest two base estimates with their rounding bounds, oldest first.
        self.last: list[tuple[list[float], float]] = []
        self.support = 0  # checks of the first column passed since the tableau started
        self.anchored = False  # whether the first column has behaved as Richardson assumes
        self.levels = 0  # levels seen, finite or not: the step of level i is h0 / r^i
        self.depth = 0  # finite levels in the current tableau
        self.lowest = float("inf")  # smallest error estimate before the newest level
        self.best_value: list[float] = [float("nan")]
        self.best_error = float("inf")
        self.best_level = 0
        self.done = False
        self.nfev = 0

    @property
    def status(self) -> str:
        return "ok" if self.done and self.anchored else "not-converged"

    @property
    def error(self) -> float:
        return self.best_error if self.anchored else math.inf

    def asymptotic(self, base: list[float], noise: float, eps: float) -> bool:
        """Lyness' test of the newest base estimate against the two before it.

        Per component, the differences d1 = D0 - D1 and d2 = D1 - D2 pass when either is
        within rounding (NOISE times the bound of the two estimates it subtracts), or
        when d1 / d2 lies between ``low`` and ``high``: about r^p, up to r^(p + 2d)
        where the leading error terms vanish at x.
        """
        (first, n0), (second, n1) = self.last
        for a, b, c in zip(first, second, base, strict=True):
            d1, d2 = a - b, b - c
            if abs(d1) <= NOISE * (n0 + n1 + eps * (abs(a) + abs(b))):
                continue
            if abs(d2) <= NOISE * (n1 + noise + eps * (abs(b) + abs(c))):
                continue
            if not self.low <= d1 / d2 <= self.high:
                return False
        return True

    def add(
        self, base: list[float], factors: list[float], gains: list[float], noise: float, eps: float
    ) -> None:
        """Take the next level's base estimates; update the best value, its error and the stop flag."""
        if self.done:  # later levels of the same batch: evaluated, but no longer needed
            return
        level = self.levels
        self.levels += 1
        if not all(map(math.isfinite, base)):
            self.done = self.depth > 0
            return
        if not self.anchored:
            if len(self.last) == 2:
                if self.asymptotic(base, noise, eps):
                    self.support += 1
                    self.anchored = self.support >= ANCHOR
                else:  # the larger steps are not asymptotic: start again after them
                    del self.last[0]
                    start = self.last[0][0]
                    self.row = [[v] for v in start]
                    self.depth, self.support = 1, 0
                    self.lowest, self.best_error = math.inf, math.inf
                    self.best_value, self.best_level = list(start), level - 1
            self.last.append((base, noise))
            if len(self.last) > 2:
                del self.last[0]
        depth = self.depth
        row = []
        estimate = 0.0
        magnitude = 0.0
        for c, v in enumerate(base):  # comparisons, not max(): this is the hot loop
            new = [v]
            if depth:
                old = self.row[c]
                for j in range(depth):
                    a = new[j]
                    new.append(a + (a - old[j]) / factors[j])
                top = new[depth]
                change = abs(top - new[depth - 1])
                if change > estimate:
                    estimate = change
                change = abs(top - old[depth - 1])
                if change > estimate:
                    estimate = change
            size = abs(new[depth])
            if size > magnitude:
                magnitude = size
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
        self.done = self.anchored and (converged or diverging)


# How far each value of f is taken to be from exact, in units of eps |f|: NumPy's
# elementwise functions round to within an ulp or two (np.logaddexp, behind softplus,
# is 2 ulps off at -2), so the rounding floor of every difference quotient allows two.
F_ULPS = 2.0


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


def asymptotic_ratios(accuracy: int, spacing: int, ratio: float) -> tuple[float, float]:
    """Bounds on D(h r) - D(h) over D(h) - D(h / r) where the base rule is asymptotic.

    With D(h) = D + C h^p + C' h^(p+d) + ..., the ratio is r^p where C dominates; it
    stays above r^p / 2 while the next term is below about a seventh of the first (for
    r = 2, p = 2), and rises towards r^(p+d), r^(p+2d) where C, C' vanish at x.
    """
    return ratio**accuracy / 2.0, 2.0 * ratio ** (accuracy + 2 * spacing)


def extrapolate(
    phi: LineFunction,
    x: np.ndarray,
    h0: np.ndarray,
    rule: Stencil,
    eps: float,
    *,
    ratio: float,
    max_levels: int,
    noise: np.ndarray | None = None,
) -> Estimate:
    """Adaptive Richardson extrapolation over steps h0 / r^level.

    ``noise`` (per point, in f's units) is f's own measured noise where it exceeds
    eps |f|: every rounding bound of the tableau then uses it.

    f is evaluated for all points at once, a batch of levels per call; the small
    tableaux are then updated per point in plain floats (cheaper than NumPy on a
    handful of numbers), and each point stops at the first level whose estimate
    reaches the rounding floor or starts to grow.
    """
    if x.size == 1 and x.dtype == np.float64:
        return _extrapolate_one(phi, x, h0, rule, eps, ratio, max_levels, noise)
    factors, gains, shrink = richardson_factors(
        rule.accuracy, rule.error_exponents_step, ratio, max_levels
    )
    rounding = F_ULPS * eps * rule.abs_weight_sum
    low, high = asymptotic_ratios(rule.accuracy, rule.error_exponents_step, ratio)
    tables = [Tableau(low, high) for _ in range(x.size)]
    sizes = np.zeros(x.size)
    active = list(range(x.size))
    levels, batch = 0, FIRST_BATCH
    while active and levels < max_levels:
        count = min(batch, max_levels - levels)
        steps = h0[active][None, :] * shrink[levels : levels + count, None]
        base, size = difference_quotient(phi, x[active], steps, rule)
        base_rows = base.reshape(count, len(active), -1).tolist()
        size_max = size.reshape(count, len(active), -1).max(axis=2)
        sizes[active] = np.maximum(sizes[active], size_max.max(axis=0))
        floor = rounding * size_max
        if noise is not None:
            floor = np.maximum(floor, rule.abs_weight_sum * noise[active][None, :])
        levels_noise = (floor / steps**rule.n).tolist()
        for point in active:
            tables[point].nfev += count * rule.evaluations
        for b in range(count):
            for a, point in enumerate(active):
                tables[point].add(base_rows[b][a], factors, gains, levels_noise[b][a], eps)
        levels += count
        active = [p for p in active if not tables[p].done]
        batch = NEXT_BATCH
    shape = (x.size, *base.shape[2:])
    nan_row = [math.nan] * int(np.prod(shape[1:], dtype=int))
    value = np.array([t.best_value if t.depth else nan_row for t in tables]).reshape(shape)
    error = np.array([t.error for t in tables])
    return Estimate(
        value=value,
        error=per_point(error, value) + 0.0 * np.abs(value),
        h=h0 * shrink[[t.best_level for t in tables]],
        nfev=np.array([t.nfev for t in tables]),
        status=np.array([t.status for t in tables], dtype=object),
        size=sizes,
    )


def _extrapolate_one(
    phi: LineFunction,
    x: np.ndarray,
    h0: np.ndarray,
    rule: Stencil,
    eps: float,
    ratio: float,
    max_levels: int,
    noise: np.ndarray | None = None,
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
    rounding = F_ULPS * eps * rule.abs_weight_sum
    x0, first = float(x[0]), float(h0[0])
    loud = None if noise is None else rule.abs_weight_sum * float(noise[0])
    table = Tableau(*asymptotic_ratios(rule.accuracy, rule.error_exponents_step, ratio))
    levels, batch = 0, FIRST_BATCH
    width = 1
    seen = 0.0
    w0, others = weights[0], weights[1:]
    shrinks = shrink.tolist()
    while not table.done and levels < max_levels:
        count = min(batch, max_levels - levels)
        steps = [first * shrinks[k] for k in range(levels, levels + count)]
        t = [x0 + s * h for s in reach for h in steps]
        values = np.asarray(phi(np.array(t)))
        width = values[0].size
        fs = values.reshape(len(reach), count, width).tolist()
        first_node, other_nodes = fs[0], fs[1:]
        table.nfev += count * len(reach)
        for b, h in enumerate(steps):
            denom = h if rule.n == 1 else h**rule.n
            base = []
            size = 0.0  # comparisons, not max(): this loop is most of a scalar call
            for c in range(width):
                v = first_node[b][c]
                total = v if w0 == 1 else w0 * v
                if abs(v) > size:
                    size = abs(v)
                for w, f_s in zip(others, other_nodes, strict=True):
                    v = f_s[b][c]
                    total = total + (v if w == 1 else w * v)
                    if abs(v) > size:
                        size = abs(v)
                base.append(total / denom)
            if size > seen:
                seen = size
            floor = rounding * size if loud is None else max(rounding * size, loud)
            table.add(base, factors, gains, floor / h**rule.n, eps)
        levels += count
        batch = NEXT_BATCH
    value = np.array(table.best_value if table.depth else [math.nan] * width)
    shape = (1, *np.shape(values)[1:])
    return Estimate(
        value=value.reshape(shape),
        error=np.full(shape, table.error),
        h=np.array([first * float(shrink[table.best_level])]),
        nfev=np.array([table.nfev]),
        status=np.array([table.status], dtype=object),
        size=np.array([seen]),
    )
