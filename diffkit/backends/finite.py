"""Finite differences: any stencil, complex step, and adaptive Richardson extrapolation.

One engine does all the work. It differentiates a *line function* ``phi`` that maps
an array of abscissae ``t`` (shape ``(k,)``) to values of shape ``(k, ...)``: for
``derivative`` phi is f itself, called once for all points and all stencil offsets
together; for ``gradient``, ``jacobian`` and ``hessian`` phi walks f along a
coordinate or a direction.

Steps. A float ``h`` is used exactly as given, so ``scheme="forward", h=1e-4``
computes bit for bit ``(f(x + h) - f(x)) / h``. ``h="auto"`` takes the
rounding/truncation optimum of ``steps.optimal_step`` relative to |x|, made exactly
representable. Where a stencil point leaves f's domain (f returns NaN or inf there
while the estimate is needed), the rule runs again on the scale of the distance to
the domain's edge, or one-sided into the domain, and only when all of that fails
is the point reported with a status. A step the user gave is never changed.

Complex step. ``scheme="complex"`` takes Im f(x + ih) / h, which is f'(x) only where
f is analytic near x and real at x; ``complexstep`` computes it and checks both
(``analytic_check`` chooses how the first is checked, and what it costs).

Richardson. ``richardson=True`` hands the base rule to ``richardson.extrapolate``,
which adds levels of smaller steps until its error estimate settles, once the first
levels show the asymptotic behaviour its extrapolation assumes (steps longer than the
scale on which f varies are dropped).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from ..function import Function, as_callable, coordinate_line
from .complexstep import (
    ComplexEstimate,
    ComplexStepError,
    complex_step,
    needs_probe,
    validate_analytic_check,
)
from .inputs import as_points, check_order
from .quotients import Estimate, LineFunction, difference_quotient, finite_rows, per_point
from .richardson import MIN_LEVELS, extrapolate
from .stencils import SCHEMES, Stencil, custom_stencil, stencil
from .steps import exact_step, machine_epsilon, optimal_step, step_scale, validate_step

# ComplexStepError lives in complexstep and is re-exported: code imports it from here.
__all__ = ["ComplexStepError", "FDResult", "FiniteDifference"]

Method = Callable[[LineFunction, np.ndarray, np.ndarray, Stencil, float], Estimate]

# Richardson starts at this fraction of the scale and divides the step by STEP_RATIO
# per level; measured on the catalog (scripts/bench_fd.py), these reach 1e-13 or
# better in a median of five central levels (ten evaluations).
RICHARDSON_START = 0.125
STEP_RATIO = 2.0
MAX_LEVELS = 12
# Where a stencil leaves f's domain, the edge is looked for at the stencil's reach
# divided by SHRINK^k, k = 1..PROBES (down to 16^-10 ~ 1e-12 of the first step).
SHRINK = 16.0
PROBES = 10


@dataclass(frozen=True)
class FDResult:
    """A finite-difference estimate with what it cost and how sure it is.

    ``status`` per point: ``"ok"``; ``"reduced-step"`` or ``"one-sided"`` when the
    domain forced a smaller or one-sided step; ``"not-converged"`` when Richardson ran
    out of levels above its target (``error`` is then its best estimate, or inf where no
    level was in the asymptotic range Richardson needs: every step was too long for f);
    ``"nonfinite"`` when no step gave a finite value, or (complex step) when x is
    outside f's real domain.

    ``nfev`` counts every evaluation of f per point, ``check_nfev`` the part of it the
    complex step's checks cost (0 for other schemes); ``message`` says why points are
    not ok where the engine knows (the complex step's domain check), else it is empty.
    """

    value: np.ndarray
    error: np.ndarray
    h: np.ndarray
    nfev: np.ndarray
    status: np.ndarray
    check_nfev: np.ndarray
    message: str = ""

    @property
    def ok(self) -> bool:
        return bool(np.all(self.status != "nonfinite"))


def _on_flat(f: Any, shape: tuple[int, ...]) -> Any:
    """f as a function of the flat vector of a matrix-shaped point: the differences walk
    one coordinate at a time, and f must still see the matrix it was written for (a
    flat ``a @ a`` is a dot product, and its derivative silently another)."""
    if len(shape) <= 1 or isinstance(f, Function):
        return f
    fn = as_callable(f)
    return lambda y: fn(np.reshape(y, shape))


class FiniteDifference:
    """Finite-difference derivatives: ``scheme`` forward, backward, central or complex.

    Options (keyword-only): ``accuracy`` order of the rule (default 2 central, 1
    one-sided); ``offsets`` any integer stencil instead of a scheme; ``h`` a float,
    an array (one step per variable, for gradients), or ``"auto"``; ``scale`` the
    length on which f varies (default |x|, 1 at 0); ``richardson`` adaptive
    extrapolation with an error estimate; ``fallback`` (default on) shrinks the step
    or turns the rule one-sided where a stencil point leaves f's domain; a sweep
    turns it off to see what the rule does at exactly the h it was given.

    ``analytic_check`` (complex step only) says how f is checked to be analytic, which
    Im f(x + ih) / h needs (see ``complexstep``):

    - ``"auto"`` (default): a Function's (or string's) expression is searched for
      primitives that are not analytic (abs, sign, relu, maximum, minimum, floor,
      Heaviside, ...), free; a plain callable is probed with real central differences
      at 4 steps (Cauchy-Riemann), 8 more evaluations per point: nfev 9 instead of 1,
      about 5 times the time of a scalar derivative (15 -> 74 µs).
    - ``"expression"``: only the expression check, never the probe (nfev 1); a plain
      callable is refused, since nothing would be checked.
    - ``"off"`` or False: no check; the caller vouches that f is analytic.

    Residual risks: the expression check trusts the primitive table (a Function whose
    ``numpy`` callable differs from its expression is not caught); the probe passes a
    kink within its reach (about 1e-4 |x|) or a departure from analyticity below 1e-2
    relative, and can refuse an analytic f that loses most of its digits to
    cancellation; "off" catches nothing. Whatever the choice, a point outside f's real
    domain (np.log at -0.7, where the complex log is finite) is ``nonfinite``, at the
    cost of one real evaluation at the few points where Im f(x + ih) stands out
    against Re f(x + ih) (roots of f, steep f, points outside the domain); a branch
    point at x itself (np.sqrt at 0, f(x) finite) still comes back ok.
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
        analytic_check: Any = "auto",
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
        if richardson and max_levels < MIN_LEVELS:
            raise ValueError(
                f"max_levels must be >= {MIN_LEVELS} with richardson=True, got {max_levels}: "
                "the tableau may stop only once its first column has passed Lyness' test "
                f"twice, which takes {MIN_LEVELS} levels: fewer could never converge"
            )
        check = validate_analytic_check(analytic_check)
        if scheme != "complex" and check != "auto":
            raise ValueError(
                f"analytic_check is an option of the complex step, got "
                f"analytic_check={analytic_check!r} with scheme={scheme!r}"
            )
        self.scheme = scheme
        self.accuracy = accuracy
        self.offsets = None if offsets is None else tuple(offsets)
        self.h = validate_step(h)
        self.scale = None if scale is None else validate_step(scale, name="scale")
        self.richardson = richardson
        self.step_ratio = float(step_ratio)
        self.max_levels = max_levels
        self.fallback = fallback
        self.analytic_check = check
        if scheme != "complex":
            self.rule(1)  # fail now, not at the first call, on an impossible rule

    def __repr__(self) -> str:
        extra = ", richardson=True" if self.richardson else ""
        acc = f", accuracy={self.accuracy}" if self.accuracy is not None else ""
        if self.analytic_check != "auto":
            extra += f", analytic_check={self.analytic_check!r}"
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

    def _plain(
        self,
        phi: LineFunction,
        x: np.ndarray,
        h: np.ndarray,
        rule: Stencil,
        eps: float,
        *,
        with_error: bool = True,
    ) -> Estimate:
        """The rule at step h; its error from the same rule at 2h when asked.

        D(2h) - D(h) ~ (2^p - 1) C h^p f^(n+p), so |D(h) - D(2h)| / (2^p - 1) estimates
        the truncation error; the rounding bound eps sum|w| max|f| / h^n is added.
        """
        value, size = difference_quotient(phi, x, h, rule)
        hb = per_point(h, value)
        error = eps * rule.abs_weight_sum * size / hb**rule.n + eps * np.abs(value)
        evaluations = rule.evaluations
        if with_error:
            coarse, _ = difference_quotient(phi, x, 2.0 * h, rule)
            error = error + np.abs(value - coarse) / (2.0**rule.accuracy - 1.0)
            evaluations *= 2
        status = np.full(x.shape, "ok", dtype=object)
        return Estimate(value, error, h.copy(), np.full(x.shape, evaluations), status)

    def _estimate_line(
        self,
        phi: LineFunction,
        x: np.ndarray,
        n: int,
        h: Any,
        dtype: Any,
        *,
        with_error: bool = False,
        probe: bool = True,
    ) -> Estimate:
        """Differentiate phi at points x (shape (k,)), falling back where the domain bites.

        ``with_error`` makes plain rules pay a second evaluation at 2h for a truncation
        estimate; Richardson has one anyway. ``probe=False`` skips the complex step's
        probe of analyticity (f's expression was checked instead, or the user vouched).
        """
        if self.scheme == "complex":
            if n != 1:
                raise ValueError(f"the complex step gives first derivatives only, got n={n}")
            scale = step_scale(x, self.scale)
            return complex_step(phi, x, h, dtype, scale, probe=probe)
        eps = machine_epsilon(dtype)
        rule = self.rule(n)
        method: Method = (
            partial(extrapolate, ratio=self.step_ratio, max_levels=self.max_levels)
            if self.richardson
            else partial(self._plain, with_error=with_error)
        )
        with np.errstate(all="ignore"):
            result = method(phi, x, self._steps(x, dtype, rule, h), rule, eps)
            failed = ~finite_rows(result.value)
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
        result: Estimate,
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
            finite = finite_rows(np.asarray(phi(probe).reshape(probe.size, -1)))
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
        result: Estimate,
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
        good = finite_rows(retry.value)
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
        check_order(n)
        probe = self.scheme == "complex" and needs_probe(f, self.analytic_check)
        fn = as_callable(f)
        points = as_points(x)
        dtype = points.dtype
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
        part = self._estimate_line(phi, flat, n, h, dtype, with_error=with_error, probe=probe)
        shape = points.shape
        if isinstance(part, ComplexEstimate):
            check_nfev, message = part.check_nfev, part.message
        else:
            check_nfev, message = np.zeros_like(part.nfev), ""
        return FDResult(
            value=_cast(part.value, dtype).reshape(shape),
            error=np.asarray(part.error, dtype=float).reshape(shape),
            h=part.h.reshape(shape),
            nfev=part.nfev.reshape(shape),
            status=part.status.reshape(shape),
            check_nfev=check_nfev.reshape(shape),
            message=message,
        )

    def derivative(self, f: Any, x: Any, n: int = 1) -> Any:
        """The n-th derivative of f: R -> R at each point of x (one call of f for the whole stencil)."""
        return _scalar_if_0d(self.estimate(f, x, n, with_error=False).value)

    def _along(
        self, f: Any, x: Any, n: int = 1, *, probe: bool | None = None
    ) -> tuple[list[Estimate], Any]:
        """Differentiate f along each coordinate axis of x (the work of gradient and jacobian).

        ``probe`` (complex step): None decides by ``analytic_check`` and f.
        """
        if probe is None:
            probe = self.scheme == "complex" and needs_probe(f, self.analytic_check)
        point = as_points(x)
        dtype = point.dtype
        f = _on_flat(f, point.shape)
        point = np.atleast_1d(point).reshape(-1)
        hs = self._per_variable_steps(point)
        parts = []
        for i in range(point.size):
            line = coordinate_line(f, point, i)
            parts.append(self._estimate_line(line, point[i : i + 1], n, hs[i], dtype, probe=probe))
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
        return self._gradient(f, x)

    def _gradient(self, f: Any, x: Any, *, probe: bool | None = None) -> np.ndarray:
        parts, dtype = self._along(f, x, probe=probe)
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
        point = as_points(x)
        fn = as_callable(_on_flat(f, point.shape))
        dtype = point.dtype
        point = np.atleast_1d(point).reshape(-1)
        if self.scheme == "complex":
            # Central differences of the complex-step gradient: the inner derivative is
            # exact to rounding, so the Hessian carries only the outer rule's error.
            # Analyticity is checked once, at x: by f's expression, or by one probed gradient.
            if needs_probe(f, self.analytic_check):
                self._gradient(fn, point, probe=True)
            outer = FiniteDifference(scheme="central", scale=self.scale)
            jac = outer.jacobian(lambda y: self._gradient(fn, y, probe=False), point)
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


def _cast(values: np.ndarray, dtype: Any) -> np.ndarray:
    return np.asarray(values).astype(dtype, copy=False)


def _scalar_if_0d(arr: np.ndarray) -> Any:
    return arr[()] if arr.ndim == 0 else arr
