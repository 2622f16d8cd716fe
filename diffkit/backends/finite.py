"""Finite differences: any stencil, the complex step, the contour integral, and Richardson.

One engine does all the work. It differentiates a *line function* ``phi`` that maps
an array of abscissae ``t`` (shape ``(k,)``) to values of shape ``(k, ...)``: for
``derivative`` phi is f itself, called once for all points and all stencil offsets
together; for ``gradient``, ``jacobian``, ``hessian`` and ``directional_derivative``
phi walks f along a coordinate or a direction (``multivariate``).

Steps. A float ``h`` is used exactly as given, so ``scheme="forward", h=1e-4``
computes bit for bit ``(f(x + h) - f(x)) / h``. ``h="auto"`` follows f, not |x|: a
pilot (``pilot``) measures the length L on which f varies at x, and the rule takes
the rounding/truncation optimum on that length (``steps.optimal_step``), Richardson
a fraction of it as its first step. ``scale=`` gives L instead of measuring it. A
stencil leaving f's domain makes the pilot shrink, or, at the edge itself, the
rule one-sided into the domain (``one-sided``).

Status. Every result carries an error estimate, and ``ok`` only where that estimate
supports three digits or more (``accuracy``); plain calls warn otherwise.

Complex plane. ``scheme="complex"`` takes Im f(x + ih) / h for n = 1 and
Im(f(x + h w) + f(x - h w)) / h^2, w = exp(i pi / 4), for n = 2 (``complexstep``);
``scheme="contour"`` the Cauchy integral on a circle by FFT for any n up to 20
(``contour``). Both need f analytic and real on the real axis, and check it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from . import multivariate
from .accuracy import OK_RTOL, judge, warn_unless_accepted
from .complexstep import (
    ComplexEstimate,
    ComplexStepError,
    complex_second,
    complex_step,
    needs_probe,
    validate_analytic_check,
)
from .inputs import as_points, check_order
from .lines import scalar_line, with_arguments
from .pilot import F_ULPS, pilot, refuse_complex, typical_length
from .quotients import Estimate, LineFunction, difference_quotient, finite_rows
from .richardson import MIN_LEVELS, extrapolate
from .stencils import SCHEMES, Stencil, custom_stencil, stencil
from .steps import (
    MIN_SPACINGS,
    exact_step,
    machine_epsilon,
    optimal_step,
    step_scale,
    validate_step,
)

# ComplexStepError lives in complexstep and is re-exported: code imports it from here.
__all__ = ["MAX_ORDER", "ComplexStepError", "FDResult", "FiniteDifference"]

Method = Callable[[LineFunction, np.ndarray, np.ndarray, Stencil, float], Estimate]

# The default central rule (accuracy None) is redone at accuracy 4 where its
# 2nd-order error estimate of a first derivative is above this fraction of the value
# (``_raise_order``). Higher orders keep accuracy 2: there it would fire almost
# everywhere, at 1.5x the cost (scripts/bench_fd_suite.py), where Richardson and the
# contour integral are the methods to use.
RAISE_RTOL = 1e-8

# Richardson starts at this fraction of f's length and divides the step by STEP_RATIO
# per level; measured on the catalog (scripts/bench_fd.py), these reach 1e-13 or
# better in a median of five central levels (ten evaluations).
RICHARDSON_START = 0.125
STEP_RATIO = 2.0
MAX_LEVELS = 12
# Richardson's first step is at most this many times the farthest point the pilot saw:
# Lyness' test drops a step too long for f, but only 12 levels are there to drop.
REACH_FACTOR = 8.0
# Real-step rules lose about n digits of float64 to rounding per order: beyond n = 10
# nothing is left (n = 12 came back 6 % off). The contour integral goes further.
MAX_ORDER = 10
MAX_CONTOUR_ORDER = 20


@dataclass(frozen=True)
class FDResult:
    """A finite-difference estimate with what it cost and how sure it is.

    ``status`` per point (or per entry, for gradients, Jacobians and Hessians): see
    ``diffkit.backends.accuracy`` for what each means; ``ok`` only where ``error``
    supports at least three digits. ``h`` is the step taken (the radius, for the
    contour integral). ``nfev`` counts every evaluation of f per point (in total, for
    the multivariate estimates), ``check_nfev`` the part of it the complex step's
    checks cost (0 for other schemes); ``message`` says why points are not ok where
    the engine knows, else it is empty.
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
        """Whether no point is ``nonfinite`` (see ``status`` for how good the rest are)."""
        return bool(np.all(self.status != "nonfinite"))

    def _repr_html_(self, max_rows: int = 20) -> str:
        """A table for Jupyter: one row per entry of ``value`` (the first ``max_rows``).

        ``error``, ``status``, ``h``, ``nfev`` and ``check_nfev`` stand beside the entries
        they belong to: per point for ``estimate`` (the leading axes of ``value``), per
        variable for the multivariate estimates (whose ``nfev`` is one total; ``h`` then
        follows the trailing axes). A total is said above the table; ``check_nfev`` is
        shown only where the complex step's checks cost something.
        """
        import html

        value = np.asarray(self.value)
        shape = value.shape
        per_variable = np.ndim(self.nfev) == 0
        fields = {"error": self.error, "status": self.status, "h": self.h, "nfev": self.nfev}
        if np.any(np.asarray(self.check_nfev)):
            fields["check_nfev"] = self.check_nfev
        columns: dict[str, tuple[np.ndarray, slice]] = {}
        notes = []
        for name, data in fields.items():
            arr, k = np.asarray(data), np.ndim(data)
            if arr.shape == shape:
                columns[name] = (arr, slice(None))
            elif 0 < k < len(shape) and not per_variable and shape[:k] == arr.shape:
                columns[name] = (arr, slice(None, k))
            elif 0 < k < len(shape) and per_variable and shape[-k:] == arr.shape:
                columns[name] = (arr, slice(-k, None))
            elif k == 0:
                notes.append(f"{name}: {arr.item()} in total")
            else:
                notes.append(f"{name} of shape {arr.shape}: {arr.ravel()[:max_rows]}")

        def text(x: Any, name: str) -> str:
            if name in ("nfev", "check_nfev"):
                return str(int(x))
            if name in ("error", "h"):
                return f"{x:.2e}"
            return str(x) if name == "status" else f"{x:.15g}"

        status = np.asarray(self.status).ravel()
        names, counts = np.unique(status, return_counts=True)
        others = ", ".join(f"{c} {n}" for n, c in zip(names, counts, strict=True) if n != "ok")
        head = f"FDResult: {value.size} value(s) of shape {shape}, "
        head += f"{int(np.sum(status == 'ok'))} of {status.size} ok"
        head += f" ({others})" if others else ""
        rows = []
        for flat in range(min(value.size, max_rows)):
            index = np.unravel_index(flat, shape) if shape else ()
            cells = [str(tuple(int(i) for i in index)) if shape else "", text(value[index], "")]
            cells += [text(arr[index[part]], name) for name, (arr, part) in columns.items()]
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        header = "".join(f"<th>{html.escape(c)}</th>" for c in ["index", "value", *columns])
        parts = [
            f"<p><strong>{html.escape(head)}</strong></p>",
            *(f"<p>{html.escape(note)}</p>" for note in notes),
            f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>",
        ]
        if value.size > max_rows:
            parts.append(f"<p>... {value.size - max_rows} more entries</p>")
        if self.message:
            parts.append(f"<p>{html.escape(self.message)}</p>")
        return "\n".join(parts)


class FiniteDifference:
    """Finite-difference derivatives: ``scheme`` forward, backward, central, complex or contour.

    Options (keyword-only): ``accuracy`` order of the rule (default 2 central, 1
    one-sided; the default central rule of a first derivative with ``h="auto"`` turns
    to accuracy 4 at points where its estimate is above ``RAISE_RTOL`` relative and
    the 4th order's is smaller, as for cosh near 0); ``offsets`` any integer stencil instead of a scheme; ``h`` a float,
    an array (one step per variable, for gradients), or ``"auto"`` (the step follows
    f, see the module docstring); ``scale`` the length on which f varies, given
    instead of measured; ``richardson`` adaptive extrapolation with an error
    estimate; ``fallback`` (default on) lets a stencil leaving f's domain shrink or
    turn one-sided and judges every status by its error estimate; a sweep turns it
    off to see what the rule does at exactly the h it was given.

    ``analytic_check`` (complex and contour schemes) says how f is checked to be
    analytic (see ``complexstep``): ``"auto"`` checks a Function's expression, free,
    and probes a plain callable once per call (1 + 8 real evaluations for a
    derivative at each point; 2 real evaluations for a whole gradient, more only
    where that cheap check disagrees); ``"expression"`` only the expression (a plain
    callable is refused); ``"off"`` or False no check. The contour integral checks
    analyticity by itself (a non-analytic f leaves a signature in the coefficients),
    so only the expression check applies to it.
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
        plane = ("complex", "contour")
        if scheme not in (*SCHEMES, *plane):
            raise ValueError(f"scheme must be one of {(*SCHEMES, *plane)}, got {scheme!r}")
        if scheme in plane and (offsets is not None or richardson):
            raise ValueError(f"the {scheme} scheme takes neither offsets nor richardson")
        if scheme in plane and accuracy not in (None, 2):
            raise ValueError(f"the {scheme} scheme has no accuracy option, got {accuracy}")
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
        if scheme not in plane and check != "auto":
            raise ValueError(
                f"analytic_check is an option of the complex and contour schemes, got "
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
        if scheme not in plane:
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

    def check_order(self, n: Any) -> int:
        """n as an int in 1..MAX_ORDER (MAX_CONTOUR_ORDER for the contour integral)."""
        n = check_order(n)
        top = MAX_CONTOUR_ORDER if self.scheme == "contour" else MAX_ORDER
        if self.scheme == "complex" and n > 2:
            raise ValueError(
                f"the complex step gives derivatives of order 1 and 2, got n={n}: use "
                "scheme='contour' for higher orders of analytic functions"
            )
        if n > top:
            raise ValueError(
                f"derivative order n={n} is above {top}, the highest this scheme can "
                "give in floating point: rounding leaves no digit. "
                + (
                    "The contour integral reaches 20 for analytic f; the symbolic "
                    "backend any order."
                    if self.scheme != "contour"
                    else "Use the symbolic backend."
                )
            )
        return n

    def _length(
        self, phi: LineFunction, x: np.ndarray, m: int, dtype: Any, scheme: str = "central"
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """f's length at x (measured, or the user's ``scale``), its size, the cost, how far
        the pilot saw f (Richardson's longest step) and f's noise (None for a given scale)."""
        if self.scale is not None:
            return step_scale(x, self.scale), None, np.zeros(x.shape, dtype=int), None, None
        found = pilot(phi, x, m, dtype, scheme=scheme)
        return found.length, found.size, found.nfev, found.reach, found.noise

    def _auto_steps(
        self,
        x: np.ndarray,
        rule: Stencil,
        dtype: Any,
        length: np.ndarray,
        reach: np.ndarray | None = None,
    ) -> np.ndarray:
        if x.size == 1 and x.dtype == np.float64:
            return np.array([self._auto_step_one(float(x[0]), rule, dtype, length, reach)])
        if not self.richardson:
            start = optimal_step(rule, dtype, scale=length)
            return exact_step(x.astype(float), np.asarray(start, dtype=float))
        start = np.asarray(length * RICHARDSON_START, dtype=float)
        if reach is not None:  # no farther than a few times where the pilot saw f smooth
            start = np.where(reach > 0, np.minimum(start, REACH_FACTOR * reach), start)
        if self.step_ratio == 2.0:
            # A multiple of spacing(x) 2^levels: every level's step h0 / 2^l is then
            # exact too (x + h - x == h), which at x = 1e8 is worth 4 digits.
            unit = np.spacing(np.abs(x.astype(float))) * 2.0**self.max_levels
            coarse = start < unit * 2.0**52  # elsewhere every step is a multiple already
            rounded = np.maximum(np.round(start / np.where(coarse, unit, 1.0)), 1.0) * unit
            start = np.where(coarse, rounded, start)
        return exact_step(x.astype(float), start)

    def _auto_step_one(
        self, x0: float, rule: Stencil, dtype: Any, length: np.ndarray, reach: np.ndarray | None
    ) -> float:
        """``_auto_steps`` for one float64 point, in Python floats (the same arithmetic)."""
        scale = float(length[0])
        if not self.richardson:
            start = scale * rule.optimal_ratio(machine_epsilon(dtype))
        else:
            start = scale * RICHARDSON_START
            if reach is not None and reach[0] > 0:
                start = min(start, REACH_FACTOR * float(reach[0]))
            if self.step_ratio == 2.0:
                unit = math.ulp(abs(x0)) * 2.0**self.max_levels
                if start < unit * 2.0**52:
                    start = max(float(round(start / unit)), 1.0) * unit  # half to even, as np.round
        h = max(start, MIN_SPACINGS * math.ulp(abs(x0)))
        exact = (x0 + h) - x0
        return exact if 0 < exact < math.inf else h

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
        curvature: np.ndarray | None = None,
        noise: np.ndarray | None = None,
    ) -> Estimate:
        """The rule at step h, with an error estimate.

        Rounding: sum|w| max(F_ULPS eps max|f|, ``noise``) / h^n, the noise f was
        measured to carry (``pilot``). Truncation: from the pilot's
        measurement (|C| h^p F / L^(n+p), ``curvature`` = F / L^(n+p)), and with
        ``with_error`` also from the same rule at 2h: D(2h) - D(h) ~ (2^p - 1) C h^p
        f^(n+p), so |D(h) - D(2h)| / (2^p - 1), the larger of the two.
        """
        if x.size == 1 and x.dtype == np.float64:
            return _plain_one(phi, x, h, rule, eps, with_error, curvature, noise)
        value, size = difference_quotient(phi, x, h, rule)
        k = x.size
        big = size.reshape(k, -1).max(axis=1)
        loud = F_ULPS * eps * big if noise is None else np.maximum(F_ULPS * eps * big, noise)
        error = rule.abs_weight_sum * loud / h**rule.n
        error = error + eps * np.abs(value).reshape(k, -1).max(axis=1)
        truncation = np.zeros(k)
        if curvature is not None:
            truncation = rule.abs_error_constant * h**rule.accuracy * curvature
        evaluations = rule.evaluations
        if with_error:
            coarse, _ = difference_quotient(phi, x, 2.0 * h, rule)
            seen = np.abs(value - coarse).reshape(k, -1).max(axis=1) / (2.0**rule.accuracy - 1)
            truncation = np.maximum(truncation, seen)
            evaluations *= 2
        status = np.full(x.shape, "ok", dtype=object)
        return Estimate(
            value, error + truncation, h.copy(), np.full(x.shape, evaluations), status, big
        )

    def _method(
        self, with_error: bool, curvature: np.ndarray | None, noise: np.ndarray | None
    ) -> Method:
        if self.richardson:
            return partial(
                extrapolate, ratio=self.step_ratio, max_levels=self.max_levels, noise=noise
            )
        return partial(self._plain, with_error=with_error, curvature=curvature, noise=noise)

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
        """Differentiate phi at points x (shape (k,)): step, estimate, fallbacks, status.

        ``with_error`` makes plain rules pay a second evaluation at 2h for a measured
        truncation estimate; Richardson has one anyway. ``probe=False`` skips the
        complex step's probe of analyticity (f's expression was checked instead, or
        the caller has checked it already).
        """
        if self.scheme == "complex":
            return self._complex_line(phi, x, n, h, dtype, probe)
        if self.scheme == "contour":
            from .contour import contour

            radius = step_scale(x, self.scale) if self.scale is not None else typical_length(x)
            found = contour(phi, x, n, dtype, radius)
            # An ok whose error is above OK_RTOL of the value is the contour's zero to
            # rounding: near-zero in this module's words (accuracy).
            size = np.abs(np.asarray(found.value)).reshape(x.size, -1).min(axis=1)
            error = np.asarray(found.error, dtype=float).reshape(x.size, -1).max(axis=1)
            unsupported = ~(error <= OK_RTOL * size) | (size == 0)
            found.status[(found.status == "ok") & unsupported] = "near-zero"
            return found
        eps = machine_epsilon(dtype)
        rule = self.rule(n)
        auto = isinstance(h, str)
        with np.errstate(all="ignore"):
            if auto:
                m = n + rule.accuracy
                length, size, cost, reach, noise = self._length(phi, x, m, dtype)
                stretched = _stretched(length, size, noise, eps, m)
                steps = self._auto_steps(x, rule, dtype, stretched, reach)
                curvature = None if size is None else size / length**m
            else:
                steps = np.broadcast_to(np.asarray(h, dtype=float), x.shape).astype(float)
                length = typical_length(x)
                cost = np.zeros(x.shape, dtype=int)
                curvature = noise = None
            result = self._method(with_error, curvature, noise)(phi, x, steps, rule, eps)
            result.nfev = result.nfev + cost
            failed = ~finite_rows(result.value)
            if self.fallback and auto and failed.any():
                self._one_sided(phi, x, n, dtype, result, failed, with_error)
            if failed.any():
                result.status[failed] = "nonfinite"
                result.error = np.where(failed, np.nan, result.error)
            if auto and n == 1 and self._raises_order() and size is not None:
                self._raise_order(
                    phi, x, n, dtype, result, (length, stretched, size, noise), with_error
                )
            if self.fallback:
                self._judge(result, rule, eps, length)
        return result

    def _raises_order(self) -> bool:
        """Whether the rule may go to accuracy 4 where 2 falls short: the default
        central rule only (an accuracy, stencil or step the user chose is kept)."""
        return (
            self.scheme == "central"
            and self.accuracy is None
            and self.offsets is None
            and not self.richardson
            and self.fallback
        )

    def _raise_order(
        self,
        phi: LineFunction,
        x: np.ndarray,
        n: int,
        dtype: Any,
        result: Estimate,
        measured: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None],
        with_error: bool,
    ) -> None:
        """Redo with the accuracy-4 rule the points where the 2nd-order estimate is above
        RAISE_RTOL of the value, and keep it where its own error estimate is smaller.

        The floor of a rule of order p is about (eps F / (|f^(n)| L^n))^(p / (n + p))
        relative: where |f| is far above |f'| L (cosh near 0: F = 1, f' = 1e-4) the
        2nd order stops near 1e-8 at any step, and the 4th goes on to about 1e-10.
        The same pilot's length serves both rules (|f^(k)| ~ F / L^k).
        """
        length, stretched, size, noise = measured
        eps = machine_epsilon(dtype)
        k = x.size
        magnitude = np.abs(np.asarray(result.value, dtype=float)).reshape(k, -1).min(axis=1)
        error = np.asarray(result.error, dtype=float).reshape(k, -1).max(axis=1)
        short = (result.status == "ok") & (error > RAISE_RTOL * magnitude) & (size > 0)
        idx = np.flatnonzero(short)
        if idx.size == 0:
            return
        rule = stencil("central", n, 4)
        m = n + rule.accuracy
        xs = x[idx]
        steps = self._auto_steps(xs, rule, dtype, stretched[idx])
        curvature = size[idx] / length[idx] ** m
        retry = self._plain(
            phi,
            xs,
            steps,
            rule,
            eps,
            with_error=with_error,
            curvature=curvature,
            noise=None if noise is None else noise[idx],
        )
        result.nfev[idx] += retry.nfev
        new_error = np.asarray(retry.error, dtype=float).reshape(idx.size, -1).max(axis=1)
        good = finite_rows(retry.value) & (new_error < error[idx])
        take = idx[good]
        result.value[take] = retry.value[good]
        result.error[take] = retry.error[good]
        result.h[take] = retry.h[good]
        if result.size is not None and retry.size is not None:
            result.size[take] = retry.size[good]

    def _judge(self, result: Estimate, rule: Stencil, eps: float, length: np.ndarray) -> None:
        if result.status.size == 1:  # one point, in floats
            seen = result.size if result.size is not None else np.abs(result.value)
            size1 = max(np.asarray(seen, dtype=float).reshape(-1).tolist())
            h1 = float(result.h[0])
            rounding1 = F_ULPS * eps * rule.abs_weight_sum * size1 / h1**rule.n
            natural1 = size1 / float(length[0]) ** rule.n
            result.status = judge(
                result.status, result.value, result.error, rounding1, natural1, eps
            )
            return
        size = result.size if result.size is not None else np.abs(result.value)
        size = np.asarray(size, dtype=float).reshape(result.status.size, -1).max(axis=1)
        rounding = F_ULPS * eps * rule.abs_weight_sum * size / result.h**rule.n
        natural = size / length**rule.n
        result.status = judge(result.status, result.value, result.error, rounding, natural, eps)

    def _one_sided(
        self,
        phi: LineFunction,
        x: np.ndarray,
        n: int,
        dtype: Any,
        result: Estimate,
        failed: np.ndarray,
        with_error: bool,
    ) -> None:
        """Redo the points whose stencil left f's domain on x's edge, one-sided into the domain.

        Only central rules have a one-sided twin of the same accuracy; each side is
        measured by a one-sided pilot, and the rule runs into the side where f was
        finite (the right one first). A step the user gave is never changed.
        """
        if self.offsets is not None or self.scheme != "central":
            return
        base = self.rule(n)
        eps = machine_epsilon(dtype)
        for side in ("forward", "backward"):
            idx = np.flatnonzero(failed)
            if idx.size == 0:
                return
            rule = stencil(side, n, base.accuracy)
            xs = x[idx]
            length, size, cost, reach, noise = self._length(phi, xs, n + rule.accuracy, dtype, side)
            result.nfev[idx] += cost
            seen = size is None or size > 0
            if size is not None and not np.any(seen):
                continue
            curvature = None if size is None else size / length ** (n + rule.accuracy)
            steps = self._auto_steps(xs, rule, dtype, length, reach)
            retry = self._method(with_error, curvature, noise)(phi, xs, steps, rule, eps)
            result.nfev[idx] += retry.nfev
            good = finite_rows(retry.value) & seen
            take = idx[good]
            result.value[take] = retry.value[good]
            result.error[take] = retry.error[good]
            result.h[take] = retry.h[good]
            result.status[take] = np.where(
                retry.status[good] == "ok", "one-sided", retry.status[good]
            )
            if result.size is not None and retry.size is not None:
                result.size[take] = retry.size[good]
            failed[take] = False

    def _complex_line(
        self, phi: LineFunction, x: np.ndarray, n: int, h: Any, dtype: Any, probe: bool
    ) -> Estimate:
        """The complex step of order n; for n = 2 the first derivative's checks come first."""
        scale = step_scale(x, self.scale)
        first = complex_step(phi, x, h if n == 1 else "auto", dtype, scale, probe=probe)
        result: Estimate = first
        length = scale
        if n == 2:
            if isinstance(h, str) and self.scale is None:
                length, _, cost, _, _ = self._length(phi, x, 6, dtype)
            else:
                cost = np.zeros(x.shape, dtype=int)
            second = complex_second(phi, x, h, dtype, length)
            bad = first.status != "ok"
            second.status[bad] = first.status[bad]
            second.value[bad], second.error[bad] = np.nan, np.nan
            checks = first.nfev + cost
            result = ComplexEstimate(
                second.value,
                second.error,
                second.h,
                second.nfev + checks,
                second.status,
                second.size,
                checks,
                first.message,
            )
        if self.fallback and result.size is not None:
            natural = result.size / length**n
            eps = machine_epsilon(dtype)
            result.status = judge(
                result.status, result.value, result.error, result.error, natural, eps
            )
        return result

    # ------------------------------------------------------------------ protocol

    def estimate(
        self,
        f: Any,
        x: Any,
        n: int = 1,
        *,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        with_error: bool = True,
    ) -> FDResult:
        """The n-th derivative of f: R -> R^m at each point of x, with error, step, cost, status.

        ``value`` has shape x.shape + f's output shape. Plain rules measure their
        truncation error at 2h as well (``with_error=False`` skips it, and ``error``
        then comes from the pilot's measurement of f alone).
        """
        n = self.check_order(n)
        probe = self.scheme == "complex" and needs_probe(f, self.analytic_check)
        if self.scheme == "contour" and self.analytic_check != "off":
            # The expression, when there is one, names a primitive that is not analytic;
            # the coefficients check the rest (and all of a plain callable) themselves.
            needs_probe(f, "expression" if self.analytic_check == "expression" else "auto")
        phi = scalar_line(with_arguments(f, args, kwargs))
        points = as_points(x)
        dtype = points.dtype
        flat = points.reshape(-1)
        h = self.h if isinstance(self.h, str) else np.broadcast_to(self.h, points.shape).reshape(-1)
        part = self._estimate_line(phi, flat, n, h, dtype, with_error=with_error, probe=probe)
        shape = points.shape
        if isinstance(part, ComplexEstimate):
            check_nfev, message = part.check_nfev, part.message
        else:
            check_nfev, message = np.zeros_like(part.nfev), getattr(part, "message", "")
        out = np.asarray(part.value).shape[1:]
        error = np.asarray(part.error, dtype=float)  # per point, or per output where known
        return FDResult(
            value=_cast(part.value, dtype).reshape(shape + out),
            error=error.reshape(shape if error.size == flat.size else shape + out),
            h=part.h.reshape(shape),
            nfev=part.nfev.reshape(shape),
            status=part.status.reshape(shape),
            check_nfev=check_nfev.reshape(shape),
            message=message,
        )

    def derivative(
        self,
        f: Any,
        x: Any,
        n: int = 1,
        *,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """The n-th derivative of f: R -> R^m at each point of x; warns where it is not ok."""
        result = self.estimate(f, x, n, args=args, kwargs=kwargs, with_error=False)
        warn_unless_accepted(result.status, result.error, x, f"the derivative of order {n}")
        return _scalar_if_0d(result.value)

    def estimate_gradient(self, f: Any, x: Any, **options: Any) -> FDResult:
        """Gradient of f: R^n -> R with per-entry error and status (``multivariate``)."""
        return multivariate.gradient(self, f, x, **options)

    def estimate_jacobian(self, f: Any, x: Any, **options: Any) -> FDResult:
        """Jacobian (shape f's output + x's shape) with per-entry error and status."""
        return multivariate.jacobian(self, f, x, **options)

    def estimate_hessian(self, f: Any, x: Any, **options: Any) -> FDResult:
        """Hessian (shape f's output + (n, n)) with error and status (``hessians``)."""
        return multivariate.hessian(self, f, x, **options)

    def estimate_hessian_diagonal(self, f: Any, x: Any, **options: Any) -> FDResult:
        """The diagonal of the Hessian, one second derivative per variable."""
        return multivariate.hessian_diagonal(self, f, x, **options)

    def estimate_directional(self, f: Any, x: Any, v: Any, **options: Any) -> FDResult:
        """The derivative of f at x along v, d/dt f(x + t v) at t = 0."""
        return multivariate.directional(self, f, x, v, **options)

    def gradient(self, f: Any, x: Any, **options: Any) -> np.ndarray:
        """Gradient of f: R^n -> R at one point x (one line derivative per variable)."""
        return _warned(self.estimate_gradient(f, x, **options), "the gradient")

    def jacobian(self, f: Any, x: Any, **options: Any) -> np.ndarray:
        """Jacobian of f at one point x, shape f's output shape (at least 1-D) + x's shape."""
        return _warned(self.estimate_jacobian(f, x, **options), "the Jacobian")

    def hessian(self, f: Any, x: Any, **options: Any) -> np.ndarray:
        """Hessian of f at one point, shape (n, n), or f's output shape + (n, n)."""
        return _warned(self.estimate_hessian(f, x, **options), "the Hessian")

    def hessian_diagonal(self, f: Any, x: Any, **options: Any) -> np.ndarray:
        """The diagonal of the Hessian of f: R^n -> R at one point, shape (n,)."""
        return _warned(self.estimate_hessian_diagonal(f, x, **options), "the Hessian diagonal")

    def directional_derivative(self, f: Any, x: Any, v: Any, **options: Any) -> np.ndarray:
        """d/dt f(x + t v) at t = 0 (one line derivative, whatever the number of variables)."""
        return _warned(self.estimate_directional(f, x, v, **options), "the directional derivative")


def _stretched(
    length: np.ndarray, size: np.ndarray | None, noise: np.ndarray | None, eps: float, m: int
) -> np.ndarray:
    """The length the step is chosen on: f's, longer where f is noisier than eps |f|.

    Rounding grows with f's noise, so the optimum h ~ (noise / |f^(m)|)^(1/m) moves out
    by (noise / (F_ULPS eps F))^(1/m); the truncation model keeps f's own length.
    """
    if size is None or noise is None:
        return length
    if length.size == 1:  # one point, in floats
        ratio = float(noise[0]) / max(F_ULPS * eps * float(size[0]), 1e-300)
        return length if ratio <= 1.0 else length * ratio ** (1.0 / m)
    louder = np.maximum(noise / np.maximum(F_ULPS * eps * size, 1e-300), 1.0)
    return length * louder ** (1.0 / m)


def _plain_one(
    phi: LineFunction,
    x: np.ndarray,
    h: np.ndarray,
    rule: Stencil,
    eps: float,
    with_error: bool,
    curvature: np.ndarray | None,
    noise: np.ndarray | None = None,
) -> Estimate:
    """``_plain`` for one float64 point, in Python floats around one call of f.

    The same operations in the same order as ``difference_quotient`` (IEEE doubles
    either way), so the same bits: ``(f(x + h) - f(x)) / h`` stays that.
    """
    offsets, weights = rule.used
    x0, step = float(x[0]), float(h[0])
    steps = (step, 2.0 * step) if with_error else (step,)
    t = [x0 + s * hs for hs in steps for s in offsets.tolist()]
    values = np.asarray(phi(np.array(t)))
    if np.iscomplexobj(values):
        refuse_complex()
    width = values[0].size
    fs = values.reshape(len(steps), len(weights), width).tolist()
    denominators = [hs if rule.n == 1 else hs**rule.n for hs in steps]
    quotients = []
    for level, denom in zip(fs, denominators, strict=True):
        row = []
        for c in range(width):
            total = level[0][c] if weights[0] == 1 else weights[0] * level[0][c]
            for w, f_s in zip(weights[1:], level[1:], strict=True):
                total = total + (f_s[c] if w == 1 else w * f_s[c])
            row.append(total / denom)
        quotients.append(row)
    big = max(abs(v) for point in fs[0] for v in point)
    value = quotients[0]
    loud = F_ULPS * eps * big if noise is None else max(F_ULPS * eps * big, float(noise[0]))
    error = rule.abs_weight_sum * loud / step**rule.n
    error += eps * max(abs(v) for v in value)
    truncation = 0.0
    if curvature is not None:
        truncation = rule.abs_error_constant * step**rule.accuracy * float(curvature[0])
    if with_error:
        seen = max(abs(a - b) for a, b in zip(value, quotients[1], strict=True))
        truncation = max(truncation, seen / (2.0**rule.accuracy - 1))
    shape = (1, *values.shape[1:])
    return Estimate(
        np.array(value).reshape(shape),
        np.array([error + truncation]),
        np.array([step]),
        np.array([rule.evaluations * len(steps)]),
        np.array(["ok"], dtype=object),
        np.array([big]),
    )


def _warned(result: FDResult, what: str) -> np.ndarray:
    warn_unless_accepted(result.status, result.error, [], what)
    return result.value


def _cast(values: np.ndarray, dtype: Any) -> np.ndarray:
    values = np.asarray(values)
    if np.iscomplexobj(values):
        refuse_complex()
    return values.astype(dtype, copy=False)


def _scalar_if_0d(arr: np.ndarray) -> Any:
    return arr[()] if arr.ndim == 0 else arr
