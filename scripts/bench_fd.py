"""Benchmark diffkit's finite differences against the ground truth and the peers.

Prints plain-text tables, never asserts: accuracy, error estimates, cost and time of

- diffkit ``FiniteDifference(richardson=True)`` (h="auto"), the method under test;
- diffkit's plain default ``FiniteDifference()`` (central, h="auto") and
  ``FiniteDifference(scheme="complex")``, for context: the complex step twice, on the
  bare callable (the default ``analytic_check="auto"`` probes it with 8 real
  evaluations) and with ``analytic_check="expression"`` on the catalog Function (its
  expression is checked instead, nfev 1);
- numdifftools ``nd.Derivative(f)(x)`` with defaults (error estimate from a second
  instance with ``full_output=True``);
- ``scipy.differentiate.derivative(f, x)`` with defaults;

on every univariate catalog function tagged "smooth", at each of its points, with
the truth from ``diffkit.truth.derivative`` (SymPy, 50 digits). Then a Squire-Trapp
V-curve (error against h for forward, central and complex step) and a list of
targets with PASS/MISS. Peers that are not installed are skipped with a note.

Measurement method
------------------
- Relative error ``|estimate - truth| / |truth|``; where the truth is 0 the absolute
  error stands in (marked ``a``).
- ``est/act``: the method's error estimate divided by its actual error; ``!`` marks
  an underestimate (estimate < actual error, among cases with actual error > 0).
- nfev: counted the same way for every method, by wrapping f in a counter that
  adds the number of points of each call (``np.size`` of its argument); one call.
- Time per call: the differentiator is built once per case, then the call
  ``d(x)`` runs N times per repeat with the garbage collector off (as ``timeit``
  does), N doubled until a repeat takes >= 20 ms; 7 repeats, the median of the
  per-call times is reported (``--quick``: 3 repeats of >= 5 ms). The summary also
  gives the fastest repeat (best-of), less sensitive to a busy machine. f is the
  bare catalog callable, without the counter (the catalog Function, for methods
  that take one).
- The modules measured are fingerprinted in the header (sha256 of finite.py and
  complexstep.py).

Run from the repository root: ``PYTHONPATH=. python scripts/bench_fd.py [--quick] [--csv PATH]``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import functools
import gc
import hashlib
import inspect
import math
import os
import pathlib
import platform
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

import diffkit
from diffkit import truth
from diffkit.backends.finite import FiniteDifference
from diffkit.catalog import CATALOG, names

try:
    import numdifftools as nd
except ImportError:  # an optional peer
    nd = None

try:
    import scipy
    from scipy.differentiate import derivative as scipy_derivative
except ImportError:  # an optional peer (scipy.differentiate needs scipy >= 1.15)
    scipy = None
    scipy_derivative = None

# Cases the ticket singles out: close to a pole, a branch point or fast oscillation.
HARD_CASES = (("log", 1e-3), ("pow15", 1e-4), ("reciprocal", 1e-2), ("sin_inv", 0.05))
TARGET_REL_ERR = 1e-10
TARGET_MEDIAN_NFEV = 13
TARGET_MEDIAN_US = 50.0
# Squire-Trapp sweep: known floors (relative error) and where they sit.
ST_NAME, ST_POINT = "squire_trapp", 1.5
ST_STEPS = np.logspace(-16, 0, 161)
ST_KNOWN = {
    # scheme: (label, lowest quoted floor, highest quoted floor, quoted h)
    "forward": ("forward, accuracy 1", 2.5e-8, 2.5e-8, 1e-8),
    "central": ("central, accuracy 2", 6e-12, 5e-11, 3e-6),
    "complex": ("complex step", 1e-16, 1e-16, None),
}
ST_TOLERANCE = 10.0  # "near": within this factor of the quoted range
RICHARDSON = "dk-richardson"
MEASURED = ("finite.py", "complexstep.py")

Fn = Callable[[Any], Any]


# ---------------------------------------------------------------------------- methods


@dataclass(frozen=True)
class Outcome:
    """What one method says about one case."""

    value: float
    error: float
    status: str
    reported_nfev: float = math.nan


@dataclass(frozen=True)
class Method:
    """A derivative method: ``timed(f)`` is the call that is timed and counted,
    ``outcome(f, x)`` its value, error estimate and status."""

    key: str
    description: str
    timed: Callable[[Fn], Callable[[float], Any]]
    outcome: Callable[[Fn, float], Outcome]
    takes_function: bool = False  # given the catalog Function (expression and all), not f


def _diffkit_method(
    key: str, description: str, fd: FiniteDifference, *, takes_function: bool = False
) -> Method:
    def timed(f: Fn) -> Callable[[float], Any]:
        return lambda x: fd.estimate(f, x)

    def outcome(f: Fn, x: float) -> Outcome:
        r = fd.estimate(f, x)
        return Outcome(float(r.value), float(r.error), str(r.status), float(r.nfev))

    return Method(key, description, timed, outcome, takes_function)


def _numdifftools_method() -> Method:
    def timed(f: Fn) -> Callable[[float], Any]:
        return nd.Derivative(f)

    def outcome(f: Fn, x: float) -> Outcome:
        value = float(nd.Derivative(f)(x))
        full = nd.Derivative(f, full_output=True)(x)
        if not np.array_equal(np.asarray(full.estimate), value, equal_nan=True):
            status = f"full_output differs: {float(full.estimate):.17g}"
        else:
            status = "-"
        return Outcome(value, float(full.error_estimate), status)

    return Method("numdifftools", "nd.Derivative(f)(x), defaults", timed, outcome)


def _scipy_method() -> Method:
    def timed(f: Fn) -> Callable[[float], Any]:
        return lambda x: scipy_derivative(f, x)

    def outcome(f: Fn, x: float) -> Outcome:
        r = scipy_derivative(f, x)
        return Outcome(float(r.df), float(r.error), f"status {int(r.status)}", float(r.nfev))

    return Method("scipy", "scipy.differentiate.derivative(f, x), defaults", timed, outcome)


def build_methods() -> tuple[list[Method], list[str]]:
    """The methods to run, and a note for each peer that is not installed."""
    methods = [
        _diffkit_method(
            RICHARDSON, "FiniteDifference(richardson=True)", FiniteDifference(richardson=True)
        ),
        _diffkit_method("dk-central", "FiniteDifference() (central, h='auto')", FiniteDifference()),
        _diffkit_method(
            "dk-complex",
            "FiniteDifference(scheme='complex') on the bare callable (probed)",
            FiniteDifference(scheme="complex"),
        ),
        _diffkit_method(
            "dk-complex-expr",
            "FiniteDifference(scheme='complex', analytic_check='expression') on the Function",
            FiniteDifference(scheme="complex", analytic_check="expression"),
            takes_function=True,
        ),
    ]
    skipped = []
    if nd is not None:
        methods.append(_numdifftools_method())
    else:
        skipped.append("numdifftools not installed: skipped")
    if scipy_derivative is not None:
        methods.append(_scipy_method())
    else:
        skipped.append("scipy.differentiate not installed (needs scipy >= 1.15): skipped")
    return methods, skipped


# ---------------------------------------------------------------------------- measuring


class CountingFunction:
    """f, counting the points it is evaluated at (an array argument counts its size)."""

    def __init__(self, f: Fn) -> None:
        self.f = f
        self.points = 0

    def __call__(self, x: Any) -> Any:
        self.points += int(np.size(x))
        return self.f(x)


def time_per_call(
    call: Callable[[], Any], *, repeats: int, min_repeat: float
) -> tuple[float, float]:
    """Median and best time per call over ``repeats`` repeats of N calls, each >= min_repeat s."""
    number = 1
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        while True:  # calibrate N (the last calibration run is discarded)
            start = time.perf_counter()
            for _ in range(number):
                call()
            if time.perf_counter() - start >= min_repeat:
                break
            number *= 2
        per_call = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(number):
                call()
            per_call.append((time.perf_counter() - start) / number)
    finally:
        if gc_was_enabled:
            gc.enable()
    return statistics.median(per_call), min(per_call)


@dataclass(frozen=True)
class Row:
    """One method on one case."""

    name: str
    x: float
    truth: float
    method: str
    value: float
    estimate: float
    nfev: int
    seconds: float  # median over the repeats
    best: float  # fastest repeat
    status: str
    reported_nfev: float

    @property
    def abs_err(self) -> float:
        return abs(self.value - self.truth)

    @property
    def rel_err(self) -> float:
        """Relative error; the absolute error where the truth is 0."""
        return self.abs_err / abs(self.truth) if self.truth != 0 else self.abs_err

    @property
    def failed(self) -> bool:
        return not math.isfinite(self.value)

    @property
    def underestimate(self) -> bool:
        """The error estimate is below the actual error (which is > 0), or missing."""
        err = self.abs_err
        return math.isfinite(err) and err > 0 and not (self.estimate >= err)


def smooth_cases() -> list[tuple[str, float]]:
    """(name, point) for every univariate catalog function tagged "smooth", in catalog order."""
    return [
        (name, float(p))
        for name in names(tag="smooth", exclude_tags=("multivariate",))
        for p in CATALOG[name].points
    ]


def measure(
    methods: Sequence[Method],
    cases: Sequence[tuple[str, float]],
    *,
    repeats: int,
    min_repeat: float,
) -> list[Row]:
    rows = []
    for name, x in cases:
        fn = CATALOG[name]
        f = fn.numpy
        exact = float(truth.derivative(fn, x, 1))
        for m in methods:
            counter = CountingFunction(f)
            try:
                if m.takes_function:
                    m.timed(replace(fn, numpy=counter))(x)
                    out = m.outcome(fn, x)
                    call = m.timed(fn)
                else:
                    m.timed(counter)(x)
                    out = m.outcome(f, x)
                    call = m.timed(f)
                seconds, best = time_per_call(
                    functools.partial(call, x), repeats=repeats, min_repeat=min_repeat
                )
            except Exception as exc:  # a benchmark reports failures, it does not stop at them
                out = Outcome(math.nan, math.nan, f"raised {type(exc).__name__}: {exc}"[:60])
                seconds = best = math.nan
            rows.append(
                Row(
                    name,
                    x,
                    exact,
                    m.key,
                    out.value,
                    out.error,
                    counter.points,
                    seconds,
                    best,
                    out.status,
                    out.reported_nfev,
                )
            )
    return rows


def squire_trapp_sweep() -> list[dict[str, Any]]:
    """Min relative and absolute error over ST_STEPS per scheme, with the steps where they occur."""
    fn = CATALOG[ST_NAME]
    exact = float(truth.derivative(fn, ST_POINT, 1))
    x = np.full(ST_STEPS.size, ST_POINT)
    out = []
    for scheme, options in (
        ("forward", {"scheme": "forward", "accuracy": 1}),
        ("central", {"scheme": "central", "accuracy": 2}),
        ("complex", {"scheme": "complex"}),
    ):
        with np.errstate(all="ignore"):
            value = (
                FiniteDifference(h=ST_STEPS, fallback=False, **options).estimate(fn.numpy, x).value
            )
        abs_err = np.abs(value - exact)
        abs_err[~np.isfinite(abs_err)] = np.inf  # steps that leave the domain
        rel_err = abs_err / abs(exact)
        i_rel, i_abs = int(np.argmin(rel_err)), int(np.argmin(abs_err))
        out.append(
            {
                "scheme": scheme,
                "truth": exact,
                "rel": float(rel_err[i_rel]),
                "h_rel": float(ST_STEPS[i_rel]),
                "abs": float(abs_err[i_abs]),
                "h_abs": float(ST_STEPS[i_abs]),
                "nonfinite": int(np.sum(~np.isfinite(value))),
            }
        )
    return out


# ---------------------------------------------------------------------------- printing


def fmt(v: float, spec: str = ".1e") -> str:
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return format(v, spec)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    """Aligned plain-text columns; ``align`` has one 'l' or 'r' per column."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, a in zip(cells, widths, align, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def ratio_cell(row: Row) -> str:
    if row.failed:
        return "-"
    err = row.abs_err
    if err == 0:
        return "exact"
    if not math.isfinite(row.estimate):
        return f"{row.estimate}!"
    return fmt(row.estimate / err) + ("!" if row.underestimate else " ")


def rel_cell(row: Row) -> str:
    return fmt(row.rel_err) + ("a" if row.truth == 0 and not row.failed else " ")


def per_case_table(rows: Sequence[Row]) -> str:
    body = []
    previous = None
    for r in rows:
        first = (r.name, r.x) != previous
        previous = (r.name, r.x)
        body.append(
            [
                r.name if first else "",
                fmt(r.x, "g") if first else "",
                fmt(r.truth, ".10g") if first else "",
                r.method,
                rel_cell(r),
                ratio_cell(r),
                str(r.nfev),
                fmt(r.seconds * 1e6, ".1f"),
                r.status,
            ]
        )
    headers = [
        "function",
        "x",
        "truth",
        "method",
        "rel err",
        "est/act",
        "nfev",
        "µs/call",
        "status",
    ]
    return table(headers, body, "lrrlrrrrl")


def summarize(rows: Sequence[Row], method: str) -> dict[str, Any]:
    mine = [r for r in rows if r.method == method]
    rel = [r.rel_err for r in mine]
    finite_rel = [v for v in rel if math.isfinite(v)]
    return {
        "method": method,
        "cases": len(mine),
        "good": sum(v <= TARGET_REL_ERR for v in finite_rel),
        "max_rel_finite": max(finite_rel) if finite_rel else math.nan,
        "failed": sum(r.failed for r in mine),
        "median_nfev": statistics.median(r.nfev for r in mine) if mine else math.nan,
        "median_us": statistics.median(r.seconds * 1e6 for r in mine) if mine else math.nan,
        "median_best_us": statistics.median(r.best * 1e6 for r in mine) if mine else math.nan,
        "under": sum(r.underestimate for r in mine),
        "with_error": sum(r.abs_err > 0 for r in mine if not r.failed),
    }


def summary_table(rows: Sequence[Row], methods: Sequence[Method]) -> str:
    body = []
    for m in methods:
        s = summarize(rows, m.key)
        body.append(
            [
                m.key,
                str(s["cases"]),
                str(s["good"]),
                fmt(s["max_rel_finite"]),
                str(s["failed"]),
                fmt(float(s["median_nfev"]), "g"),
                fmt(s["median_us"], ".1f"),
                fmt(s["median_best_us"], ".1f"),
                f"{s['under']}/{s['with_error']}",
            ]
        )
    headers = [
        "method",
        "cases",
        f"rel<={TARGET_REL_ERR:.0e}",
        "max rel err*",
        "nan/failed",
        "median nfev",
        "median µs",
        "(best-of)",
        "underest.",
    ]
    return table(headers, body, "lrrrrrrrr")


def squire_trapp_table(sweep: Sequence[dict[str, Any]]) -> str:
    body = []
    for s in sweep:
        label, lo, hi, h_known = ST_KNOWN[s["scheme"]]
        quoted = fmt(lo, ".2g") if lo == hi else f"{lo:.2g}..{hi:.2g}"
        body.append(
            [
                label,
                fmt(s["rel"]),
                fmt(s["h_rel"]),
                fmt(s["abs"]),
                fmt(s["h_abs"]),
                quoted + (f" @ h~{h_known:.2g}" if h_known else ""),
                str(s["nonfinite"]),
            ]
        )
    headers = ["scheme", "min rel err", "at h", "min abs err", "at h", "quoted floor", "nan steps"]
    return table(headers, body, "lrrrrll")


def peer_cell(row: Row | None) -> str:
    if row is None:
        return "skipped"
    if row.failed:
        return f"NaN ({row.status})" if row.status not in ("-", "ok") else "NaN"
    pct = 100 * row.rel_err
    if pct >= 1:
        return f"{pct:.0f}% off"
    return f"{pct:.2g}% off" if pct >= 0.01 else f"rel err {row.rel_err:.1e}"


def targets_block(
    rows: Sequence[Row],
    methods: Sequence[Method],
    sweep: Sequence[dict[str, Any]],
    repeats: int,
) -> str:
    lines = []

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    rich = [r for r in rows if r.method == RICHARDSON]
    s = summarize(rows, RICHARDSON)
    bad = [r for r in rich if not (r.rel_err <= TARGET_REL_ERR)]
    lines.append(
        f"(a) {verdict(not bad)}  diffkit richardson rel err <= {TARGET_REL_ERR:.0e} "
        "on every smooth case: "
        f"{s['good']}/{s['cases']}, max {fmt(s['max_rel_finite'])}"
        + (f", {s['failed']} nan" if s["failed"] else "")
    )
    by_case = {(r.name, r.x, r.method): r for r in rows}
    for name, x in HARD_CASES:
        r = by_case.get((name, x, RICHARDSON))
        if r is not None:
            lines.append(
                f"      {verdict(r.rel_err <= TARGET_REL_ERR)}  {name} at {x:g}: "
                f"rel err {fmt(r.rel_err)} (nfev {r.nfev}, {r.status})"
            )
    for r in bad:
        if (r.name, r.x) not in HARD_CASES:
            lines.append(f"      MISS  {r.name} at {r.x:g}: rel err {fmt(r.rel_err)} ({r.status})")
    spread = f"min {min(r.nfev for r in rich)}, max {max(r.nfev for r in rich)}"
    lines.append(
        f"(b) {verdict(s['median_nfev'] <= TARGET_MEDIAN_NFEV)}  "
        f"median nfev <= {TARGET_MEDIAN_NFEV}: {s['median_nfev']:g} ({spread})"
    )
    lines.append(
        f"(c) {verdict(s['median_us'] <= TARGET_MEDIAN_US)}  "
        f"median time <= {TARGET_MEDIAN_US:g} µs per scalar derivative: {s['median_us']:.1f} µs "
        f"(median of the per-case best-of-{repeats}: {s['median_best_us']:.1f} µs)"
    )
    under = [r for r in rich if r.underestimate]
    lines.append(
        f"(d) {verdict(not under)}  error estimate never below the actual error: "
        f"{len(under)} underestimates in {s['with_error']} cases with error > 0"
    )
    lines.extend(
        f"      {r.name} at {r.x:g}: estimate {fmt(r.estimate)} < actual {fmt(r.abs_err)}"
        f" (x{r.abs_err / r.estimate:.2g})"
        for r in under
    )
    for sw in sweep:
        label, lo, hi, _ = ST_KNOWN[sw["scheme"]]
        ok = lo / ST_TOLERANCE <= sw["rel"] <= hi * ST_TOLERANCE
        if sw["scheme"] == "complex":
            ok = sw["rel"] <= hi * ST_TOLERANCE
        lines.append(
            f"(e) {verdict(ok)}  Squire-Trapp {label} floor within x{ST_TOLERANCE:g} of the quoted "
            f"{lo:.2g}{'' if lo == hi else f'..{hi:.2g}'}: "
            f"rel {fmt(sw['rel'])} at h={fmt(sw['h_rel'])} "
            f"(abs {fmt(sw['abs'])} at h={fmt(sw['h_abs'])})"
        )
    lines.append("")
    lines.append("Peers on the hard cases (diffkit richardson for reference):")
    keys = [m.key for m in methods if m.key in (RICHARDSON, "numdifftools", "scipy")]
    body = [
        [f"{name} at {x:g}", *(peer_cell(by_case.get((name, x, k))) for k in keys)]
        for name, x in HARD_CASES
    ]
    lines.append(table(["case", *keys], body, "l" * (1 + len(keys))))
    return "\n".join(lines)


def source_digest() -> str:
    """First 12 hex digits of the sha256 of the finite-difference modules that were measured."""
    folder = pathlib.Path(inspect.getfile(FiniteDifference)).parent
    digest = hashlib.sha256()
    for name in MEASURED:
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:12]


def header(args: argparse.Namespace, repeats: int, min_repeat: float) -> str:
    versions = [f"diffkit {diffkit.__version__}", f"numpy {np.__version__}"]
    versions.append(f"numdifftools {nd.__version__}" if nd is not None else "numdifftools -")
    versions.append(f"scipy {scipy.__version__}" if scipy is not None else "scipy -")
    return "\n".join(
        [
            "diffkit finite-difference benchmark (scripts/bench_fd.py)",
            f"date      {datetime.date.today().isoformat()}",
            f"machine   {platform.platform()}, {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} CPUs",
            f"python    {platform.python_implementation()} {platform.python_version()}",
            f"versions  {', '.join(versions)}",
            f"source    diffkit/backends/{{{','.join(MEASURED)}}} sha256 {source_digest()} "
            "(no commit to name)",
            f"timing    time.perf_counter, gc off; N calls per repeat, N doubled until a repeat "
            f">= {min_repeat * 1e3:g} ms; median of {repeats} repeats, per call"
            + (" (--quick)" if args.quick else ""),
            "nfev      points f was evaluated at, counted by a wrapper "
            "(array arguments add their size)",
            "truth     diffkit.truth.derivative (SymPy, mpmath at 50 digits)",
            "complex   dk-complex is the default complex step on the bare callable: it pays "
            "the probe that checks f is analytic",
            "          (real central differences at 4 steps, 8 evaluations per point); "
            "dk-complex-expr checks the catalog",
            "          Function's SymPy expression instead (free once cached), so it measures "
            "the complex step itself (nfev 1).",
            "          Both evaluate f once more at the real x where Im f(x + ih) stands out "
            "(a root of f, or x outside f's domain).",
        ]
    )


def write_csv(path: str, rows: Sequence[Row]) -> None:
    fields = [
        "function",
        "x",
        "truth",
        "method",
        "value",
        "error_estimate",
        "abs_err",
        "rel_err",
        "nfev",
        "reported_nfev",
        "us_per_call",
        "us_per_call_best",
        "status",
    ]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(fields)
        for r in rows:
            w.writerow(
                [
                    r.name,
                    repr(r.x),
                    repr(r.truth),
                    r.method,
                    repr(r.value),
                    repr(r.estimate),
                    repr(r.abs_err),
                    repr(r.rel_err),
                    r.nfev,
                    "" if math.isnan(r.reported_nfev) else f"{r.reported_nfev:g}",
                    f"{r.seconds * 1e6:.3f}",
                    f"{r.best * 1e6:.3f}",
                    r.status,
                ]
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="3 repeats of >= 5 ms, not 7 of >= 20 ms"
    )
    parser.add_argument("--csv", metavar="PATH", help="also write the per-case rows here")
    args = parser.parse_args(argv)
    repeats, min_repeat = (3, 0.005) if args.quick else (7, 0.020)

    methods, skipped = build_methods()
    print(header(args, repeats, min_repeat))
    for note in skipped:
        print(note)
    print("methods   " + "; ".join(f"{m.key} = {m.description}" for m in methods))
    print()

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # the peers warn on NaN slices near poles
        rows = measure(methods, smooth_cases(), repeats=repeats, min_repeat=min_repeat)
        sweep = squire_trapp_sweep()

    print("Per case (rel err: 'a' = absolute error where the truth is 0; est/act: error estimate")
    print("over actual error, '!' = underestimate)")
    print(per_case_table(rows))
    print()
    print("Summary per method (* max over finite values; underest. = estimate < actual error,")
    print("among cases with actual error > 0)")
    print(summary_table(rows, methods))
    print()
    print(f"Squire-Trapp V-curve floors: f = exp(x)/sqrt(sin(x)^3 + cos(x)^3) at x = {ST_POINT},")
    print(f"f'(x) = {sweep[0]['truth']!r}; h over np.logspace(-16, 0, 161), fallback off")
    print(squire_trapp_table(sweep))
    print()
    print("Targets")
    print(targets_block(rows, methods, sweep, repeats))
    if args.csv:
        write_csv(args.csv, rows)
        print(f"\nrows written to {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
