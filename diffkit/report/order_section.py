"""Report section: observed against theoretical order of accuracy of every swept rule.

A pure function of the sweep's frame returning a ``Section``, or None when the frame
holds nothing for it. Noise-free rows off kinks only. An order is fitted only where
the rule has a truncation side (``tables.truncation_side``); where it is exact (central
differences on a parabola) the curve is counted as such, never given the slope of its
rounding noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import analysis
from .figures import legend_with_notes, method_color, png_bytes
from .section_helpers import figure_with_panels, main_dtype, noise_free_off_kinks, step_grid_rows
from .sections import Image, Section, Table
from .tables import (
    EXACT_HERE,
    ORDER_FIT_CAP,
    ORDER_FIT_EPS,
    ORDER_FIT_MARGIN,
    ORDER_FIT_SPAN,
    error_curves,
    method_name,
    method_order,
    summary_table,
)

__all__ = ["order_section"]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _rounding_slope(curve: pd.DataFrame, best_h: float) -> float:
    """Slope of log err against log h on the rounding side: steps well below the optimum."""
    err = curve["err"].to_numpy(dtype=float)
    side = curve[(curve["h"] < best_h / ORDER_FIT_MARGIN) & (err < ORDER_FIT_CAP)]
    return analysis.fitted_order(side["h"], side["err"])


def _orders(grid: pd.DataFrame) -> pd.DataFrame:
    """Per curve: the fitted truncation order (tables' fit), the rounding slope, their theory."""
    table = summary_table(grid)
    curves = {k: c for k, c in error_curves(grid).groupby(["function", "point", "dtype", "method"])}
    n_of = grid.groupby("method")["n"].first()
    slopes = []
    for key, best_h in zip(
        table[["function", "point", "dtype", "method"]].itertuples(index=False, name=None),
        table["best_h"].to_numpy(dtype=float),
        strict=True,
    ):
        curve = curves.get(key)
        if curve is None or not np.isfinite(best_h):
            slopes.append(np.nan)
            continue
        slopes.append(_rounding_slope(curve.sort_values("h"), best_h))
    expected_rounding = [0.0 if m == "complex" else -float(n_of[m]) for m in table["method"]]
    return table.assign(rounding=slopes, expected_rounding=expected_rounding)


def _order_table(orders: pd.DataFrame) -> pd.DataFrame:
    records = []
    for (method, dtype), group in orders.groupby(["method", "dtype"], sort=False):
        fitted = group["order"].dropna()
        records.append(
            {
                "method": method,
                "dtype": dtype,
                "expected_order": group["expected_order"].iloc[0],
                "curves": len(group),
                "fitted": len(fitted),
                "exact": int((group["order_note"] == EXACT_HERE).sum()),
                "q25": fitted.quantile(0.25) if len(fitted) else np.nan,
                "median": fitted.median() if len(fitted) else np.nan,
                "q75": fitted.quantile(0.75) if len(fitted) else np.nan,
                "rounding": group["rounding"].median(),
                "expected_rounding": group["expected_rounding"].iloc[0],
            }
        )
    table = pd.DataFrame.from_records(records)
    rank = {m: i for i, m in enumerate(method_order(table["method"]))}
    table = table.sort_values(
        ["dtype", "method"], key=lambda s: s.map(rank) if s.name == "method" else s
    )
    return table.assign(method=table["method"].map(method_name))


def _order_figure(orders: pd.DataFrame, dtype: str) -> Figure:
    """Per function, the median fitted order of each rule (side by side) over the rules' orders.

    Only fitted orders are drawn: a rule exact at every point of a function has no marker.
    """
    rows = orders[(orders["dtype"] == dtype) & orders["order"].notna()]
    functions = list(pd.unique(rows["function"]))
    methods = method_order(rows["method"].unique())
    fig, (ax,) = figure_with_panels((8.6, 4.2))
    xs = {name: i for i, name in enumerate(functions)}
    width = 0.6 / max(len(methods), 1)
    for i, method in enumerate(methods):
        mine = rows[rows["method"] == method]
        per = mine.groupby("function", sort=False)["order"].median()
        color = method_color(method)
        ax.axhline(float(mine["expected_order"].iloc[0]), color=color, ls="--", lw=0.8)
        dodge = (i - (len(methods) - 1) / 2) * width
        ax.plot(
            [xs[f] + dodge for f in per.index],
            per.to_numpy(dtype=float),
            ls="none",
            marker=_MARKERS[i % len(_MARKERS)],
            color=color,
            label=method_name(method),
            ms=6,
        )
    ax.set_xticks(range(len(functions)), functions, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("observed order p (truncation side)")
    ax.set_title(f"Observed order of accuracy per function, {dtype} (dashed: the rule's p)")
    ax.title.set_fontsize(10)
    ax.grid(True, axis="y", alpha=0.3)
    exact = orders[(orders["dtype"] == dtype) & (orders["order_note"] == EXACT_HERE)]
    note = f"{len(exact)} curves exact (no truncation side): not drawn" if len(exact) else ""
    legend_with_notes(ax, None, [note])
    return fig


def order_section(frame: pd.DataFrame) -> Section | None:
    """Observed against theoretical order of accuracy of every swept rule."""
    grid = step_grid_rows(noise_free_off_kinks(frame))
    if grid.empty:
        return None
    orders = _orders(grid)
    if orders["order"].notna().sum() == 0:
        return None
    dtype = main_dtype(grid)
    table = Table(
        "Fitted order per rule: quantiles over curves (functions x points) with a truncation"
        " side; curves where the rule is exact are counted, not fitted",
        _order_table(orders),
        formats={c: "fixed" for c in ("q25", "median", "q75", "rounding", "expected_rounding")}
        | {"expected_order": "int", "curves": "int", "fitted": "int", "exact": "int"},
        headers={
            "expected_order": "rule order p",
            "curves": "curves",
            "fitted": "fitted",
            "exact": "exact here",
            "q25": "observed p (25%)",
            "median": "observed p (median)",
            "q75": "observed p (75%)",
            "rounding": "rounding slope (median)",
            "expected_rounding": "theory slope",
        },
    )
    return Section(
        key="order",
        title="Order of accuracy: observed against theory",
        paragraphs=(
            "On the truncation side of each V-curve the error falls like h^p, p the rule's order;"
            f" p is fitted there (steps above {ORDER_FIT_MARGIN:g} x the observed optimum)."
            " On the rounding side it grows like eps/h^n: slope -n (0 for the complex step,"
            " which subtracts nothing). Kinks and noisy rows are left out.",
            "An order is fitted only where the rule has a truncation side: errors above"
            f" {ORDER_FIT_EPS:g} eps (rounding level) that rise with h by {ORDER_FIT_SPAN:g}x"
            f" or more over at least {ORDER_FIT_SPAN:g}x in h. Where a rule is exact (central"
            " differences on a parabola, the fourth-order rule on a quartic) its error stays at"
            " rounding level at every step: such curves are counted as exact here, and have no"
            " fitted order in the table or the chart.",
        ),
        tables=(table,),
        images=(
            Image(
                f"Observed order per function ({dtype}); rules exact at a function's points"
                " have no marker there",
                "figures/order.png",
                png_bytes(_order_figure(orders, dtype)),
            ),
        ),
    )
