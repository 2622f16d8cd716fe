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
expression. Ground truth has limits of its own besides (``TRUTH_TIME_LIMIT``,
``TRUTH_MEMORY_LIMIT``): an exact derivative can grow without bound (x**x**x**x**x
at 10 asked for 8.8 GB), and a point whose truth overruns them is ``no-truth``,
with a message that says which limit stopped it. When a traced function's ground truth overruns its limit or kills its
worker, its other points are not tried again in the same run (``gave_up``).
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from . import truth
from .function import Function
from .symbolic import TracerError, UnevaluatedDerivativeError
from .symbolic.source import expressions_of

__all__ = [
    "TRUTH_MEMORY_LIMIT",
    "TRUTH_SOURCES",
    "TRUTH_TIME_LIMIT",
    "Exact",
    "Truth",
    "exact_function",
    "forget_gave_up",
    "gave_up",
    "memory_cap",
    "shortened",
    "truth_at",
]

# Seconds and bytes one point's ground truth (trace, exact derivative, its evaluation
# at 50 digits) may take, whatever the sweep's own limits: the catalog's slowest
# takes ~2 s and ~100 MB.
TRUTH_TIME_LIMIT = 60.0
TRUTH_MEMORY_LIMIT = 4 * 2**30

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
    stopped: bool = False  # a limit stopped it (time, memory, a dead worker), not the maths


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


def _over_memory(what: str) -> str:
    return (
        f"no exact derivative: {what} needed more memory than ground truth may take "
        "(truth_memory_limit; diffkit --truth-memory-limit)"
    )


@contextlib.contextmanager
def memory_cap(extra_bytes: int | None) -> Iterator[None]:
    """Cap this process's address space at its size now plus ``extra_bytes`` while the
    block runs; past it, allocations raise MemoryError. The soft limit only, restored
    afterwards, so an in-process sweep goes on at full size (Linux; elsewhere no cap)."""
    try:
        import resource

        with open(f"/proc/{os.getpid()}/statm") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError):
        size = None
    if extra_bytes is None or size is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = size + int(extra_bytes)
    for bound in (soft, hard):
        if bound != resource.RLIM_INFINITY:
            cap = min(cap, bound)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _traced(f: Function) -> Exact:
    shape = () if f.ndim == 1 else (f.ndim,)
    try:
        with np.errstate(all="ignore"):
            outputs, variables = expressions_of(f, shape)
    except MemoryError:
        return Exact(None, "none", _over_memory(f"tracing {f.name!r}"), lasting=False)
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
        stopped = not exact.lasting
        return Truth(np.full(width, np.nan), False, exact.source, exact.why, stopped)
    why = ""
    try:
        if g.ndim == 1:
            values = np.atleast_1d(truth.derivative(g, point, n)).astype(float)
        else:
            values = np.asarray(truth.gradient(g, point), dtype=float).reshape(-1)
    except MemoryError:
        return Truth(np.full(width, np.nan), False, exact.source, _over_memory("it"), True)
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
        return Truth(np.full(width, np.nan), False, "expression", why, True)
    _EXACT[f] = Exact(
        None, "none", why + "; not tried again at the function's other points", lasting=False
    )
    return Truth(np.full(width, np.nan), False, "none", why, True)


def forget_gave_up() -> None:
    """Drop the give-ups of an earlier run (its time limit may have been shorter)."""
    for f in [f for f, exact in _EXACT.items() if not exact.lasting]:
        del _EXACT[f]
