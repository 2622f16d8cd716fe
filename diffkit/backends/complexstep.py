"""The complex step, Im f(x + ih) / h, and what it needs of f: analytic, and real at x.

With f analytic near x and real on the real axis, f(x + ih) = f(x) - h^2 f''(x) / 2 + ...
+ i (h f'(x) - h^3 f'''(x) / 6 + ...), so Im f(x + ih) / h is f'(x) with an error of
order h^2 and no subtraction: h can be 1e-20 |x| and the result exact to rounding.
Both premises can fail without a sign, and each is checked:

- f analytic (``analytic_check``). NumPy's abs, sign, maximum, ... of a complex number
  are not the analytic continuation of the real functions (np.abs(z) is the modulus),
  so Im f(x + ih) / h of x * abs(x) is |x|, not 2|x|. ``"auto"`` (the default) checks
  a Function's expression for such primitives, free, and probes a plain callable with
  real central differences (Cauchy-Riemann, ``cauchy_riemann``): 8 real evaluations
  per point, so nfev 9 instead of 1 and about 5 times the time. ``"expression"`` does
  only the expression check (nfev 1) and refuses f without an expression; ``"off"``
  (or False) checks nothing: the caller vouches that f is analytic.
- x in f's real domain (always on). np.log(-0.7 + 1e-20j) is log(0.7) + i pi, finite,
  and Im / h is 4.5e20. Where f is real at x, |Im f(x + ih)| = h |f'| is far below
  eps |Re f(x + ih)| except near a root of f or where f varies on 1e-4 of the scale;
  only at such points f is evaluated at the real x (one more evaluation), and a point
  where f(x) is not finite is ``nonfinite`` with a message saying so. Not caught: a
  branch point at x itself, where f(x) is finite and f' is not (np.sqrt at 0 gives
  7.1e9), and a branch's imaginary part below eps of the real part (np.log(x) + 1e17
  at -0.7, whose real version has lost log(x) to rounding anyway).

Either check that finds f unfit raises ``ComplexStepError``; the evaluations the checks
cost are counted in nfev and reported apart (``ComplexEstimate.check_nfev``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import sympy

from .. import ops
from ..function import Function, as_function
from ..parse import symbol
from .quotients import Estimate, LineFunction, difference_quotient, finite_rows, per_point
from .richardson import NOISE
from .stencils import stencil
from .steps import exact_step, machine_epsilon, optimal_step

__all__ = [
    "ANALYTIC_CHECKS",
    "ComplexEstimate",
    "ComplexStepError",
    "cauchy_riemann",
    "complex_second",
    "complex_step",
    "expression_is_analytic",
    "needs_probe",
    "validate_analytic_check",
]

ANALYTIC_CHECKS = ("auto", "expression", "off")
# The automatic step, relative to the scale of x: far below any truncation error.
RELATIVE_STEP = 1e-20
# The automatic step's scale is never below this (x subnormal, or 0 < |x| < 1e-280).
TINY_SCALE = 1e-280
# The error estimate counts this many roundings of f' and f / scale.
COMPLEX_ROUNDING = 16.0
# The Cauchy-Riemann probe of a plain callable differences f at PROBE_LEVELS steps in
# ratio PROBE_RATIO (not 2: steps in ratio 2 alias with an oscillation whose period
# divides the smallest, sin(1e8 x) at 0) and refuses a point where the complex step
# and the finest difference differ by more than TRUST times their error estimates
# plus AGREE relative. AGREE is large because f computed by cancellation (exp(x) - 1
# near 0) is far less accurate than eps |f|, which the estimates assume; the errors
# of a complex step through abs or sign are of order one.
TRUST = 10.0
AGREE = 1e-2
PROBE_LEVELS = 4
PROBE_RATIO = 2.5
# SymPy functions outside the primitive table that are not analytic on the real axis
# (an expression built by hand may hold them); the table's own come from its rows.
SYMPY_NON_ANALYTIC = (
    sympy.floor,
    sympy.ceiling,
    sympy.frac,
    sympy.Heaviside,
    sympy.Piecewise,
    sympy.re,
    sympy.im,
    sympy.arg,
    sympy.conjugate,
    sympy.Mod,
)


class ComplexStepError(TypeError):
    """The complex step needs f analytic and carrying complex numbers through; f is not."""


@dataclass
class ComplexEstimate(Estimate):
    """An ``Estimate`` with what the checks cost (included in ``nfev``) and why points failed."""

    check_nfev: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    message: str = ""


def validate_analytic_check(check: Any) -> str:
    """``check`` as one of ANALYTIC_CHECKS (False is "off"); a ValueError names the choices."""
    if check is False:
        return "off"
    if isinstance(check, str) and check in ANALYTIC_CHECKS:
        return check
    raise ValueError(
        f"analytic_check must be one of {ANALYTIC_CHECKS} or False, got {check!r}: 'auto' "
        "checks a Function's expression and probes a plain callable, 'expression' only "
        "checks the expression, 'off' trusts that f is analytic"
    )


@lru_cache(maxsize=1)
def non_analytic_heads() -> tuple[tuple[type, str], ...]:
    """(SymPy class, name) of every primitive without a derivative everywhere, and SymPy's.

    A row with ``smooth=False`` (abs, sign, relu, maximum, minimum) is not analytic:
    its complex extension in NumPy is not the analytic continuation of its real
    version (np.abs of a complex number is its modulus). A row whose SymPy column is
    a function (relu -> Max(0, x)) is known by the head of what it builds.
    """
    args = [symbol(f"a{i}") for i in range(2)]
    rows = [row for row in ops.PRIMITIVES.values() if not row.smooth]
    rows.sort(key=lambda row: not isinstance(row.sympy, type))  # stable: classes first
    heads: dict[type, str] = {}
    for row in rows:
        head = row.sympy if isinstance(row.sympy, type) else type(row.sympy(*args[: row.arity]))
        if head in (sympy.Add, sympy.Mul, sympy.Pow):
            continue  # a composition (trunc, remainder): its step (sign, floor) is a head itself
        heads.setdefault(head, row.name)
    for head in SYMPY_NON_ANALYTIC:
        heads.setdefault(head, head.__name__)
    return tuple(heads.items())


@lru_cache(maxsize=256)
def non_analytic_node(expr: sympy.Expr) -> tuple[str, sympy.Expr] | None:
    """The first node of ``expr`` (preorder) that is not analytic, with its row's name."""
    heads = non_analytic_heads()
    for node in sympy.preorder_traversal(expr):
        for head, name in heads:
            if isinstance(node, head):
                return name, node
    return None


def expression_is_analytic(f: Any) -> bool:
    """True if f's expression vouches that f is analytic, False if f has no expression;
    raises ``ComplexStepError`` naming a node that is not analytic.
    """
    if isinstance(f, str | sympy.Expr):
        f = as_function(f)
    expr = f.expr if isinstance(f, Function) else None
    if expr is None:
        return False
    found = non_analytic_node(expr)
    if found is not None:
        name, node = found
        raise ComplexStepError(
            f"the complex step needs f analytic near the real axis, and {expr} contains "
            f"{name} ({node}), which is not: NumPy extends it to complex numbers in a way "
            "(np.abs(z) is the modulus) that makes Im f(x + ih) / h differ from f'(x). "
            "Use scheme='central' for such functions."
        )
    return True


def needs_probe(f: Any, check: str) -> bool:
    """Whether the complex step must probe f under ``check`` (one of ANALYTIC_CHECKS).

    Raises ``ComplexStepError`` where f's expression is not analytic, and under
    "expression" where f has no expression to check.
    """
    if check == "off" or expression_is_analytic(f):
        return False
    if check == "expression":
        raise ComplexStepError(
            "analytic_check='expression' checks f's expression, and f has none (a plain "
            "callable): pass a Function or a string, analytic_check='auto' to probe f "
            "with real differences, or analytic_check='off' if f is known to be analytic"
        )
    return True


def complex_step(
    phi: LineFunction, x: np.ndarray, h: Any, dtype: Any, scale: np.ndarray, *, probe: bool
) -> ComplexEstimate:
    """Im f(x + ih) / h at points x (h "auto": RELATIVE_STEP times ``scale``), checked.

    Always checks that x is in f's real domain (``real_domain``); with ``probe``, also
    that f is analytic (``cauchy_riemann``).
    """
    if isinstance(h, str):
        # Below TINY_SCALE, h f' would leave the normal range and lose its digits.
        steps = np.maximum(scale, TINY_SCALE) * RELATIVE_STEP
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
    value = values.imag / per_point(steps, values)
    eps = machine_epsilon(dtype)
    # No subtraction happens, so only f's own rounding remains: a few ulps of f'
    # and of f / scale (the size of the terms f's evaluation combines), per operation.
    # Im f(x + ih) is about h f', and below the normal range it keeps fewer digits.
    tiny = float(np.finfo(cdtype).smallest_subnormal) / per_point(steps, values)
    size = np.abs(values.real) / per_point(scale, values)
    error = COMPLEX_ROUNDING * (eps * (np.abs(value) + size) + tiny)
    status = np.full(x.shape, "ok", dtype=object)
    if looks_real(values, eps):
        check_nfev, failed, message = np.zeros(x.shape, dtype=int), None, ""
    else:
        check_nfev, failed, message = real_domain(phi, x, values, eps)
    if probe:
        check_nfev += cauchy_riemann(phi, x, value, error, steps, eps, scale)
    if failed is not None:
        status[failed] = "nonfinite"
        value[failed], error[failed] = np.nan, np.nan
    big = np.abs(values.real).reshape(x.size, -1).max(axis=1)
    return ComplexEstimate(value, error, steps, 1 + check_nfev, status, big, check_nfev, message)


def complex_second(
    phi: LineFunction, x: np.ndarray, h: Any, dtype: Any, length: np.ndarray
) -> Estimate:
    """f''(x) as Im(f(x + h w) + f(x - h w)) / h^2 with w = exp(i pi / 4), 2 evaluations.

    With w^2 = i, the Taylor terms of the two values add up to 2 f + i h^2 f'' + ...
    whose imaginary part holds f'' h^2 with an error of -f^(6) h^6 / 180: no real
    difference is taken, so rounding is eps |f| / h^2 where real central differences
    have eps |f| / h^2 on a step far shorter (their error is h^2, this one h^4). The
    automatic step balances the two on f's length L: h = (720 eps)^(1/6) L.
    """
    eps = machine_epsilon(dtype)
    if isinstance(h, str):
        steps = (720.0 * eps) ** (1.0 / 6.0) * length
    else:
        steps = np.broadcast_to(np.asarray(h, dtype=float), x.shape).astype(float)
    cdtype = np.result_type(dtype, np.complex64)
    # h w = a (1 + i) with a = h / sqrt(2) made exact (x + a - x == a): a rounded real
    # part would shift the two points unequally, an error of spacing(x) / a.
    a = exact_step(x.astype(float), steps / np.sqrt(2.0))
    steps = a * np.sqrt(2.0)
    shift = (a + 1j * a).astype(cdtype)
    z = np.concatenate([x.astype(cdtype) + shift, x.astype(cdtype) - shift])
    values = np.asarray(phi(z))
    if not np.iscomplexobj(values):
        raise ComplexStepError(
            "the complex step needs f to return complex values for complex input, but f "
            f"returned {values.dtype}. Use scheme='central' for such functions."
        )
    k = x.size
    plus, minus = values[:k], values[k:]
    scale2 = per_point(2.0 * a**2, plus)
    value = (plus.imag + minus.imag) / scale2
    big = np.maximum(np.abs(plus), np.abs(minus)).reshape(k, -1).max(axis=1)
    error = COMPLEX_ROUNDING * eps * big / steps**2 + big * steps**4 / (180.0 * length**6)
    status = np.full(x.shape, "ok", dtype=object)
    broken = ~finite_rows(value)
    status[broken] = "nonfinite"
    return Estimate(value, error, steps, np.full(x.shape, 2), status, big)


def looks_real(values: np.ndarray, eps: float) -> bool:
    """Whether every f(x + ih) is finite with |Im| <= eps |Re|: f real at each x, no
    need to look closer (``real_domain``). A single value is tested in Python floats:
    NumPy's per-call cost on one-element arrays would double the complex step's time.
    """
    if values.size == 1:
        v = complex(values.reshape(-1)[0])
        return math.isfinite(v.real) and math.isfinite(v.imag) and abs(v.imag) <= eps * abs(v.real)
    return bool(
        np.isfinite(values).all() and (np.abs(values.imag) <= eps * np.abs(values.real)).all()
    )


def real_domain(
    phi: LineFunction, x: np.ndarray, values: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray, str]:
    """The points where f(x + ih) or the real f(x) is not finite.

    f(x + ih) = f(x) + i h f'(x) + O(h^2) where f is real at x; outside f's real
    domain its imaginary part is that of the complex extension, of the order of f
    (log: pi). So f is evaluated at the real x only where |Im f(x + ih)| exceeds
    eps |Re f(x + ih)| (outside the domain, near a root of f, or where h |f'| shows in
    f's last digits). Returns the evaluations this cost per point, the points that
    failed, and a message naming the first of them (empty if none did).
    """
    nfev = np.zeros(x.shape, dtype=int)
    shaped = values.reshape(x.size, -1)
    broken = ~finite_rows(shaped)
    failed = broken.copy()
    suspect = ~broken & (np.abs(shaped.imag) > eps * np.abs(shaped.real)).any(axis=1)
    messages = []
    if suspect.any():
        idx = np.flatnonzero(suspect)
        with np.errstate(all="ignore"):
            real = np.asarray(phi(x[idx])).reshape(idx.size, -1)
        nfev[idx] += 1
        outside = ~finite_rows(real)
        failed[idx[outside]] = True
        if outside.any():
            first = int(np.flatnonzero(outside)[0])
            fx = real[first].tolist()
            messages.append(
                f"x = {float(x[idx[first]])!r} is outside f's real domain: f(x) is "
                f"{fx[0] if len(fx) == 1 else fx} ({int(outside.sum())} of {x.size} "
                "points), and Im f(x + ih) / h is no derivative there"
            )
    if broken.any():
        i = int(np.flatnonzero(broken)[0])
        messages.append(
            f"f(x + ih) is not finite at x = {float(x[i])!r} ({int(broken.sum())} of "
            f"{x.size} points)"
        )
    return nfev, failed, "; ".join(messages)


def cauchy_riemann(
    phi: LineFunction,
    x: np.ndarray,
    value: np.ndarray,
    error: np.ndarray,
    step: np.ndarray,
    eps: float,
    scale: np.ndarray,
) -> np.ndarray:
    """Refuse points where the complex step is not f'; returns the evaluations it cost.

    With f = u + iv, the complex step measures dv/dy and f' is du/dx; the two agree
    where f is analytic (Cauchy-Riemann), and NumPy's complex abs, sign, ... break
    that (x * abs(x): the complex step gives |x|, f' is 2|x|). So du/dx is measured
    too, by central differences D at PROBE_LEVELS steps h r^i (h the central
    optimum on ``scale``, r = PROBE_RATIO; one call of f, 2 PROBE_LEVELS real
    points per x), and a point is refused where |dv/dy - D(h)| exceeds TRUST times
    the error estimates plus AGREE relative. D's truncation error is about
    c = |D(rh) - D(h)| / (r^2 - 1) (plus rounding), and the complex step's, at its
    step s, c s^2 / h^2 (D(h) = f' + f^(3) h^2 / 6, Im f(x + is) / s = f' - f^(3)
    s^2 / 6): a step the user gave need not be negligible. The probe judges only at
    steps s no longer than its own, and where it can: D must be finite and in its
    asymptotic range (Lyness' test, as in ``richardson.Tableau``), and the complex
    step's |f'| h must not exceed the largest |f| the probe saw; elsewhere (f varies
    below h, a kink or a domain edge within reach, f constant to rounding) the point
    passes unchecked, so an analytic f is not refused for being hard to difference.

    Residual risk: a non-analytic f whose NumPy complex extension happens to give
    f' (np.maximum orders complex numbers by real part first, so maximum(x, 0) * x
    comes out right away from 0) is passed, rightly; a kink within reach of the
    probe, or a departure from analyticity below AGREE, goes through unnoticed; an
    analytic f that loses most of its digits to cancellation (cos(x) - 1 at 1e-6)
    can be refused (6 of 1700 points in a sweep).
    """
    rule = stencil("central", 1)
    r, p, levels = PROBE_RATIO, rule.accuracy, PROBE_LEVELS
    optimum = optimal_step(rule, x.dtype, scale=scale)
    h = exact_step(x.astype(float), np.asarray(optimum, dtype=float))
    steps = h[None, :] * (r ** np.arange(levels - 1, -1, -1.0))[:, None]  # largest first
    with np.errstate(all="ignore"):
        central, size = difference_quotient(phi, x, steps, rule)
    k = x.size
    d = central.reshape(levels, k, -1)
    noise = eps * rule.abs_weight_sum * size.reshape(levels, k, -1) / steps[:, :, None]
    noise = noise + eps * np.abs(d)
    change = d[:-1] - d[1:]  # D(r h_i) - D(h_i), largest steps first
    lost = np.abs(change) <= NOISE * (noise[:-1] + noise[1:])
    with np.errstate(all="ignore"):
        ratio = change[:-1] / change[1:]
    # Lyness, as in Richardson but stricter (r^p / 2 .. 2 r^(p+2)): a wrong refusal
    # costs more than a missed check.
    shrinking = (ratio >= r**p / 2) & (ratio <= 2 * r ** (p + 2))
    asymptotic = (lost[:-1] | lost[1:] | shrinking).all(axis=(0, 2))
    du, dv = d[-1], value.reshape(k, -1)
    truncation = np.abs(change[-1]) / (r**p - 1)
    estimate = truncation + NOISE * noise[-1]
    ours = error.reshape(k, -1) + truncation * (step / h)[:, None] ** p
    allowed = TRUST * (estimate + ours)
    allowed = allowed + AGREE * np.maximum(np.abs(du), np.abs(dv))
    # A difference at step h sees no derivative above max|f| / h: where the complex
    # step claims more, f varies below the probe's steps and the probe cannot judge.
    sizes = size.reshape(levels, k, -1)
    seen = sizes.max(axis=(0, 2))
    resolved = np.abs(dv).max(axis=1) * h <= seen
    # f the same at every probe point (cos(x) - 1 near 0, rounded to one value):
    # the probe saw nothing to compare with.
    flat = (d == 0).all(axis=(0, 2)) & (sizes == sizes[:1]).all(axis=(0, 2))
    resolved &= ~flat
    finite = np.isfinite(d).all(axis=(0, 2))
    judged = finite & asymptotic & resolved & (step <= steps[0])
    wrong = judged & (np.abs(dv - du) > allowed).any(axis=1)
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise ComplexStepError(
            f"the complex step needs f analytic near the real axis, and f is not at "
            f"x = {float(x[i])!r}: Im f(x + ih) / h gives {dv[i].tolist()}, real "
            f"differences give {du[i].tolist()} +- {float(estimate[i].max()):.2g}. "
            "NumPy's abs, sign, maximum, ... of a complex number are not the analytic "
            "continuation of the real ones (np.abs(z) is the modulus). "
            "Use scheme='central' for such functions (or, if f is analytic but loses "
            "its digits to cancellation there, pass it as an expression, or "
            "analytic_check='off')."
        )
    return np.full(x.shape, levels * rule.evaluations)
