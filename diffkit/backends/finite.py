"""Finite differences: any stencil, complex step, and adaptive Richardson extrapolation.

One engine does all the work. It differentiates a *line function* ``phi`` that maps
an array of abscissae ``t`` (shape ``(k,)``) to values of shape ``(k, ...)``: for
``derivative`` phi is f itself over all points at once (one call of f per stencil
point, whatever the number of points); for ``gradient``, ``jacobian`` and
``hessian`` phi walks f along a coordinate or a direction.

Steps. A float ``h`` is used exactly as given, so ``scheme="forward", h=1e-4``
computes bit for bit ``(f(x + h) - f(x)) / h``. ``h="auto"`` takes the
rounding/truncation optimum of ``steps.optimal_step`` relative to |x|, made exactly
representable. Where a stencil point leaves f's domain (f returns NaN or inf there
while the estimate is needed), the step is shrunk, then the rule is made one-sided,
and only when all of that fails is the point reported with a status.

Richardson. With ``richardson=True`` the base rule runs at steps h0, h0/r, h0/r^2, ...
and a Neville tableau removes the error terms h^p, h^(p+d), ... one by one (d = 2
for symmetric rules). Its error estimate is Ridders': the larger change of the
newest entry against its two neighbours, floored by the rounding level. Levels are
added until the estimate reaches the rounding floor or starts to grow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import numpy as np

from ..function import as_callable, coordinate_line
from .stencils import SCHEMES, Stencil, custom_stencil, stencil
from .steps import exact_step, machine_epsilon, optimal_step, step_scale, validate_step

__all__ = ["ComplexStepError", "FDResult", "FiniteDifference"]

LineFunction = Callable[[np.ndarray], np.ndarray]
Method = Callable[[LineFunction, np.ndarray, np.ndarray, Stencil, float], "_Partial"]

# Richardson starts at this fraction of the scale and divides the step by STEP_RATIO
# per level; measured on the catalog (scripts/bench_fd.py), these reach 1e-10 in a
# median of six central levels.
RICHARDSON_START = 0.125
STEP_RATIO = 2.0
MAX_LEVELS = 12
# Levels evaluated in the first call of f and in each later one: most smooth
# functions settle within five levels, and batching keeps the calls few.
FIRST_BATCH = 5
NEXT_BATCH = 2
# Where a stencil leaves f's domain, the edge is looked for at the stencil's reach
# divided by SHRINK^k, k = 1..PROBES (down to 16^-10 ~ 1e-12 of the first step).
SHRINK = 16.0
PROBES = 10


class ComplexStepError(TypeError):
    """The complex step needs f to carry complex numbers through, and it did not."""


@dataclass(frozen=True)
class FDResult:
    """A finite-difference estimate with what it cost and how sure it is.

    ``status`` per point: ``"ok"``; ``"reduced-step"`` or ``"one-sided"`` when the
    domain forced a smaller or one-sided step; ``"not-converged"`` when Richardson ran
    out of levels above its target; ``"nonfinite"`` when no step gave a finite value.
    """

    value: np.ndarray
    error: np.ndarray
    h: np.ndarray
    nfev: np.ndarray
    status: np.ndarray

    @property
    def ok(self) -> bool:
        return bool(np.all(self.status != "nonfinite"))


@dataclass
class _Partial:
    """Working arrays over the points of one engine call."""

    value: np.ndarray
    error: np.ndarray
    h: np.ndarray
    nfev: np.ndarray
    status: np.ndarray


def _finite_rows(values: np.ndarray) -> np.ndarray:
    """Per point (first axis), whether every output component is finite."""
    finite = np.isfinite(values)
    return finite if finite.ndim == 1 else finite.reshape(finite.shape[0], -1).all(axis=1)


def _rows(mask: np.ndarray, arr: np.ndarray) -> np.ndarray:
    """Broadcast a per-point mask against an array with trailing output axes."""
    return mask.reshape(mask.shape + (1,) * (arr.ndim - 1))


class _Tableau:
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


class FiniteDifference:
    """Finite-difference derivatives: ``scheme`` forward, backward, central or complex.

    Options (keyword-only): ``accuracy`` order of the rule (default 2 central, 1
    one-sided); ``offsets`` any integer stencil instead of a scheme; ``h`` a float,
    an array (one step per variable, for gradients), or ``"auto"``; ``scale`` the
    length on which f varies (default |x|, 1 at 0); ``richardson`` adaptive
    extrapolation with an error estimate; ``fallback`` (default on) shrinks the step
    or turns the rule one-sided where a stencil point leaves f's domain; a sweep
    turns it off to see what the rule does at exactly the h it was given.
    """

    name = "fd"

    def __init__(
        self,
        *,
        scheme: str = "central",
        accuracy: int | None = None,
        h: Any = "auto",
        offsets: tuple[int, ...] | None = None,
        scale: Any = None,
        richardson: bool = False,
        step_ratio: float = STEP_RATIO,
        max_levels: int = MAX_LEVELS,
        fallback: bool = True,
    ) -> None:
        if scheme not in (*SCHEMES, "complex"):
            raise ValueError(f"scheme must be one of {(*SCHEMES, 'complex')}, got {scheme!r}")
        if scheme == "complex" and (offsets is not None or richardson):
            raise ValueError("the complex step takes neither offsets nor richardson")
        if scheme == "complex" and accuracy not in (None, 2):
            raise ValueError(f"the complex step has accuracy 2, got accuracy={accuracy}")
        if not (np.isfinite(step_ratio) and step_ratio > 1):
            raise ValueError(f"step_ratio must be a finite number > 1, got {step_ratio!r}")
        if isinstance(max_levels, bool) or not isinstance(max_levels, int) or max_levels < 2:
            raise ValueError(f"max_levels must be an integer >= 2, got {max_levels!r}")
        self.scheme = scheme
        self.accuracy = accuracy
        self.offsets = None if offsets is None else tuple(offsets)
        self.h = validate_step(h)
        self.scale = None if scale is None else validate_step(scale, name="scale")
        self.richardson = richardson
        self.step_ratio = float(step_ratio)
        self.max_levels = max_levels
        self.fallback = fallback
        if scheme != "complex":
            self.rule(1)  # fail now, not at the first call, on an impossible rule

    def __repr__(self) -> str:
        extra = ", richardson=True" if self.richardson else ""
        acc = f", accuracy={self.accuracy}" if self.accuracy is not None else ""
        return f"FiniteDifference(scheme={self.scheme!r}{acc}, h={self.h!r}{extra})"

    # ------------------------------------------------------------------ rules and steps

    def rule(self, n: int) -> Stencil:
        """The stencil used for the n-th derivative."""
        if self.offsets is not None:
            return custom_stencil(self.offsets, n)
        return stencil(self.scheme, n, self.accuracy)

    def _fallback_rules(self, n: int) -> list[Stencil]:
        """One-sided rules of the same accuracy, tried where the stencil leaves the domain."""
        base = self.rule(n)
        if self.offsets is not None or self.scheme != "central":
            return []
        return [stencil("forward", n, base.accuracy), stencil("backward", n, base.accuracy)]

    def _steps(
        self, x: np.ndarray, dtype: Any, rule: Stencil, h: Any, scale: np.ndarray | None = None
    ) -> np.ndarray:
        """The steps for points x: the user's, or the auto step on ``scale`` (default |x|)."""
        if not isinstance(h, str):
            return np.broadcast_to(np.asarray(h, dtype=float), x.shape).astype(float)
        if scale is None:
            scale = step_scale(x, self.scale)
        if self.richardson:
            start = scale * RICHARDSON_START
        else:
            start = optimal_step(rule, dtype, scale=scale)
        return exact_step(x.astype(float), np.asarray(start, dtype=float))

    # ------------------------------------------------------------------ the engine

    def _apply(
        self, phi: LineFunction, x: np.ndarray, h: np.ndarray, rule: Stencil
    ) -> tuple[np.ndarray, np.ndarray]:
        """sum_i w_i phi(x + s_i h) / h^n over points x, steps h (same shape, one or more levels).

        All stencil points go to phi in one call; the weighted sum runs in a fixed
        order, so a forward difference is bit for bit (f(x + h) - f(x)) / h. Also
        returns max |phi| over the stencil, the scale of the rounding error.
        """
        offsets, weights = rule.used
        hx = h if h.dtype == x.dtype else h.astype(x.dtype)
        shape = np.broadcast_shapes(x.shape, hx.shape)
        # One call of phi for the whole stencil; x + 0 * h is x itself.
        reach = offsets.astype(x.dtype).reshape((-1,) + (1,) * len(shape))
        fs = np.asarray(phi((x + reach * hx).reshape(-1)))
        fs = fs.reshape((offsets.size, *shape, *fs.shape[1:]))
        total = fs[0] if weights[0] == 1 else weights[0] * fs[0]
        for w, f_s in zip(weights[1:], fs[1:], strict=True):
            total = total + (f_s if w == 1 else w * f_s)
        hb = h.reshape(h.shape + (1,) * (total.ndim - h.ndim)) if total.ndim > h.ndim else h
        if rule.n != 1:
            hb = hb**rule.n
        return total / hb.astype(total.real.dtype, copy=False), np.abs(fs).max(axis=0)

    def _plain(
        self,
        phi: LineFunction,
        x: np.ndarray,
        h: np.ndarray,
        rule: Stencil,
        eps: float,
        *,
        with_error: bool = True,
    ) -> _Partial:
        """The rule at step h; its error from the same rule at 2h when asked.

        D(2h) - D(h) ~ (2^p - 1) C h^p f^(n+p), so |D(h) - D(2h)| / (2^p - 1) estimates
        the truncation error; the rounding bound eps sum|w| max|f| / h^n is added.
        """
        value, size = self._apply(phi, x, h, rule)
        hb = _rows(h, value)
        error = eps * rule.abs_weight_sum * size / hb**rule.n + eps * np.abs(value)
        evaluations = rule.evaluations
        if with_error:
            coarse, _ = self._apply(phi, x, 2.0 * h, rule)
            error = error + np.abs(value - coarse) / (2.0**rule.accuracy - 1.0)
            evaluations *= 2
        status = np.full(x.shape, "ok", dtype=object)
        return _Partial(value, error, h.copy(), np.full(x.shape, evaluations), status)

    def _richardson(
        self, phi: LineFunction, x: np.ndarray, h0: np.ndarray, rule: Stencil, eps: float
    ) -> _Partial:
        """Adaptive Richardson extrapolation over steps h0 / r^level.

        f is evaluated for all points at once, a batch of levels per call; the small
        tableaux are then updated per point in plain floats (cheaper than NumPy on a
        handful of numbers), and each point stops at the first level whose estimate
        reaches the rounding floor or starts to grow.
        """
        factors, gains, shrink = _richardson_factors(
            rule.accuracy, rule.error_exponents_step, self.step_ratio, self.max_levels
        )
        rounding = eps * rule.abs_weight_sum
        if x.size == 1 and x.dtype == np.float64:
            return self._richardson_one(phi, x, h0, rule, eps)
        tables = [_Tableau() for _ in range(x.size)]
        active = list(range(x.size))
        levels, batch = 0, FIRST_BATCH
        while active and levels < self.max_levels:
            count = min(batch, self.max_levels - levels)
            steps = h0[active][None, :] * shrink[levels : levels + count, None]
            base, size = self._apply(phi, x[active], steps, rule)
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
        return _Partial(
            value=value,
            error=_rows(error, value) + 0.0 * np.abs(value),
            h=h0 * shrink[[t.best_level for t in tables]],
            nfev=np.array([t.nfev for t in tables]),
            status=np.array(["ok" if t.done else "not-converged" for t in tables], dtype=object),
        )

    def _richardson_one(
        self, phi: LineFunction, x: np.ndarray, h0: np.ndarray, rule: Stencil, eps: float
    ) -> _Partial:
        """``_richardson`` for a single float64 point, in Python floats around the calls of f.

        A scalar derivative is the common call, and NumPy's per-operation cost on
        one-element arrays would dominate it. The arithmetic is the same, operation for
        operation, as the array path (IEEE doubles either way), so both give the same
        bits; a test holds them to that.
        """
        factors, gains, shrink = _richardson_factors(
            rule.accuracy, rule.error_exponents_step, self.step_ratio, self.max_levels
        )
        offsets, weights = rule.used
        reach = offsets.tolist()
        rounding = eps * rule.abs_weight_sum
        x0, first = float(x[0]), float(h0[0])
        table = _Tableau()
        levels, batch = 0, FIRST_BATCH
        width = 1
        while not table.done and levels < self.max_levels:
            count = min(batch, self.max_levels - levels)
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
        return _Partial(
            value=value.reshape(shape),
            error=np.full(shape, table.best_error),
            h=np.array([first * float(shrink[table.best_level])]),
            nfev=np.array([table.nfev]),
            status=np.array(["ok" if table.done else "not-converged"], dtype=object),
        )

    def _complex(self, phi: LineFunction, x: np.ndarray, h: Any, dtype: Any) -> _Partial:
        if isinstance(h, str):
            steps = step_scale(x, self.scale) * 1e-20
        else:
            steps = np.broadcast_to(np.asarray(h, dtype=float), x.shape).astype(float)
        cdtype = np.result_type(dtype, np.complex64)
        z = x.astype(cdtype) + 1j * steps.astype(cdtype)
        try:
            values = np.asarray(phi(z))
        except TypeError as exc:
            raise ComplexStepError(
                f"the complex step calls f with complex numbers, and f raised: {exc}. "
                "Use scheme='central' for functions that only take real input."
            ) from exc
        if not np.iscomplexobj(values):
            raise ComplexStepError(
                "the complex step needs f to return complex values for complex input, but f "
                f"returned {values.dtype}: it drops the imaginary part (abs, real-only code?). "
                "Use scheme='central' for such functions."
            )
        value = values.imag / _rows(steps, values)
        eps = machine_epsilon(dtype)
        # No subtraction happens, so the result is as accurate as f's own imaginary part.
        error = eps * np.abs(value)
        status = np.full(x.shape, "ok", dtype=object)
        return _Partial(value, error, steps, np.ones(x.shape, dtype=int), status)

    def _estimate_line(
        self,
        phi: LineFunction,
        x: np.ndarray,
        n: int,
        h: Any,
        dtype: Any,
        *,
        with_error: bool = False,
    ) -> _Partial:
        """Differentiate phi at points x (shape (k,)), falling back where the domain bites.

        ``with_error`` makes plain rules pay a second evaluation at 2h for a truncation
        estimate; Richardson has one anyway.
        """
        if self.scheme == "complex":
            if n != 1:
                raise ValueError(f"the complex step gives first derivatives only, got n={n}")
            return self._complex(phi, x, h, dtype)
        eps = machine_epsilon(dtype)
        rule = self.rule(n)
        method: Method = (
            self._richardson if self.richardson else partial(self._plain, with_error=with_error)
        )
        with np.errstate(all="ignore"):
            result = method(phi, x, self._steps(x, dtype, rule, h), rule, eps)
            failed = ~_finite_rows(result.value)
            if failed.any():
                self._retry(method, phi, x, n, h, dtype, rule, eps, result, failed)
        return result

    def _retry(
        self,
        method: Method,
        phi: LineFunction,
        x: np.ndarray,
        n: int,
        h: Any,
        dtype: Any,
        rule: Stencil,
        eps: float,
        result: _Partial,
        failed: np.ndarray,
    ) -> None:
        """Redo the points whose stencil left f's domain, on the scale of the domain's edge.

        A step the user gave is never changed: such points are reported ``nonfinite``.
        For auto steps, one call of f probes x -+ m h / 16^k (k = 1..PROBES, m the
        stencil's reach). Where both sides come back finite, the edge is about that
        far away, f varies on that scale, and the rule runs again with it as the
        scale of its step (``reduced-step``). Where only one side ever does, x sits on
        the edge, and the one-sided rule of the same accuracy runs into the side that
        is finite (``one-sided``).
        """
        if self.fallback and isinstance(h, str):
            idx = np.flatnonzero(failed)
            reach = float(np.max(np.abs(rule.used[0])))
            steps = self._steps(x[idx], dtype, rule, h)
            shrink = SHRINK ** -np.arange(1.0, PROBES + 1)
            distance = reach * steps[None, :] * shrink[:, None]  # (PROBES, points)
            near = distance.astype(x.dtype)
            probe = np.concatenate([(x[idx] - near).reshape(-1), (x[idx] + near).reshape(-1)])
            finite = _finite_rows(np.asarray(phi(probe).reshape(probe.size, -1)))
            left, right = finite.reshape(2, PROBES, idx.size)
            result.nfev[idx] += 2 * PROBES
            both = left & right
            nearest = np.where(both.any(axis=0), both.argmax(axis=0), -1)
            inside = nearest >= 0
            if inside.any():
                scale = distance[nearest[inside], np.flatnonzero(inside)]
                self._take(
                    method,
                    result,
                    failed,
                    idx[inside],
                    "reduced-step",
                    phi,
                    x,
                    dtype,
                    rule,
                    h,
                    eps,
                    scale,
                )
            sides = self._fallback_rules(n)
            if sides:
                for side, ok in zip(sides, (right.any(axis=0), left.any(axis=0)), strict=True):
                    chosen = idx[~inside & ok & failed[idx]]
                    if chosen.size:
                        self._take(
                            method,
                            result,
                            failed,
                            chosen,
                            "one-sided",
                            phi,
                            x,
                            dtype,
                            side,
                            h,
                            eps,
                            None,
                        )
        result.status[failed] = "nonfinite"
        result.error[failed] = np.nan

    def _take(
        self,
        method: Method,
        result: _Partial,
        failed: np.ndarray,
        idx: np.ndarray,
        label: str,
        phi: LineFunction,
        x: np.ndarray,
        dtype: Any,
        rule: Stencil,
        h: Any,
        eps: float,
        scale: np.ndarray | None,
    ) -> None:
        """Run ``rule`` again at points ``idx`` and keep the finite answers."""
        retry = method(phi, x[idx], self._steps(x[idx], dtype, rule, h, scale), rule, eps)
        result.nfev[idx] += retry.nfev
        good = _finite_rows(retry.value)
        take = idx[good]
        result.value[take] = retry.value[good]
        result.error[take] = retry.error[good]
        result.h[take] = retry.h[good]
        result.status[take] = label
        failed[take] = False

    # ------------------------------------------------------------------ protocol

    def estimate(self, f: Any, x: Any, n: int = 1, *, with_error: bool = True) -> FDResult:
        """The n-th derivative of f: R -> R at each point of x, with error, step, cost and status.

        Plain rules estimate their truncation error from a second evaluation at 2h
        (``with_error=False`` skips it, and ``error`` is then the rounding bound only).
        """
        _check_order(n)
        fn = as_callable(f)
        points, dtype = _as_points(x)
        flat = points.reshape(-1)

        def phi(t: np.ndarray) -> np.ndarray:
            out = np.asarray(fn(t))
            if out.shape != t.shape:
                raise ValueError(
                    f"derivative needs f: R -> R applied elementwise; f mapped {t.shape} to {out.shape}. "
                    "Use gradient or jacobian for functions of several variables."
                )
            return out

        h = self.h if isinstance(self.h, str) else np.broadcast_to(self.h, points.shape).reshape(-1)
        part = self._estimate_line(phi, flat, n, h, dtype, with_error=with_error)
        shape = points.shape
        return FDResult(
            value=_cast(part.value, dtype).reshape(shape),
            error=np.asarray(part.error, dtype=float).reshape(shape),
            h=part.h.reshape(shape),
            nfev=part.nfev.reshape(shape),
            status=part.status.reshape(shape),
        )

    def derivative(self, f: Any, x: Any, n: int = 1) -> Any:
        """The n-th derivative of f: R -> R at each point of x (vectorized: one call of f per stencil point)."""
        return _scalar_if_0d(self.estimate(f, x, n, with_error=False).value)

    def _along(self, f: Any, x: Any, n: int = 1) -> tuple[list[_Partial], Any]:
        """Differentiate f along each coordinate axis of x (the work of gradient and jacobian)."""
        point, dtype = _as_points(x)
        point = np.atleast_1d(point).reshape(-1)
        hs = self._per_variable_steps(point)
        parts = []
        for i in range(point.size):
            line = coordinate_line(f, point, i)
            parts.append(self._estimate_line(line, point[i : i + 1], n, hs[i], dtype))
        return parts, dtype

    def _per_variable_steps(self, point: np.ndarray) -> list[Any]:
        if isinstance(self.h, str):
            return ["auto"] * point.size
        h = np.asarray(self.h, dtype=float)
        if h.ndim == 0:
            return [float(h)] * point.size
        if h.shape != point.shape:
            raise ValueError(
                f"h has shape {h.shape}, but x has {point.size} variables: give one step per variable"
            )
        return [float(v) for v in h]

    def gradient(self, f: Any, x: Any) -> np.ndarray:
        """Gradient of f: R^n -> R at one point x (one line derivative per variable)."""
        parts, dtype = self._along(f, x)
        values = [np.asarray(p.value).reshape(-1) for p in parts]
        if any(v.size != 1 for v in values):
            raise ValueError("gradient needs a scalar-valued f; use jacobian for vector outputs")
        return _cast(np.concatenate(values), dtype).reshape(np.shape(x) if np.ndim(x) else (1,))

    def jacobian(self, f: Any, x: Any) -> np.ndarray:
        """Jacobian of f: R^n -> R^m at one point x, shape (m, n)."""
        parts, dtype = self._along(f, x)
        columns = [np.asarray(p.value)[0].reshape(-1) for p in parts]
        return _cast(np.stack(columns, axis=1), dtype)

    def hessian(self, f: Any, x: Any) -> np.ndarray:
        """Hessian of f: R^n -> R at one point, from second derivatives along axes and diagonals.

        Mixed partials use polarization, f_ij = (D_u^2 f - D_v^2 f) / 4 with
        u = e_i + e_j and v = e_i - e_j (each scaled to its variable), so every entry
        goes through the same engine, auto step and fallbacks as a second derivative.
        """
        fn = as_callable(f)
        point, dtype = _as_points(x)
        point = np.atleast_1d(point).reshape(-1)
        if self.scheme == "complex":
            # Central differences of the complex-step gradient: the inner derivative is
            # exact to rounding, so the Hessian carries only the outer rule's error.
            outer = FiniteDifference(scheme="central", scale=self.scale)
            jac = outer.jacobian(lambda y: self.gradient(fn, y), point)
            return _cast(0.5 * (jac + jac.T), dtype)
        scales = step_scale(point, self.scale)
        k = point.size
        out = np.empty((k, k))

        def second(direction: np.ndarray) -> float:
            def phi(t: np.ndarray) -> np.ndarray:
                return np.stack([np.asarray(fn(point + ti * direction)) for ti in t])

            part = self._estimate_line(
                phi, np.zeros(1, dtype=point.dtype), 2, self._direction_step(direction), dtype
            )
            value = np.asarray(part.value).reshape(-1)
            if value.size != 1:
                raise ValueError("hessian needs a scalar-valued f")
            return float(value[0])

        for i in range(k):
            e_i = np.zeros(k)
            e_i[i] = scales[i]
            out[i, i] = second(e_i) / scales[i] ** 2
            for j in range(i + 1, k):
                e_j = np.zeros(k)
                e_j[j] = scales[j]
                mixed = (second(e_i + e_j) - second(e_i - e_j)) / (4 * scales[i] * scales[j])
                out[i, j] = out[j, i] = mixed
        return _cast(out, dtype)

    def _direction_step(self, direction: np.ndarray) -> Any:
        # Along a scaled direction t is dimensionless; a user's h (absolute, per variable)
        # becomes the smallest step it implies along that direction.
        if isinstance(self.h, str):
            return "auto"
        h = np.broadcast_to(np.asarray(self.h, dtype=float), direction.shape)
        used = np.abs(direction) > 0
        return float(np.min(h[used] / np.abs(direction[used])))


@lru_cache(maxsize=64)
def _richardson_factors(
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


def _check_order(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"derivative order n must be an integer >= 1, got {n!r}")


def _as_points(x: Any) -> tuple[np.ndarray, Any]:
    """x as a float array, and the float dtype results come back in (float32 stays float32)."""
    arr = np.asarray(x)
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    if arr.dtype.kind == "c":
        raise TypeError(
            "x must be real; complex points are what the complex step makes, not what it takes"
        )
    if arr.dtype.kind != "f":
        raise TypeError(f"x must be a real number or array of them, got dtype {arr.dtype}")
    return arr, arr.dtype


def _cast(values: np.ndarray, dtype: Any) -> np.ndarray:
    return np.asarray(values).astype(dtype, copy=False)


def _scalar_if_0d(arr: np.ndarray) -> Any:
    return arr[()] if arr.ndim == 0 else arr
