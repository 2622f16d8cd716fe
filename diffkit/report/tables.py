"""Tables of the report, as pure functions of the sweep's frame: error curves, summary, failures.

A function of several variables has one row per gradient component and step; its
curve uses the normwise relative error

    err(h) = max_i |g_i(h) - g_i| / max_i |g_i|

(the absolute error when the true gradient is 0), which for one variable is the
row's ``rel_err``. Rows whose ``status`` is not ``"ok"`` never enter a curve; they
are counted in the failure table instead, so nothing is hidden. Rows without an exact
derivative (``no-truth``) have no error to chart or tabulate; they have a section of
their own (``no_truth_section``), with the agreement between backends that stands in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import analysis
from ..agreement import matching_digits
from ..backends import StencilError, stencil
from ..function import Function
from ..rows import NO_TRUTH
from ..sweep import FD_METHODS

__all__ = [
    "CURVE_KEYS",
    "error_curves",
    "failure_table",
    "method_order",
    "on_step_grid",
    "predicted_optimum",
    "relative_model",
    "summary_table",
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
    Columns: ``CURVE_KEYS``, ``h``, ``grid``, ``x``, ``n``, ``err``, ``truth_norm`` (max |truth|),
    ``nfev``, ``accuracy``, ``scheme``.
    """
    columns = [
        *CURVE_KEYS,
        "h",
        "grid",
        "x",
        "n",
        "err",
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
    norm = agg["truth_norm"].to_numpy(dtype=float)
    abs_err = agg["abs_err"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.where(norm > 0, abs_err / np.where(norm > 0, norm, 1.0), abs_err)
    return agg.assign(err=err)[columns].reset_index(drop=True)


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


def _fitted_order(curve: pd.DataFrame, best_h: float) -> float:
    """Observed order on the truncation side of the curve (see ``ORDER_FIT_MARGIN``)."""
    err = curve["err"].to_numpy(dtype=float)
    positive = err[err > 0]
    if not np.isfinite(best_h) or positive.size == 0:
        return float("nan")
    side = curve[
        (curve["h"] > ORDER_FIT_MARGIN * best_h)
        & (err > ORDER_FIT_FLOOR * positive.min())
        & (err < ORDER_FIT_CAP)
    ]
    return analysis.fitted_order(side["h"], side["err"])


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


def summary_table(
    frame: pd.DataFrame, functions: Mapping[str, Function] | None = None
) -> pd.DataFrame:
    """Per function, point, dtype and method: best observed error against the theory's prediction.

    Columns: ``CURVE_KEYS``; ``best_err`` and ``best_h`` (observed); ``digits`` shared with
    the symbolic (else reverse-mode) derivative at the best step (NaN at a kink, where
    the derivative is a convention); ``seconds`` per estimate (all components of a
    gradient) at that step; ``predicted_h`` (h*)
    and ``predicted_err`` (minimal relative error) from ``analysis.theory``; ``order``
    fitted on the truncation side and the rule's ``expected_order``; ``nfev`` at the best
    step; ``not_ok`` counts rows that are not ok. Rows follow the frame's order of
    functions and points, then ``method_order``.
    """
    funcs = dict(functions or {})
    curves = error_curves(frame)
    not_ok = _not_ok(frame)
    references = _references(frame)
    records: list[dict[str, Any]] = []
    groups = frame.groupby(CURVE_KEYS, sort=False, dropna=False)
    curve_groups = {key: g for key, g in curves.groupby(CURVE_KEYS, sort=False, dropna=False)}
    for key, rows in groups:
        function, point, dtype, _, _ = key
        curve = curve_groups.get(key, curves.iloc[0:0]).sort_values("h", kind="mergesort")
        record: dict[str, Any] = dict(zip(CURVE_KEYS, key, strict=True))
        best_err = best_h = nfev = digits = seconds = float("nan")
        if not curve.empty:
            best = curve.iloc[int(np.argmin(curve["err"].to_numpy(dtype=float)))]
            best_err, best_h, nfev = float(best["err"]), float(best["h"]), float(best["nfev"])
            at_best = rows[(rows["h"] == best_h) | np.isnan(best_h)]
            seconds = float(at_best["seconds"].sum()) if "seconds" in rows else float("nan")
            reference = references.get((function, point, dtype))
            if reference is not None and not bool(rows["kink"].any() if "kink" in rows else False):
                values = at_best.sort_values("component")["value"].to_numpy(dtype=float)
                if values.shape == reference.shape and np.all(np.isfinite(values)):
                    digits = matching_digits(values, reference, dtype)
        accuracy = float(rows["accuracy"].iloc[0])
        predicted_h = predicted_err = order = float("nan")
        f = funcs.get(str(function))
        if bool(on_step_grid(rows.iloc[:1]).iloc[0]):
            order = _fitted_order(curve, best_h)
            if f is not None and not curve.empty:
                found = relative_model(f, curve.iloc[0], str(dtype))
                if found is not None:
                    model, scale = found
                    predicted_h, predicted_err = predicted_optimum(model)
                    predicted_err /= scale
        record.update(
            best_err=best_err,
            best_h=best_h,
            digits=digits,
            seconds=seconds,
            predicted_h=predicted_h,
            predicted_err=predicted_err,
            order=order,
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
            "best_h",
            "digits",
            "seconds",
            "predicted_h",
            "predicted_err",
            "order",
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
