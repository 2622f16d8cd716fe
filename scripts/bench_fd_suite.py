"""Benchmark finite differences across scales, orders and Hessians against the exact truth.

Prints plain-text tables, never asserts: accuracy, the honesty of the error estimates,
evaluations and time of

- diffkit ``FiniteDifference()`` (central, h="auto"), ``FiniteDifference(richardson=True)``,
  ``FiniteDifference(scheme="complex")`` (n = 1, 2) and ``scheme="contour"`` (any n),
  each through ``.estimate(f, x, n)``; Hessians through ``.estimate_hessian(f, x)``, or
  the plain ``.hessian(f, x)`` where there is none; gradients through ``.gradient``;
- numdifftools with defaults (``nd.Derivative(f, n=n)(x)``, its error estimate from a
  second instance with ``full_output=True``; ``nd.Hessian``, ``nd.Gradient``);
- ``scipy.differentiate`` with defaults (``derivative`` for n = 1, ``hessian``,
  ``jacobian``; f is applied per column, as scipy evaluates batches of points);

on every case of ``fd_cases.py`` (exact truth from SymPy at 50 digits). A method or an
option diffkit does not have (yet) is "n/a" in the tables; a call that raises is a row
with status "error: ..."; a peer that is not installed is named in the header.

Measurement method
------------------
- Relative error ``|estimate - truth| / |truth|`` (the absolute error where the truth
  is 0); for Hessians and gradients ``max |H - T| / max |T|``. A non-finite estimate
  has error inf.
- Accuracy tables leave out the ill-conditioned cases of ``fd_cases`` (the truth is
  not in f's float64 values: cos' at 2.2e-14); they are listed apart, and the
  estimate checks below include them.
- Estimate checks (diffkit): over the results whose status claims accuracy ("ok",
  "reduced-step", "one-sided"), per entry: actual error above 100 times the
  estimate, and relative error above 1e-3; over all results, an estimate below half
  the actual error.
- nfev: points at which f was evaluated, counted by a wrapper (a call with an array
  of m points of dimension d adds m = size / d); one call per case and method.
- Time per call: as ``bench_fd.py`` (``time_per_call``): the differentiator built
  once per case, the call repeated N times per repeat with gc off, N doubled until
  a repeat takes >= 20 ms, the median of 7 repeats (``--quick``: 3 of >= 5 ms).
  Cost per scalar derivative against numdifftools is the median over cases of the
  per-case ratio, measured in the same run.

Run from the repository root:
``PYTHONPATH=. python scripts/bench_fd_suite.py [--quick] [--csv PATH]``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import functools
import hashlib
import inspect
import math
import os
import pathlib
import platform
import statistics
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from bench_fd import fmt, table, time_per_call
from fd_cases import ILL_FLOOR, SCALES, Case, all_cases

import diffkit as dk

try:
    import numdifftools as nd
except ImportError:  # an optional peer
    nd = None

try:
    import scipy
    import scipy.differentiate as sd
except ImportError:  # an optional peer (scipy.differentiate needs scipy >= 1.15)
    scipy = sd = None

TOL8, TOL10 = 1e-8, 1e-10
HIGH_TOL = 1e-5  # orders 7..10 by the contour method
# A result that claims accuracy may be off by at most HONEST_FACTOR times its estimate.
HONEST_FACTOR = 100.0
OK_REL_LIMIT = 1e-3
UNDER_FACTOR = 2.0
HESSIAN_SHARE = 20 / 21
GRADIENT_NFEV = 8
COST_RATIO = 0.2
OK_LIKE = ("ok", "reduced-step", "one-sided")  # statuses that claim an accurate value
TIMED = ("dk-default", "dk-richardson", "dk-contour", "numdifftools")
ORDERS = range(1, 11)

Fn = Callable[[Any], Any]


# ---------------------------------------------------------------------------- methods


@dataclass(frozen=True)
class Outcome:
    """What one method says about one case: arrays shaped like the truth."""

    value: np.ndarray
    error: np.ndarray
    status: np.ndarray
    reported_nfev: float = math.nan
    via: str = ""


@dataclass(frozen=True)
class Method:
    """``run(f, case)`` the counted call (f counts evaluations; ``case.f`` is bare),
    ``timed(f, case)`` the call ``x -> result`` that is timed; ``run`` None: n/a."""

    key: str
    kind: str
    description: str
    run: Callable[[Fn, Case], Outcome] | None
    applies: Callable[[Case], bool] = lambda case: True
    timed: Callable[[Fn, Case], Callable[[Any], Any]] | None = None
    diffkit: bool = False
    missing: str = ""


def _outcome(result: Any, shape: tuple[int, ...], via: str = "") -> Outcome:
    """An FDResult-like object as arrays; fields it lacks become nan / "-"."""
    value = np.asarray(getattr(result, "value", result), dtype=float)
    error = np.asarray(getattr(result, "error", math.nan), dtype=float)
    status = np.asarray(getattr(result, "status", "-")).astype(str)
    nfev = getattr(result, "nfev", None)
    return Outcome(
        value.reshape(shape),
        np.broadcast_to(error, shape),
        np.broadcast_to(status, shape),
        float(np.max(nfev)) if nfev is not None else math.nan,
        via,
    )


def _make_fd(**options: Any) -> tuple[Any, str]:
    try:
        return dk.FiniteDifference(**options), ""
    except Exception as exc:  # an option diffkit does not have yet
        return None, f"n/a: {type(exc).__name__}: {exc}"


def _diffkit_methods(key: str, description: str, orders: Sequence[int] | None, **options: Any):
    """The derivative, Hessian and gradient adapters of one FiniteDifference configuration."""
    fd, missing = _make_fd(**options)

    def derivative(f: Fn, case: Case) -> Outcome:
        return _outcome(fd.estimate(f, case.x, case.n), ())

    def timed(f: Fn, case: Case) -> Callable[[Any], Any]:
        return lambda x: fd.estimate(f, x, case.n)

    def hessian(f: Fn, case: Case) -> Outcome:
        shape = (len(case.x),) * 2
        if hasattr(fd, "estimate_hessian"):
            return _outcome(fd.estimate_hessian(f, np.array(case.x)), shape, "estimate_hessian")
        return _outcome(fd.hessian(f, np.array(case.x)), shape, "hessian")

    def gradient(f: Fn, case: Case) -> Outcome:
        return _outcome(fd.gradient(f, np.array(case.x)), (len(case.x),), "gradient")

    def applies(case: Case) -> bool:
        return orders is None or case.n in orders

    common = {"diffkit": True, "missing": missing}
    return [
        Method(
            key, "derivative", description, derivative if fd else None, applies, timed, **common
        ),
        Method(key, "hessian", description, hessian if fd else None, **common),
        Method(key, "gradient", description, gradient if fd else None, **common),
    ]


def on_columns(f: Fn, k: int) -> Fn:
    """f of one point (k,) applied to scipy's batches: x of shape (k, ...) -> shape (...)."""

    def batched(x: Any) -> Any:
        x = np.asarray(x)
        flat = x.reshape(k, -1)
        out = np.array([f(flat[:, j]) for j in range(flat.shape[1])], dtype=float)
        return out.reshape(x.shape[1:])

    return batched


def _numdifftools_methods() -> list[Method]:
    def derivative(f: Fn, case: Case) -> Outcome:
        value = nd.Derivative(f, n=case.n)(case.x)
        full = nd.Derivative(case.f, n=case.n, full_output=True)(case.x)
        return Outcome(
            np.asarray(value, float), np.asarray(full.error_estimate, float), np.asarray("-")
        )

    def timed(f: Fn, case: Case) -> Callable[[Any], Any]:
        return nd.Derivative(f, n=case.n)

    def hessian(f: Fn, case: Case) -> Outcome:
        x = np.array(case.x)
        value = nd.Hessian(f)(x)
        full = nd.Hessian(case.f, full_output=True)(x)
        return Outcome(
            np.asarray(value, float),
            np.asarray(full.error_estimate, float),
            np.full(value.shape, "-"),
        )

    def gradient(f: Fn, case: Case) -> Outcome:
        value = np.asarray(nd.Gradient(f)(np.array(case.x)), float)
        return Outcome(value, np.full(value.shape, math.nan), np.full(value.shape, "-"))

    desc = "numdifftools defaults (Derivative(f, n=n), Hessian, Gradient)"
    return [
        Method("numdifftools", "derivative", desc, derivative, timed=timed),
        Method("numdifftools", "hessian", desc, hessian),
        Method("numdifftools", "gradient", desc, gradient),
    ]


def _scipy_outcome(r: Any, value: np.ndarray) -> Outcome:
    status = np.vectorize(lambda s: f"scipy {int(s)}", otypes=[str])(np.asarray(r.status))
    return Outcome(np.asarray(value, float), np.asarray(r.error, float), status, np.max(r.nfev))


def _scipy_methods() -> list[Method]:
    def derivative(f: Fn, case: Case) -> Outcome:
        r = sd.derivative(f, case.x)
        return _scipy_outcome(r, r.df)

    def timed(f: Fn, case: Case) -> Callable[[Any], Any]:
        return lambda x: sd.derivative(f, x)

    def hessian(f: Fn, case: Case) -> Outcome:
        r = sd.hessian(on_columns(f, len(case.x)), np.array(case.x))
        return _scipy_outcome(r, r.ddf)

    def gradient(f: Fn, case: Case) -> Outcome:
        r = sd.jacobian(on_columns(f, len(case.x)), np.array(case.x))
        return _scipy_outcome(r, r.df)

    desc = "scipy.differentiate defaults (derivative for n = 1, hessian, jacobian)"
    return [
        Method("scipy", "derivative", desc, derivative, lambda c: c.n == 1, timed),
        Method("scipy", "hessian", desc, hessian),
        Method("scipy", "gradient", desc, gradient),
    ]


def build_methods() -> tuple[list[Method], list[str]]:
    """Every adapter, and a note for each peer or diffkit option that is missing."""
    methods = [
        *_diffkit_methods("dk-default", "FiniteDifference()", None),
        *_diffkit_methods(
            "dk-richardson", "FiniteDifference(richardson=True)", None, richardson=True
        ),
        *_diffkit_methods(
            "dk-complex", "FiniteDifference(scheme='complex')", (1, 2), scheme="complex"
        ),
        *_diffkit_methods(
            "dk-contour", "FiniteDifference(scheme='contour')", None, scheme="contour"
        ),
    ]
    off = _diffkit_methods(
        "dk-complex-off",
        "scheme='complex', analytic_check='off' (gradients)",
        None,
        scheme="complex",
        analytic_check="off",
    )
    # contour is a derivative scheme only; the unchecked complex step is for gradient cost
    methods = [m for m in methods if m.key != "dk-contour" or m.kind == "derivative"]
    methods += [m for m in off if m.kind == "gradient"]
    notes = sorted({f"{m.key}: {m.missing}" for m in methods if m.run is None})
    if nd is not None:
        methods += _numdifftools_methods()
    else:
        notes.append("numdifftools not installed: skipped")
    if sd is not None:
        methods += _scipy_methods()
    else:
        notes.append("scipy.differentiate not installed (needs scipy >= 1.15): skipped")
    return methods, notes


# ---------------------------------------------------------------------------- measuring


class CountingFunction:
    """f, counting the points it is evaluated at: an array of m points of dimension d adds m."""

    def __init__(self, f: Fn, dim: int = 1) -> None:
        self.f = f
        self.dim = dim
        self.points = 0

    def __call__(self, x: Any) -> Any:
        self.points += max(1, int(np.size(x)) // self.dim)
        return self.f(x)


@dataclass
class Row:
    """One method on one case."""

    case: Case
    method: str
    diffkit: bool
    value: np.ndarray
    error: np.ndarray
    status: np.ndarray
    nfev: int
    reported_nfev: float
    note: str = ""  # "n/a: ..." or "error: ..."; empty when the method ran
    via: str = ""
    seconds: float = math.nan

    @property
    def ran(self) -> bool:
        return not self.note

    @functools.cached_property
    def act(self) -> np.ndarray:
        """Actual absolute error per entry (inf where the estimate is not finite)."""
        with np.errstate(all="ignore"):
            err = np.abs(self.value - np.asarray(self.case.truth, dtype=float))
        return np.where(np.isfinite(err), err, np.inf)

    @functools.cached_property
    def size(self) -> float:
        """What errors are relative to: |truth|, or max |T| of a matrix (1 where it is 0)."""
        t = float(np.max(np.abs(self.case.truth)))
        return t if t > 0 else 1.0

    @property
    def rel(self) -> float:
        return float(np.max(self.act)) / self.size if self.ran else math.inf

    @property
    def accurate_claims(self) -> np.ndarray:
        return np.isin(self.status, OK_LIKE)

    @property
    def ok_over_estimate(self) -> bool:
        """Claims accuracy, yet the actual error exceeds HONEST_FACTOR times the estimate."""
        with np.errstate(invalid="ignore"):
            bad = (self.act > 0) & ~(self.act <= HONEST_FACTOR * self.error)
        return bool(np.any(self.accurate_claims & bad))

    @property
    def ok_far(self) -> bool:
        """Claims accuracy with a relative error above OK_REL_LIMIT."""
        return bool(np.any(self.accurate_claims & ~(self.act / self.size <= OK_REL_LIMIT)))

    @property
    def under(self) -> bool:
        """The estimate is below the actual error by more than UNDER_FACTOR (a missing one is not)."""
        with np.errstate(invalid="ignore"):
            return bool(np.any(UNDER_FACTOR * self.error < self.act))

    def worst_entry(self) -> tuple[float, float]:
        """(actual error, estimate) of the entry whose actual error most exceeds its estimate."""
        with np.errstate(all="ignore"):
            ratio = np.where(self.act > 0, self.act / self.error, 0.0)
        i = int(np.argmax(np.where(np.isnan(ratio), np.inf, ratio)))
        return float(self.act.flat[i]), float(self.error.flat[i])

    @property
    def status_text(self) -> str:
        if not self.ran:
            return self.note
        return "|".join(sorted(set(np.asarray(self.status).reshape(-1).tolist())))


def run_one(m: Method, case: Case) -> Row:
    """m on case, counted; n/a or an exception becomes a row that says so."""
    shape = np.shape(case.truth)
    nan = np.full(shape, math.nan)
    counter = CountingFunction(case.f, 1 if case.kind == "derivative" else len(case.x))
    out, note = Outcome(nan, nan, np.full(shape, "-")), m.missing
    if m.run is not None:
        try:
            out = m.run(counter, case)
        except Exception as exc:  # a benchmark reports failures, it does not stop at them
            note = f"error: {type(exc).__name__}: {exc}".replace("\n", " ")[:90]
    return Row(
        case,
        m.key,
        m.diffkit,
        np.broadcast_to(np.asarray(out.value, dtype=float), shape),
        np.broadcast_to(np.asarray(out.error, dtype=float), shape),
        np.broadcast_to(np.asarray(out.status).astype(str), shape),
        counter.points,
        float(out.reported_nfev),
        note,
        out.via,
    )


def measure(methods: Sequence[Method], cases: Sequence[Case]) -> list[Row]:
    return [
        run_one(m, case)
        for case in cases
        for m in methods
        if m.kind == case.kind and m.applies(case)
    ]


def time_rows(rows: Sequence[Row], methods: Sequence[Method], repeats: int, min_repeat: float):
    """Time the TIMED methods on every derivative case where they ran."""
    by_key = {(m.key, m.kind): m for m in methods}
    for r in rows:
        m = by_key[(r.method, r.case.kind)]
        if r.method not in TIMED or not r.ran or m.timed is None:
            continue
        call = m.timed(r.case.f, r.case)
        try:
            r.seconds, _ = time_per_call(
                functools.partial(call, r.case.x), repeats=repeats, min_repeat=min_repeat
            )
        except Exception:  # it ran once; a failure while timing leaves the time out
            r.seconds = math.nan


# ---------------------------------------------------------------------------- summaries


def where(
    kind: str = "derivative",
    *,
    orders: Sequence[int] | None = None,
    category: str | None = None,
    scale: float | None = None,
    well: bool = False,
    analytic: bool = False,
) -> Callable[[Case], bool]:
    """A case filter: of this kind, order, category, scale; ``well`` drops ill-conditioned ones."""

    def pred(c: Case) -> bool:
        return (
            c.kind == kind
            and (orders is None or c.n in orders)
            and (category is None or c.category == category)
            and (scale is None or c.scale == scale)
            and not (well and c.ill_conditioned)
            and (c.analytic or not analytic)
        )

    return pred


def select(rows: Sequence[Row], method: str, pred: Callable[[Case], bool]) -> list[Row]:
    return [r for r in rows if r.method == method and pred(r.case)]


def count_within(rows: Sequence[Row], tol: float) -> int:
    return sum(r.rel <= tol for r in rows)


def frac(rows: Sequence[Row], tol: float) -> str:
    if not any(r.ran for r in rows):
        return "n/a"
    return f"{count_within(rows, tol)}/{len(rows)}"


def median(values: Sequence[float]) -> float:
    values = [v for v in values if not math.isnan(v)]
    return statistics.median(values) if values else math.nan


def method_keys(methods: Sequence[Method], kind: str) -> list[str]:
    return list(dict.fromkeys(m.key for m in methods if m.kind == kind))


def accuracy_cells(mine: Sequence[Row]) -> list[str]:
    """Within 1e-8, 1e-10, median and worst relative error, median nfev; n/a if none ran."""
    ran = [r for r in mine if r.ran]
    if not ran:
        return ["n/a"] * 6
    return [
        frac(mine, TOL8),
        frac(mine, TOL10),
        fmt(median([r.rel for r in ran])),
        fmt(max(r.rel for r in ran)),
        fmt(median([float(r.nfev) for r in ran]), "g"),
        str(len(mine) - len(ran)),
    ]


def accuracy_table(rows: Sequence[Row], keys: Sequence[str]) -> str:
    body = []
    for n in ORDERS:
        for key in keys:
            mine = select(rows, key, where(orders=(n,), well=True))
            if mine:
                ran = [r for r in mine if r.ran]
                claims = sum(bool(np.all(r.accurate_claims)) for r in ran)
                not_ok = str(len(ran) - claims) if ran and mine[0].diffkit else "-"
                body.append([str(n), key, str(len(mine)), *accuracy_cells(mine), not_ok])
    headers = "n|method|cases|<=1e-8|<=1e-10|median rel|worst rel|med nfev|err/na|not ok"
    return table(headers.split("|"), body, "rlrrrrrrrr")


GROUPS = (
    ("n=1", where(orders=(1,))),
    ("n=2..6", where(orders=range(2, 7))),
    ("n=7..10", where(orders=range(7, 11))),
    ("hessian", where("hessian")),
)


def honesty(rows: Sequence[Row]) -> dict[str, list[Row]]:
    """diffkit rows whose estimate overclaims (over), whose ok is far off (far), under by 2x."""
    ran = [r for r in rows if r.diffkit and r.ran]
    return {
        "over": [r for r in ran if r.ok_over_estimate],
        "far": [r for r in ran if r.ok_far],
        "under": [r for r in ran if r.under],
    }


def honesty_table(rows: Sequence[Row], keys: Sequence[str]) -> str:
    body = []
    for key in keys:
        for label, pred in GROUPS:
            mine = [r for r in select(rows, key, pred) if r.ran]
            if mine:
                h = honesty(mine)
                ok = sum(bool(np.all(r.accurate_claims)) for r in mine)
                counts = [len(mine), ok, len(h["over"]), len(h["far"]), len(h["under"])]
                body.append([key, label, *map(str, counts)])
    headers = (
        f"method|cases|ran|ok*|ok* act>{HONEST_FACTOR:g}x est|ok* rel>{OK_REL_LIMIT:g}"
        f"|est<act/{UNDER_FACTOR:g}"
    )
    return table(headers.split("|"), body, "llrrrrr")


def scale_table(rows: Sequence[Row], keys: Sequence[str]) -> str:
    body = []
    for s in SCALES:
        pred = where(orders=(1,), category="smooth", scale=s, well=True)
        cells = []
        for key in keys:
            mine = select(rows, key, pred)
            within = f"{count_within(mine, TOL8)}/{count_within(mine, TOL10)}"
            cells.append(within if any(r.ran for r in mine) else "n/a")
        total = len({r.case.name for r in rows if pred(r.case)})
        body.append([f"{s:g}", str(total), *cells])
    return table(["|x|", "cases", *keys], body, "rr" + "r" * len(keys))


def hessian_table(rows: Sequence[Row], keys: Sequence[str]) -> str:
    body = []
    for key in keys:
        mine = select(rows, key, where("hessian"))
        via = ",".join(sorted({r.via for r in mine if r.ran and r.via})) or "-"
        body.append([key, via, str(len(mine)), *accuracy_cells(mine)])
    headers = "method|via|cases|<=1e-8|<=1e-10|median rel|worst rel|med nfev|err/na"
    return table(headers.split("|"), body, "llrrrrrrr")


def gradient_table(rows: Sequence[Row], keys: Sequence[str]) -> str:
    names = list(dict.fromkeys(r.case.name for r in rows if r.case.kind == "gradient"))
    by = {(r.method, r.case.name): r for r in rows}
    body = []
    for key in keys:
        cells = []
        for name in names:
            r = by.get((key, name))
            if r is None or not r.ran:
                cells.append("n/a" if r is None or r.note.startswith("n/a") else "error")
            else:
                cells.append(f"{r.nfev} ({fmt(r.rel)})")
        body.append([key, *cells])
    return table(["method", *names], body, "l" + "r" * len(names))


def cost_ratios(rows: Sequence[Row], key: str, pred: Callable[[Case], bool]) -> list[float]:
    """Per case, key's time over numdifftools' (cases where both were timed)."""
    peer = {r.case.name: r.seconds for r in rows if r.method == "numdifftools"}
    return [
        r.seconds / peer[r.case.name]
        for r in select(rows, key, pred)
        if math.isfinite(r.seconds) and math.isfinite(peer.get(r.case.name, math.nan))
    ]


def timing_table(rows: Sequence[Row]) -> str:
    body = []
    for key in TIMED:
        line = [key]
        for pred in (where(orders=(1,)), where()):
            us = [r.seconds * 1e6 for r in select(rows, key, pred) if math.isfinite(r.seconds)]
            ratios = cost_ratios(rows, key, pred) if key != "numdifftools" else []
            line.append(fmt(median(us), ".1f") if us else "n/a")
            line.append(fmt(median(ratios), ".3f") if ratios else "-")
        body.append(line)
    return table(["method", "µs n=1", "/nd n=1", "µs all n", "/nd all n"], body, "lrrrr")


def ill_table(rows: Sequence[Row], keys: Sequence[str]) -> str:
    by = {(r.method, r.case.name): r for r in rows}
    body = []
    for c in dict.fromkeys(r.case for r in rows if r.case.ill_conditioned):
        cells = []
        for key in keys:
            r = by.get((key, c.name))
            cells.append("-" if r is None else f"{fmt(r.rel)} {r.status_text}"[:40])
        body.append([c.name, fmt(c.floor), *cells])
    return table(["case", "floor", *keys], body, "lr" + "l" * len(keys))


def examples(found: Sequence[Row], limit: int = 8) -> list[str]:
    """One line per row: its relative error, and its worst entry's actual error and estimate."""
    out = []
    for r in found[:limit]:
        act, est = r.worst_entry()
        out.append(
            f"      {r.method:14s} {r.case.name:34s} rel {fmt(r.rel)}  act {fmt(act)}"
            f"  est {fmt(est)}  {r.status_text[:40]}"
        )
    if len(found) > limit:
        out.append(f"      ... and {len(found) - limit} more (--csv has them all)")
    return out


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def honesty_targets(rows: Sequence[Row]) -> list[str]:
    h = honesty(rows)
    lines = []
    for key, what in (
        ("over", f"ok* results whose actual error exceeds {HONEST_FACTOR:g}x their estimate"),
        ("far", f"ok* results with relative error above {OK_REL_LIMIT:g}"),
    ):
        found = h[key]
        per: dict[str, int] = {}
        for r in found:
            per[r.method] = per.get(r.method, 0) + 1
        detail = ", ".join(f"{k} {v}" for k, v in per.items()) or "none"
        lines.append(f"TARGET {verdict(not found)}  no {what}: {len(found)} ({detail})")
        lines += examples(found)
    return lines


def best_of(rows: Sequence[Row], keys: Sequence[str], pred: Callable[[Case], bool]) -> list[float]:
    """Per case, the smallest relative error among the methods ``keys``."""
    best = {r.case.name: math.inf for r in rows if pred(r.case)}
    for key in keys:
        for r in select(rows, key, pred):
            best[r.case.name] = min(best[r.case.name], r.rel)
    return list(best.values())


def targets_block(rows: Sequence[Row]) -> str:
    lines = []
    smooth1 = where(orders=(1,), category="smooth", well=True)
    rich, default = select(rows, "dk-richardson", smooth1), select(rows, "dk-default", smooth1)
    for s in SCALES:
        r_s = [r for r in rich if r.case.scale == s]
        d_s = [r for r in default if r.case.scale == s]
        ok = count_within(r_s, TOL10) == len(r_s) and count_within(d_s, TOL8) == len(d_s)
        lines.append(
            f"(a) {verdict(ok)}  n=1 smooth, |x|={s:g}: richardson <=1e-10 {frac(r_s, TOL10)}, "
            f"default <=1e-8 {frac(d_s, TOL8)}"
        )
    misses = [r for r in rich if not r.rel <= TOL10] + [r for r in default if not r.rel <= TOL8]
    lines += examples(misses, 6)
    edge1 = where(orders=(1,), category="edge")
    r_e, d_e = select(rows, "dk-richardson", edge1), select(rows, "dk-default", edge1)
    lines.append(
        f"(b) {verdict(count_within(r_e, TOL10) == len(r_e))}  n=1 near-singular and domain-edge "
        f"<=1e-10: richardson {frac(r_e, TOL10)} (default {frac(d_e, TOL10)})"
    )
    lines += examples([r for r in r_e if not r.rel <= TOL10], 4)
    parts, all_ok = [], True
    for n in range(2, 7):
        pred = where(orders=(n,), well=True)
        best = best_of(rows, ("dk-richardson", "dk-contour"), pred)
        ours = sum(v <= TOL8 for v in best)
        peer = count_within(select(rows, "numdifftools", pred), TOL8)
        all_ok &= ours > peer or ours == len(best)
        parts.append(f"n={n} {ours}/{len(best)} vs {peer}")
    lines.append(
        f"(c) {verdict(all_ok)}  n=2..6 <=1e-8, best of richardson/contour ahead of "
        "numdifftools: " + "; ".join(parts)
    )
    contour = select(rows, "dk-contour", where(orders=range(7, 11), well=True, analytic=True))
    ok = any(r.ran for r in contour) and count_within(contour, HIGH_TOL) == len(contour)
    lines.append(f"(d) {verdict(ok)}  n=7..10 analytic, contour <=1e-5: {frac(contour, HIGH_TOL)}")
    lines += [line.replace("TARGET ", "(e) ", 1) for line in honesty_targets(rows)]
    hess = select(rows, "dk-richardson", where("hessian"))
    good = count_within(hess, TOL8)
    med = median([float(r.nfev) for r in hess if r.ran])
    med_nd = median([float(r.nfev) for r in select(rows, "numdifftools", where("hessian"))])
    ok = bool(hess) and good >= HESSIAN_SHARE * len(hess) and med <= med_nd
    lines.append(
        f"(f) {verdict(ok)}  Hessians, richardson <=1e-8 on >= 20/21: {good}/{len(hess)}, "
        f"median nfev {fmt(med, 'g')} <= numdifftools' {fmt(med_nd, 'g')}"
    )
    lines += examples([r for r in hess if not r.rel <= TOL8], 4)
    grads = [r for r in select(rows, "dk-complex", where("gradient")) if r.ran]
    worst = max((r.nfev for r in grads), default=math.nan)
    lines.append(
        f"(g) {verdict(bool(grads) and worst <= GRADIENT_NFEV)}  complex-step gradient at n=3 "
        f"<= {GRADIENT_NFEV} evaluations: max {worst} over {len(grads)} cases"
    )
    for key in ("dk-default", "dk-richardson"):
        ratios = cost_ratios(rows, key, where())
        m = median(ratios)
        lines.append(
            f"(h) {verdict(m <= COST_RATIO)}  {key} median time per scalar derivative <= 1/5 "
            f"of numdifftools': {fmt(m, '.3f')} (median ratio over {len(ratios)} cases)"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------- output


def source_digest() -> str:
    """First 12 hex digits of the sha256 of diffkit/backends/*.py, the code measured."""
    folder = pathlib.Path(inspect.getfile(dk.FiniteDifference)).parent
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def header(args: argparse.Namespace, repeats: int, min_repeat: float, cases: Sequence[Case]):
    versions = [f"diffkit {dk.__version__}", f"numpy {np.__version__}"]
    versions.append(f"numdifftools {nd.__version__}" if nd is not None else "numdifftools -")
    versions.append(f"scipy {scipy.__version__}" if scipy is not None else "scipy -")
    counts: dict[str, int] = {}
    for c in cases:
        counts[c.category] = counts.get(c.category, 0) + 1
    census = ", ".join(f"{k} {v}" for k, v in counts.items())
    ill = sum(c.ill_conditioned for c in cases)
    quick = " (--quick)" if args.quick else ""
    return "\n".join(
        [
            "diffkit finite-difference suite (scripts/bench_fd_suite.py)",
            f"date      {datetime.date.today().isoformat()}",
            f"machine   {platform.platform()}, {os.cpu_count()} CPUs, "
            f"python {platform.python_version()}",
            f"versions  {', '.join(versions)}",
            f"source    diffkit/backends/*.py sha256 {source_digest()} (no commit to name)",
            f"cases     {len(cases)}: {census}; {ill} ill-conditioned (floor > {ILL_FLOOR:g})",
            f"timing    median of {repeats} repeats of >= {min_repeat * 1e3:g} ms, gc off{quick}",
            "truth     SymPy exact derivatives, mpmath at 50 digits (fd_cases.py)",
        ]
    )


def csv_record(r: Row) -> dict[str, Any]:
    c = r.case
    return {
        "case": c.name,
        "category": c.category,
        "kind": c.kind,
        "n": c.n,
        "x": repr(c.x),
        "method": r.method,
        "status": r.status_text,
        "rel_err": repr(r.rel),
        "max_abs_err": repr(float(np.max(r.act))),
        "max_error_estimate": repr(float(np.max(r.error))),
        "nfev": r.nfev,
        "reported_nfev": f"{r.reported_nfev:g}",
        "us_per_call": f"{r.seconds * 1e6:.3f}",
        "via": r.via,
    }


def write_csv(path: str, rows: Sequence[Row]) -> None:
    records = [csv_record(r) for r in rows]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(records[0]) if records else [])
        w.writeheader()
        w.writerows(records)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="3 repeats of >= 5 ms, not 7 of >= 20 ms"
    )
    parser.add_argument("--csv", metavar="PATH", help="also write the per-case rows here")
    args = parser.parse_args(argv)
    repeats, min_repeat = (3, 0.005) if args.quick else (7, 0.020)

    cases = all_cases()
    methods, notes = build_methods()
    print(header(args, repeats, min_repeat, cases))
    for note in notes:
        print(f"missing   {note}")
    for m in methods:
        if m.kind == "derivative":
            print(f"method    {m.key} = {m.description}")
    print()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # steps past a domain edge, and diffkit's own warnings
        for c in cases:
            _ = c.truth, c.floor
        rows = measure(methods, cases)
        time_rows(rows, methods, repeats, min_repeat)

    dkeys = method_keys(methods, "derivative")
    dk_keys = [k for k in dkeys if k.startswith("dk-")]
    print("Accuracy per order n (ill-conditioned cases left out; relative error, absolute where")
    print("the truth is 0; not ok = a status other than ok/reduced-step/one-sided)")
    print(accuracy_table(rows, dkeys))
    print()
    print("n=1 smooth cases per scale |x| (ill-conditioned left out): within 1e-8 / within 1e-10")
    print(scale_table(rows, dkeys))
    print()
    print("diffkit error estimates (all cases; ok* = ok, reduced-step or one-sided)")
    print(honesty_table(rows, dk_keys))
    for line in honesty_targets(rows):
        print(line)
    print()
    print(f"Ill-conditioned cases (truth not in f's float64 values: floor > {ILL_FLOOR:g}):")
    print("relative error and status")
    print(ill_table(rows, dk_keys))
    print()
    print("Hessians (relative error max|H - T| / max|T|; nfev counted per point)")
    print(hessian_table(rows, method_keys(methods, "hessian")))
    print()
    print("Gradients at n = 3: counted evaluations (relative error)")
    print(gradient_table(rows, method_keys(methods, "gradient")))
    print()
    print("Time per scalar derivative: median µs, and the median per-case ratio to numdifftools")
    print(timing_table(rows))
    print()
    print("TARGETS")
    print(targets_block(rows))
    if args.csv:
        write_csv(args.csv, rows)
        print(f"\nrows written to {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
