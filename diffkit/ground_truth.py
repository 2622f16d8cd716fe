"""A sweep's ground truth at one point, and where it came from: an expression, a trace, or none.

``diffkit.truth`` evaluates exact derivatives of a SymPy expression. A ``Function``
built from a string or an expression has one (source ``"expression"``); a plain
callable has none, so it is traced into one (``"traced"``): the same NumPy code run
on symbols gives the exact expression it computes. Where the tracer refuses the
function (``if x > 0``, a call outside the primitive table), or the function raises
on symbols, there is no exact truth (``"none"``), and ``Truth.why`` says why; the
rows that would read ok then read ``no-truth`` with that message, never ok with an
error of NaN.

Tracing runs inside the sweep's ground-truth tasks, where the per-task time limit
stops a runaway, and once per function per process: every point reuses the
expression. When a traced function's ground truth overruns its limit or kills its
worker, its other points are not tried again in the same run (``gave_up``).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from . import truth
from .function import Function
from .symbolic import TracerError, UnevaluatedDerivativeError
from .symbolic.source import expressions_of

__all__ = [
    "TRUTH_SOURCES",
    "Exact",
    "Truth",
    "exact_function",
    "forget_gave_up",
    "gave_up",
    "shortened",
    "truth_at",
]

TRUTH_SOURCES = ("expression", "traced", "none")

# A tracer's message lists what it supports and which backends still work: a row's
# message keeps its first sentence, at most this long.
MESSAGE_LENGTH = 200

_UNDEFINED = (sympy.S.NaN, sympy.S.ComplexInfinity, sympy.S.Infinity, sympy.S.NegativeInfinity)


@dataclass(frozen=True)
class Truth:
    """The exact derivative per component at one point (NaN where there is none), and its origin.

    ``why`` is the message of the rows that would read ok where a value is NaN.
    """

    values: np.ndarray
    kink: bool = False
    source: str = "none"
    why: str = ""


@dataclass(frozen=True)
class Exact:
    """A function with an expression for the ground truth (None: there is none, and ``why``)."""

    function: Function | None
    source: str
    why: str = ""
    lasting: bool = True  # False: a give-up, for this run only (see gave_up)


# Per process, keyed by the Function object (identity: a sweep's tasks share their
# functions, in forked workers and in Dask's batches alike).
_EXACT: weakref.WeakKeyDictionary[Function, Exact] = weakref.WeakKeyDictionary()


def shortened(exc: BaseException | str, limit: int = MESSAGE_LENGTH) -> str:
    """An exception's message cut to its first sentence (and ``limit`` characters)."""
    text = " ".join(str(exc).split())
    for end in (". ", "; "):
        cut = text.find(end)
        if cut > 0:
            text = text[:cut]
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _traced(f: Function) -> Exact:
    shape = () if f.ndim == 1 else (f.ndim,)
    try:
        with np.errstate(all="ignore"):
            outputs, variables = expressions_of(f, shape)
    except (TracerError, UnevaluatedDerivativeError) as exc:
        return Exact(
            None, "none", f"no exact derivative: the tracer refused {f.name!r}: {shortened(exc)}"
        )
    except Exception as exc:  # f's own error on symbols, or NumPy's
        return Exact(
            None,
            "none",
            f"no exact derivative: {f.name!r} raised {type(exc).__name__} while being traced: "
            f"{shortened(exc)}",
        )
    if outputs.size != 1:
        return Exact(
            None,
            "none",
            f"no exact derivative: {f.name!r} returns {outputs.size} values (shape "
            f"{outputs.shape}) where a sweep needs one",
        )
    expr = outputs.reshape(-1)[0]
    if expr.has(*_UNDEFINED):
        return Exact(
            None,
            "none",
            f"no exact derivative: {f.name!r} traces to {shortened(str(expr))}, not a finite expression",
        )
    return Exact(Function.from_expr(expr, variables, name=f.name), "traced")


def exact_function(f: Function) -> Exact:
    """``f`` itself when it has an expression, else its traced expression (once per process)."""
    if f.expr is not None:
        return Exact(f, "expression")
    found = _EXACT.get(f)
    if found is None:
        found = _EXACT[f] = _traced(f)
    return found


def truth_at(f: Function, point: Any, n: int) -> Truth:
    """The exact derivative (gradient for several variables) of ``f`` at ``point``, and the kink flag."""
    width = 1 if f.ndim == 1 else f.ndim
    exact = exact_function(f)
    g = exact.function
    if g is None:
        return Truth(np.full(width, np.nan), False, exact.source, exact.why)
    why = ""
    try:
        if g.ndim == 1:
            values = np.atleast_1d(truth.derivative(g, point, n)).astype(float)
        else:
            values = np.asarray(truth.gradient(g, point), dtype=float).reshape(-1)
    except Exception as exc:  # an expression mpmath cannot evaluate
        values = np.full(width, np.nan)
        why = f"no exact derivative: evaluating it failed ({type(exc).__name__}: {shortened(exc)})"
    else:
        if np.any(np.isnan(values)):
            why = "no exact derivative here: it is not a real number at this point"
    try:
        kink = bool(truth.on_kink(g, point))
    except Exception:  # no verdict: the point counts as smooth
        kink = False
    return Truth(values, kink, exact.source, why)


def gave_up(f: Function, status: str, message: str) -> Truth:
    """The truth of a point whose ground-truth task overran its limit or lost its worker.

    A traced function is then not tried again at its other points in this run: a
    runaway trace or expression would only repeat. In-process, and in every worker
    process started after this call (a replacement worker is forked from the caller),
    ``exact_function`` returns this give-up; ``forget_gave_up`` ends it.
    """
    width = 1 if f.ndim == 1 else f.ndim
    why = f"no exact derivative: computing it stopped ({status}: {message})"
    if f.expr is not None:
        return Truth(np.full(width, np.nan), False, "expression", why)
    _EXACT[f] = Exact(
        None, "none", why + "; not tried again at the function's other points", lasting=False
    )
    return Truth(np.full(width, np.nan), False, "none", why)


def forget_gave_up() -> None:
    """Drop the give-ups of an earlier run (its time limit may have been shorter)."""
    for f in [f for f, exact in _EXACT.items() if not exact.lasting]:
        del _EXACT[f]
