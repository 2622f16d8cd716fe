"""Tables of the report, as pure functions of the sweep's frame: error curves, summary, failures.

A function of several variables has one row per gradient component and step; its
curve uses the normwise relative error

    err(h) = max_i |g_i(h) - g_i| / max_i |g_i|

(the absolute error when the true gradient is 0, and then the curve's ``kind`` says
"absolute": every label and column built on it says which error it shows), which for
one variable is the row's ``rel_err``. Rows whose ``status`` is not ``"ok"`` never enter a curve; they
are counted in the failure table instead, so nothing is hidden. Rows without an exact
derivative (``no-truth``) have no error to chart or tabulate; they have a section of
their own (``no_truth_section``), with the agreement between backends that stands in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import analysis
from ..agreement import matching_digits
from ..backends import StencilError, stencil
from ..backends.steps import machine_epsilon
from ..function import Function
from ..rows import NO_TRUTH
from ..sweep import FD_METHODS

__all__ = [
    "CURVE_KEYS",
    "error_curves",
    "error_label",
    "estimate_seconds",
    "expressions_table",
    "failure_table",
    "method_name",
    "method_order",
    "normwise_error",
    "on_step_grid",
    "point_text",
    "predicted_optimum",
    "relative_model",
    "short_expression",
    "summary_table",
    "truncation_side",
    "warm_up_calls",
]

# One curve per (function, point, dtype, backend, method); its points are the steps h.
CURVE_KEYS = ["function", "point", "dtype", "backend", "method"]

# The truncation side of a V-curve, where the order is fitted: steps more than
# ORDER_FIT_MARGIN times the observed optimum, errors more than ORDER_FIT_FLOOR times the
# curve's smallest positive error (rounding no longer dominates: this matters for the
# complex step, whose error stays at its floor over many decades) and below ORDER_FIT_CAP
# (beyond it h is comparable to the length on which f varies: not the asymptotic regime).
ORDER_FIT_MARGIN = 10.0
ORDER_FIT_FLOOR = 100.0
ORDER_FIT_CAP = 0.1
# A truncation side exists only where the error is above ORDER_FIT_EPS x eps of the dtype
# (rounding level), spans ORDER_FIT_SPAN in h, and rises with h by ORDER_FIT_SPAN at least.
# A rule exact at a point (central differences on a parabola) has none: its order is not
# fitted, and the tables say "exact here" instead of printing the slope of rounding noise.
ORDER_FIT_EPS = 100.0
ORDER_FIT_SPAN = 10.0
EXACT_HERE = "exact here"
NO_TRUNCATION_SIDE = "no truncation side"  # within the steps swept: too short, or a kink

# Long expressions are cut to this many characters on the page (the CSV keeps them whole).
EXPRESSION_CHARS = 200

# One display name per method, in every table, chart and legend of the report. The
# frame's ``method`` labels stay the keys (CSV files keep them); ``method_name`` maps them.
_METHOD_NAMES = {
    "forward": "forward",
    "central": "central",
    "central4": "central, order 4",
    "complex": "complex step",
    "fd-richardson-auto": "Richardson",
    "fd-contour-auto": "contour",
    "fd-richardson": "Richardson",  # the backend's name, as the agreement tables list it
    "fd-contour": "contour",
    "complex-step": "complex step, auto h",
    "reverse": "reverse mode",
    "symbolic": "symbolic",
}
_DISPLAY_NAMES = frozenset(_METHOD_NAMES.values())


def method_name(method: Any) -> str:
    """The name of ``method`` (a frame's ``method`` label) wherever the report shows it.

    The sweep's rules keep their short names (``forward``, ``central``; ``central4`` is
    "central, order 4", ``complex`` "complex step"); a backend choosing its own step is
    the rule's name with ", auto h" (``fd-central-auto``), except Richardson and the
    contour rule, which always do; ``fd-<rule>`` (the agreement's swept rules) is the
    rule; reverse mode, symbolic and plugins keep their names. A name maps to itself.
    """
    label = str(method)
    if label in _METHOD_NAMES:
        return _METHOD_NAMES[label]
    if label in _DISPLAY_NAMES:
        return label
    if label.startswith("fd-") and label.endswith("-auto"):
        return f"{method_name(label[3:-5])}, auto h"
    if label.startswith("fd-") and label[3:] in {m.label for m in FD_METHODS}:
        return method_name(label[3:])
    return label


def point_text(label: Any) -> str:
    """A point's label for a title or caption: a long vector's digest left out.

    ``point_label`` tells long vectors apart by a hash (``#b68352``), which a reader has
    no use for: ``"0.5, 0.5, ..., 0.5 (100 values, #b68352)"`` reads
    ``"0.5, 0.5, ..., 0.5 (100 values)"``.
    """
    return re.sub(r"\((\d+) values, #[0-9a-f]+\)", r"(\1 values)", str(label))


def short_expression(expr: Any, limit: int = EXPRESSION_CHARS) -> str:
    """An expression as text, cut after ``limit`` characters with "…" (the CSV keeps it whole)."""
    text = " ".join(str(expr).split())
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def expressions_table(functions: Mapping[str, Function]) -> pd.DataFrame:
    """Per function: its variables and its expression in full, for a CSV beside the page."""
    records = [
        {
            "function": name,
            "variables": f.ndim,
            "expression": "" if f.expr is None else str(f.expr),
        }
        for name, f in functions.items()
    ]
    return pd.DataFrame.from_records(records, columns=["function", "variables", "expression"])


def error_label(kinds: Any, multivariate: bool = False) -> str:
    """The axis label of errors of these kinds ("relative", "absolute"): it says which it is.

    Relative where the true derivative is non-zero, absolute where it is 0: a chart of
    only the latter says "absolute error (the derivative is 0 here)".
    """
    found = {str(k) for k in kinds}
    if found == {"absolute"}:
        return (
            "absolute error (normwise; the gradient is 0 here)"
            if multivariate
            else "absolute error (the derivative is 0 here)"
        )
    label = "relative error" + (" (normwise, gradient)" if multivariate else "")
    return label + (" (absolute where the derivative is 0)" if "absolute" in found else "")


def on_step_grid(frame: pd.DataFrame) -> pd.Series:
    """Rows of finite-difference rules swept over the step grid (not backends choosing their own h).

    The sweep labels a backend run once per point ``fd-<kind>-auto`` (finite
    differences) or by its name, with ``backend`` other than ``"fd"``.
    """
    return (frame["backend"] == "fd") & ~frame["method"].astype(str).str.endswith("-auto")


def method_order(methods: Any) -> list[str]:
    """Methods in display order: the sweep's finite-difference rules first, then the rest sorted."""
    present = {str(m) for m in methods}
    known = [m.label for m in FD_METHODS if m.label in present]
    return known + sorted(present - set(known))


def error_curves(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (``CURVE_KEYS``, h) with the normwise relative error ``err`` of that estimate.

    Only groups whose every component row is ``ok`` with a finite error are kept;
    ``grid`` tells the step-grid rules from backends that chose their own step.
    Columns: ``CURVE_KEYS``, ``h``, ``grid``, ``x``, ``n``, ``err``, ``kind`` ("relative",
    or "absolute" where the true derivative is 0), ``truth_norm`` (max |truth|),
    ``nfev``, ``accuracy``, ``scheme``.
    """
    columns = [
        *CURVE_KEYS,
        "h",
        "grid",
        "x",
        "n",
        "err",
        "kind",
        "truth_norm",
        "nfev",
        "accuracy",
        "scheme",
    ]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    work = frame.assign(
        abs_truth=np.abs(frame["truth"].to_numpy(dtype=float)),
        bad=(frame["status"] != "ok") | ~np.isfinite(frame["abs_err"].to_numpy(dtype=float)),
        grid=on_step_grid(frame),
    )
    grouped = work.groupby([*CURVE_KEYS, "h"], sort=False, dropna=False)
    agg = grouped.agg(
        x=("x", "first"),
        n=("n", "first"),
        grid=("grid", "first"),
        abs_err=("abs_err", "max"),
        truth_norm=("abs_truth", "max"),
        bad=("bad", "any"),
        nfev=("nfev", "max"),
        accuracy=("accuracy", "first"),
        scheme=("scheme", "first"),
    ).reset_index()
    agg = agg[~agg["bad"] & np.isfinite(agg["truth_norm"].to_numpy(dtype=float))]
    err, kind = normwise_error(agg["abs_err"], agg["truth_norm"])
    return agg.assign(err=err, kind=kind)[columns].reset_index(drop=True)


def normwise_error(abs_err: Any, truth_norm: Any) -> tuple[np.ndarray, np.ndarray]:
    """max_i |g_i - t_i| / max_i |t_i| per estimate, and its kind: "relative", or
    "absolute" (the error itself) where the true derivative is 0."""
    norm = np.asarray(truth_norm, dtype=float)
    abs_err = np.asarray(abs_err, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.where(norm > 0, abs_err / np.where(norm > 0, norm, 1.0), abs_err)
    return err, np.where(norm > 0, "relative", "absolute")


def relative_model(
    f: Function, curve_row: pd.Series, dtype: str
) -> tuple[analysis.ErrorModel, float] | None:
    """The error model of the rule of one ``error_curves`` row, and the divisor making it relative.

    ``analysis.theory`` predicts absolute errors; dividing by |f^(n)(x)| (1 where that
    is 0, as ``relative_error`` does) puts them on the relative-error axis. None when
    there is no theory: several variables, no expression, or a rule it cannot model.
    """
    x, truth_norm = float(curve_row["x"]), float(curve_row["truth_norm"])
    if f.ndim != 1 or not np.isfinite(x) or not np.isfinite(truth_norm):
        return None
    scheme, accuracy, n = str(curve_row["scheme"]), curve_row["accuracy"], curve_row["n"]
    try:
        rule = None if scheme == "complex" else stencil(scheme, int(n), int(accuracy))
        model = analysis.theory(f, x, rule, dtype)
    except (StencilError, ValueError, TypeError, ArithmeticError):
        return None
    if model is None:
        return None
    return model, (truth_norm if truth_norm > 0 else 1.0)


def predicted_optimum(model: analysis.ErrorModel) -> tuple[float, float]:
    """(h*, minimal absolute error) of the model; a flat rounding term has no h*: (nan, floor).

    The complex step's rounding error does not grow as h shrinks, so there is no
    optimal step, only the floor eps |f'| reached by every small enough h.
    """
    if model.n == 0:
        return float("nan"), float(model.rounding_coefficient)
    h_star = model.optimal_step
    if not (np.isfinite(h_star) and h_star > 0):
        return float("nan"), float("nan")
    return h_star, model.minimal_error


def truncation_side(curve: pd.DataFrame, best_h: float, dtype: str) -> pd.DataFrame | None:
    """The steps of a curve (sorted by h) where truncation error shows, or None.

    Steps above ``ORDER_FIT_MARGIN`` x the observed optimum with errors above the floor
    (``ORDER_FIT_FLOOR`` x the curve's least positive error and ``ORDER_FIT_EPS`` x eps:
    rounding no longer dominates; this matters for the complex step, whose error stays
    at its floor over many decades) and below ``ORDER_FIT_CAP`` (beyond it h is
    comparable to the length on which f varies), from the least of those errors up.
    None unless they span ``ORDER_FIT_SPAN`` in h and the error rises by as much: a rule
    exact at the point (its error at rounding level, falling as h grows) has no such side.
    """
    err = curve["err"].to_numpy(dtype=float)
    positive = err[err > 0]
    if not np.isfinite(best_h) or positive.size == 0:
        return None
    floor = max(ORDER_FIT_FLOOR * float(positive.min()), ORDER_FIT_EPS * machine_epsilon(dtype))
    side = curve[(curve["h"] > ORDER_FIT_MARGIN * best_h) & (err > floor) & (err < ORDER_FIT_CAP)]
    if side.empty:
        return None
    side = side.iloc[int(np.argmin(side["err"].to_numpy(dtype=float))) :]
    h, e = side["h"].to_numpy(dtype=float), side["err"].to_numpy(dtype=float)
    if len(side) < 3 or h[-1] < ORDER_FIT_SPAN * h[0] or e[-1] < ORDER_FIT_SPAN * e[0]:
        return None
    return side


def _fitted_order(curve: pd.DataFrame, best_h: float, dtype: str) -> tuple[float, str]:
    """Observed order on the truncation side, and "exact here" where the rule has none.

    A curve without a truncation side whose error at its largest step is still at
    rounding level (``ORDER_FIT_EPS`` x eps) is exact there; otherwise it has no fit and
    the note ``NO_TRUNCATION_SIDE`` (a kink's error of 1 at every step; a side too short
    to tell, as for high-order rules in float32, whose optimal step is near 1).
    """
    side = truncation_side(curve, best_h, dtype)
    if side is not None:
        return analysis.fitted_order(side["h"], side["err"]), ""
    err = curve["err"].to_numpy(dtype=float)
    if err.size == 0 or not np.isfinite(best_h):
        return float("nan"), ""
    largest = float(err[int(np.argmax(curve["h"].to_numpy(dtype=float)))])
    exact = largest <= ORDER_FIT_EPS * machine_epsilon(dtype)
    return float("nan"), EXACT_HERE if exact else NO_TRUNCATION_SIDE


def _not_ok(frame: pd.DataFrame) -> pd.Series:
    """Per curve, ``"status x count"`` of its rows that are not ok ("" when all are)."""
    bad = frame[frame["status"] != "ok"]
    if bad.empty:
        return pd.Series(dtype=object)
    counts = bad.groupby([*CURVE_KEYS, "status"], sort=True, dropna=False).size()
    text = counts.reset_index(name="count").assign(
        text=lambda t: t["status"] + " x" + t["count"].astype(str)
    )
    return text.groupby(CURVE_KEYS, sort=False)["text"].agg(", ".join)


# Agreement in the summary is with the exact symbolic derivative, else reverse mode's.
REFERENCE_BACKENDS = ("symbolic", "reverse")


def _references(frame: pd.DataFrame) -> dict[Any, np.ndarray]:
    """Per (function, point, dtype), the reference backend's values, where all are ok.

    A value without an exact derivative to measure it (``no-truth``) is a value all
    the same: agreement needs no truth.
    """
    found: dict[Any, np.ndarray] = {}
    clean = frame[frame["noise"] == 0] if "noise" in frame.columns else frame
    for name in reversed(REFERENCE_BACKENDS):  # the preferred one written last, so it wins
        rows = clean[clean["backend"] == name]
        for key, group in rows.groupby(["function", "point", "dtype"], sort=False):
            values = group.sort_values("component")["value"].to_numpy(dtype=float)
            if group["status"].isin(("ok", NO_TRUTH)).all() and np.all(np.isfinite(values)):
                found[key] = values
    return found


# A task's rows: one call of a rule over its steps, or of a backend at one point.
_TASK_KEYS = ["function", "point", "dtype", "noise", "backend", "method"]


def warm_up_calls(calls: pd.DataFrame) -> np.ndarray:
    """Which calls (rows, in the sweep's order) are the first of their backend and method
    in their dtype: those pay for imports, caches and compilation."""
    return (~calls.duplicated(["backend", "method", "dtype"], keep="first")).to_numpy()


def estimate_seconds(frame: pd.DataFrame) -> pd.DataFrame:
    """Seconds per estimate of each method on each function, warm-up left out.

    A row's ``seconds`` is its call's time shared over the rows the call made, so a
    call's seconds per estimate (all components of a gradient, one step) is the sum
    over its rows divided by its steps. The first call of each backend and method in
    each dtype, in the frame's (the sweep's) order, is left out: it pays for imports,
    caches and compilation (the same forward difference took 8e-4 s on the first
    function and 3e-6 s on the next; the sweep times a call under ``REPEAT_BELOW`` as
    the median of repeated runs after its first, but a slow first call, jax compiling,
    is one run). The median over the function's points is ``seconds``, and
    ``timed_calls`` how many calls it is the median of (0, and NaN seconds, when the
    function's only call was that first one).
    Columns: function, dtype, backend, method, seconds, timed_calls.
    """
    columns = ["function", "dtype", "backend", "method", "seconds", "timed_calls"]
    if frame.empty or "seconds" not in frame.columns:
        return pd.DataFrame(columns=columns)
    keys = [k for k in _TASK_KEYS if k in frame.columns]
    calls = (
        frame.groupby(keys, sort=False, dropna=False)
        .agg(total=("seconds", "sum"), steps=("h", "nunique"), timed=("seconds", "count"))
        .reset_index()
    )
    per = calls["total"].to_numpy(dtype=float) / np.maximum(calls["steps"].to_numpy(), 1)
    per[calls["timed"].to_numpy() == 0] = np.nan
    calls = calls.assign(per=per)
    kept = calls[~warm_up_calls(calls)]
    table = (
        kept.groupby(["function", "dtype", "backend", "method"], sort=False, dropna=False)["per"]
        .agg(["median", "count"])
        .rename(columns={"median": "seconds", "count": "timed_calls"})
    )
    everything = calls[["function", "dtype", "backend", "method"]].drop_duplicates()
    merged = everything.merge(table.reset_index(), how="left", on=list(everything.columns))
    merged["timed_calls"] = merged["timed_calls"].fillna(0).astype(int)
    return merged[columns].reset_index(drop=True)


def summary_table(
    frame: pd.DataFrame, functions: Mapping[str, Function] | None = None
) -> pd.DataFrame:
    """Per function, point, dtype and method: best observed error against the theory's prediction.

    Columns: ``CURVE_KEYS``; ``best_err`` and ``best_h`` (observed), ``error_kind`` saying
    whether that error is "relative" or "absolute" (where the true derivative is 0);
    ``digits`` shared with the symbolic (else reverse-mode) derivative at the best step
    (NaN at a kink, where the derivative is a convention); ``seconds`` per estimate (all
    components of a gradient): the median over the function's points of single runs,
    each method's first call left out (``estimate_seconds``), over ``timed_calls`` calls;
    ``predicted_h`` (h*) and ``predicted_err`` (minimal error, of the same kind) from
    ``analysis.theory``; ``order`` fitted on the truncation side (NaN where there is none,
    ``order_note`` saying why: "exact here" where the rule is exact at the point, else
    "no truncation side") and the rule's
    ``expected_order``; ``nfev`` at the best step; ``not_ok`` counts rows that are not
    ok. Rows follow the frame's order of functions and points, then ``method_order``.
    """
    funcs = dict(functions or {})
    curves = error_curves(frame)
    not_ok = _not_ok(frame)
    references = _references(frame)
    timed = estimate_seconds(frame)
    timings: dict[tuple[Any, ...], tuple[float, int]] = {
        key: (float(seconds), int(calls))
        for key, seconds, calls in zip(
            timed[["function", "dtype", "backend", "method"]].itertuples(index=False, name=None),
            timed["seconds"].to_numpy(dtype=float),
            timed["timed_calls"].to_numpy(dtype=int),
            strict=True,
        )
    }
    records: list[dict[str, Any]] = []
    groups = frame.groupby(CURVE_KEYS, sort=False, dropna=False)
    curve_groups = {key: g for key, g in curves.groupby(CURVE_KEYS, sort=False, dropna=False)}
    for key, rows in groups:
        function, point, dtype, backend, method = key
        curve = curve_groups.get(key, curves.iloc[0:0]).sort_values("h", kind="mergesort")
        record: dict[str, Any] = dict(zip(CURVE_KEYS, key, strict=True))
        best_err = best_h = nfev = digits = float("nan")
        kind = ""
        seconds, timed_calls = timings.get((function, dtype, backend, method), (np.nan, 0))
        if not curve.empty:
            best = curve.iloc[int(np.argmin(curve["err"].to_numpy(dtype=float)))]
            best_err, best_h, nfev = float(best["err"]), float(best["h"]), float(best["nfev"])
            kind = str(best["kind"])
            at_best = rows[(rows["h"] == best_h) | np.isnan(best_h)]
            reference = references.get((function, point, dtype))
            if reference is not None and not bool(rows["kink"].any() if "kink" in rows else False):
                values = at_best.sort_values("component")["value"].to_numpy(dtype=float)
                if values.shape == reference.shape and np.all(np.isfinite(values)):
                    digits = matching_digits(values, reference, dtype)
        accuracy = float(rows["accuracy"].iloc[0])
        predicted_h = predicted_err = order = float("nan")
        order_note = ""
        f = funcs.get(str(function))
        if bool(on_step_grid(rows.iloc[:1]).iloc[0]):
            order, order_note = _fitted_order(curve, best_h, str(dtype))
            if f is not None and not curve.empty:
                found = relative_model(f, curve.iloc[0], str(dtype))
                if found is not None:
                    model, scale = found
                    predicted_h, predicted_err = predicted_optimum(model)
                    predicted_err /= scale
        record.update(
            best_err=best_err,
            error_kind=kind,
            best_h=best_h,
            digits=digits,
            seconds=seconds,
            timed_calls=timed_calls,
            predicted_h=predicted_h,
            predicted_err=predicted_err,
            order=order,
            order_note=order_note,
            expected_order=accuracy,
            nfev=nfev,
            not_ok=str(not_ok.get(key, "")),
        )
        records.append(record)
    table = pd.DataFrame.from_records(
        records,
        columns=[
            *CURVE_KEYS,
            "best_err",
            "error_kind",
            "best_h",
            "digits",
            "seconds",
            "timed_calls",
            "predicted_h",
            "predicted_err",
            "order",
            "order_note",
            "expected_order",
            "nfev",
            "not_ok",
        ],
    )
    return _display_sorted(table, frame)


def _display_sorted(table: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Order rows as the frame lists functions and points, then by dtype, backend and method."""
    if table.empty:
        return table.reset_index(drop=True)
    f_rank = {name: i for i, name in enumerate(pd.unique(frame["function"]))}
    p_rank = {
        (fn, p): i
        for i, (fn, p) in enumerate(
            frame[["function", "point"]].drop_duplicates().itertuples(index=False)
        )
    }
    m_rank = {m: i for i, m in enumerate(method_order(frame["method"].unique()))}
    keyed = table.assign(
        _f=table["function"].map(f_rank),
        _p=[p_rank[(fn, p)] for fn, p in zip(table["function"], table["point"], strict=True)],
        _b=(~on_step_grid(table)).astype(int),
        _m=table["method"].map(m_rank),
    )
    keyed = keyed.sort_values(["_f", "_p", "dtype", "_b", "_m"], kind="mergesort")
    return keyed.drop(columns=["_f", "_p", "_b", "_m"]).reset_index(drop=True)


def failure_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows not ok, counted per function, point, dtype, method, status and message.

    Rows without an exact derivative (``no-truth``) are estimates, not failures: the
    no-truth section lists them.
    """
    keys = ["function", "point", "dtype", "method", "status", "message"]
    bad = frame[~frame["status"].isin(("ok", NO_TRUTH))]
    if bad.empty:
        return pd.DataFrame(columns=[*keys, "rows"])
    counted = bad.groupby(keys, sort=True, dropna=False).size().reset_index(name="rows")
    return counted.reset_index(drop=True)
