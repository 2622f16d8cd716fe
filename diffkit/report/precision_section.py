"""Report section: float32 against float64, the optimal step moving with eps as theory says.

A pure function of the sweep's frame and the functions (theory needs their
derivatives) returning a ``Section``, or None when the frame lacks either dtype.
Noise-free rows off kinks only.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..backends.steps import machine_epsilon
from ..function import Function
from .figures import (
    ERROR_FLOOR,
    error_limits,
    hidden_note,
    legend_with_notes,
    method_color,
    png_bytes,
    power_text,
)
from .pages import slug
from .section_helpers import figure_with_panels, noise_free_off_kinks, step_grid_rows
from .sections import Image, Section, Table
from .tables import (
    error_curves,
    error_label,
    method_name,
    method_order,
    point_text,
    predicted_optimum,
    relative_model,
    summary_table,
)

__all__ = ["precision_section"]

# At most this many functions get a precision chart (the table covers them all).
PRECISION_CHARTS = 3
_PRECISION_DTYPES = ("float32", "float64")


def _eps_shift(rows: pd.DataFrame) -> float:
    """Theory's h*(float32) / h*(float64) = (eps32 / eps64)^(1/(n+p)) for a rule of order p."""
    p, n = float(rows["expected_order"].iloc[0]), float(rows["n"].iloc[0])
    ratio = machine_epsilon("float32") / machine_epsilon("float64")
    return float(ratio ** (1.0 / (n + p)))


def _precision_pairs(summary: pd.DataFrame, n: pd.Series) -> pd.DataFrame:
    """One row per (function, point, method) swept in both dtypes, side by side."""
    keys = ["function", "point", "method"]
    # An absolute error (the derivative is 0 there) is no relative error: its median with
    # the others would mix units, so such points lend their steps but not their errors.
    relative = summary["error_kind"] != "absolute"
    summary = summary.assign(best_err=summary["best_err"].where(relative))
    wide = summary.pivot_table(
        index=keys, columns="dtype", values=["best_h", "best_err"], aggfunc="first", sort=False
    )
    wide.columns = [f"{pair[0]}_{pair[1]}" for pair in wide.columns.to_flat_index()]
    # pivot_table drops a dtype whose values are all NaN (no exact derivative anywhere)
    needed = [f"{v}_{d}" for v in ("best_h", "best_err") for d in _PRECISION_DTYPES]
    wide = wide.reindex(columns=[*wide.columns, *(c for c in needed if c not in wide.columns)])
    wide = wide.dropna(subset=[f"best_h_{d}" for d in _PRECISION_DTYPES]).reset_index()
    orders = summary.groupby("method")["expected_order"].first()
    return wide.assign(expected_order=wide["method"].map(orders), n=wide["method"].map(n))


def _shift_table(pairs: pd.DataFrame) -> pd.DataFrame:
    records = []
    for method, rows in pairs.groupby("method", sort=False):
        observed = rows["best_h_float32"] / rows["best_h_float64"]
        records.append(
            {
                "method": method,
                "pairs": len(rows),
                "predicted_shift": _eps_shift(rows) if method != "complex" else np.nan,
                "observed_shift": float(np.median(observed)),
                "err_float64": float(rows["best_err_float64"].median()),
                "err_float32": float(rows["best_err_float32"].median()),
            }
        )
    table = pd.DataFrame.from_records(records)
    rank = {m: i for i, m in enumerate(method_order(table["method"]))}
    table = table.sort_values("method", key=lambda s: s.map(rank)).reset_index(drop=True)
    return table.assign(method=table["method"].map(method_name))


def _precision_figure(grid: pd.DataFrame, f: Function, point: str, methods: list[str]) -> Figure:
    fig, (ax,) = figure_with_panels((8.6, 4.6))
    rows = grid[(grid["function"] == f.name) & (grid["point"] == point)]
    curves = error_curves(rows[rows["method"].isin(methods)])
    drawn: set[str] = set()  # dtypes whose predicted optimum is drawn
    errors: list[np.ndarray] = []
    for (method, dtype), curve in curves.groupby(["method", "dtype"], sort=True):
        curve = curve.sort_values("h")
        # float64 wide and pale, float32 dashed on top: on the truncation side they coincide.
        wide = dtype == "float64"
        color = method_color(str(method))
        err = np.maximum(curve["err"].to_numpy(dtype=float), ERROR_FLOOR)
        errors.append(err)
        ax.plot(
            curve["h"],
            err,
            "-" if wide else "--",
            color=color,
            lw=3.0 if wide else 1.3,
            alpha=0.45 if wide else 1.0,
            label=f"{method_name(method)}, {dtype}",
        )
        found = relative_model(f, curve.iloc[0], str(dtype))
        if found is not None:
            h_star, e_star = predicted_optimum(found[0])
            if np.isfinite(h_star) and np.isfinite(e_star):
                marker = "D" if dtype == "float64" else "s"
                ax.plot(
                    [h_star],
                    [e_star / found[1]],
                    marker,
                    mfc="white",
                    mec=color,
                    mew=1.5,
                    ms=7,
                    label="_h*",
                )
                drawn.add(str(dtype))
    for dtype, marker in (("float64", "D"), ("float32", "s")):
        if dtype in drawn:  # a legend entry only for markers that are drawn (gray: any color)
            ax.plot(
                [],
                [],
                ls="none",
                marker=marker,
                color="0.35",
                mfc="white",
                label=f"predicted h*, {dtype}",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step h")
    ax.set_ylabel(error_label(curves["kind"].unique()))
    ax.set_title(
        f"{f.name} at x = {point_text(point)}: float32 (dashed) against float64 (wide)",
        fontsize=10,
    )
    ax.grid(True, alpha=0.3)
    notes: list[str] = []
    if errors:
        values = np.concatenate(errors)
        low, top, hidden = error_limits(values)
        ax.set_ylim(low, top)
        notes = [hidden_note(hidden, top)]
        if np.any(values <= ERROR_FLOOR):
            notes.append(f"error 0 drawn at {power_text(ERROR_FLOOR)}")
    legend_with_notes(ax, None, notes)
    return fig


def _charted(pairs: pd.DataFrame, funcs: Mapping[str, Function]) -> list[tuple[Function, str]]:
    """The first few univariate functions with an expression, at their first point."""
    out: list[tuple[Function, str]] = []
    for function, rows in pairs.groupby("function", sort=False):
        f = funcs.get(str(function))
        if f is not None and f.ndim == 1 and f.expr is not None:
            out.append((f, str(rows["point"].iloc[0])))
        if len(out) == PRECISION_CHARTS:
            break
    return out


def precision_section(frame: pd.DataFrame, funcs: Mapping[str, Function]) -> Section | None:
    """float32 against float64: the optimal step moves with eps as theory says."""
    grid = step_grid_rows(noise_free_off_kinks(frame))
    if grid.empty or not set(_PRECISION_DTYPES) <= set(grid["dtype"].astype(str)):
        return None
    summary = summary_table(grid)  # observed optima only: theory is needed for the charted few
    pairs = _precision_pairs(summary, grid.groupby("method")["n"].first())
    if pairs.empty:
        return None
    charted = _charted(pairs, funcs)
    methods = [m for m in ("forward", "central") if m in set(pairs["method"])]
    methods = methods or method_order(pairs["method"].unique())[:2]
    shown = grid["function"].isin([f.name for f, _ in charted]) & grid["method"].isin(methods)
    detail = summary_table(grid[shown], funcs)
    detail = detail[
        [
            "function",
            "point",
            "method",
            "dtype",
            "predicted_h",
            "best_h",
            "predicted_err",
            "best_err",
            "error_kind",
        ]
    ]
    detail = detail.assign(method=detail["method"].map(method_name))
    images = tuple(
        Image(
            f"{f.name}: float32 against float64",
            f"figures/precision-{i:02d}-{slug(f.name)}.png",
            png_bytes(_precision_figure(grid, f, point, methods)),
        )
        for i, (f, point) in enumerate(charted)
    )
    sci = {c: "sci" for c in ("predicted_h", "best_h", "predicted_err", "best_err")}
    return Section(
        key="precision",
        title="Precision: float32 against float64",
        paragraphs=(
            "The optimal step balances truncation C h^p against rounding eps/h^n, so"
            " h* ~ eps^(1/(n+p)): eps^(1/2) for forward, eps^(1/3) for central differences."
            " float32's eps is 2^29 times float64's, so h* grows about 23000-fold (forward)"
            " and 800-fold (central), and the best error grows like eps^(p/(n+p)).",
        ),
        tables=(
            Table(
                "h*(float32) / h*(float64) over all functions swept in both dtypes (medians;"
                " the errors are relative, points where the derivative is 0 left out of them)",
                _shift_table(pairs),
                formats={
                    "pairs": "int",
                    "predicted_shift": "sci",
                    "observed_shift": "sci",
                    "err_float64": "sci",
                    "err_float32": "sci",
                },
                headers={
                    "pairs": "points in both dtypes",
                    "predicted_shift": "theory shift",
                    "observed_shift": "observed shift",
                    "err_float64": "best rel. error float64",
                    "err_float32": "best rel. error float32",
                },
            ),
            Table(
                "Predicted and observed optimum of the charted functions",
                detail.reset_index(drop=True),
                formats=sci,
                headers={
                    "predicted_h": "predicted h*",
                    "best_h": "observed best h",
                    "predicted_err": "predicted min. error",
                    "best_err": "observed best error",
                    "error_kind": "error",
                },
            ),
        ),
        images=images,
    )
