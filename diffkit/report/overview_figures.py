"""The verdict's overview chart (accuracy against cost, Pareto front) and the calibration section.

``pareto_figure`` draws one marker per method of ``verdict_section.method_stats``:
median relative error against median evaluations of f and median seconds per
estimate, with the Pareto front (the methods no other is both cheaper and more
accurate than). ``calibration_section`` sets the error estimate a method reports
(``error_estimate``: Richardson, the contour rule, the rules run with h="auto")
against the error it actually made, the diagonal drawn: a point above it is an
estimate that was too small. Both are pure functions of the frame; ``page_png``
renders a chart at the resolution of the page, as a palette PNG.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..rows import USABLE
from .figures import ERROR_FLOOR, method_color, png_bytes
from .section_helpers import blank_figure
from .sections import Image, Section, Table
from .tables import method_name, method_order, point_text
from .verdict_section import fmt_err

__all__ = [
    "PAGE_DPI",
    "calibration_rows",
    "calibration_section",
    "calibration_table",
    "page_png",
    "pareto_figure",
    "pareto_front",
]

# Charts are drawn at their size in inches times this: 100 px per inch puts an 8.6 in
# V-curve at 860 px, its width on the page (whose column is at most 1100 px).
PAGE_DPI = 100
# Where a cost of 0 (derivative code makes no call of f through the counter) is drawn.
_ZERO_COST = 0.3


def page_png(fig: Figure, *, dpi: int = PAGE_DPI) -> bytes:
    """The figure as a PNG for the page: ``png_bytes`` at ``dpi``, as 256-color palette.

    Line charts hold a few dozen colors and their antialiasing, so the palette loses
    nothing visible and a third of the bytes remain. Equal figures give equal bytes.
    """
    data = png_bytes(fig, dpi=dpi)
    try:
        from PIL import Image as PILImage
    except ImportError:  # matplotlib needs Pillow; without it, the plain PNG
        return data
    with PILImage.open(io.BytesIO(data)) as image:
        palette = image.convert("RGB").quantize(
            colors=256, method=PILImage.Quantize.FASTOCTREE, dither=PILImage.Dither.NONE
        )
    out = io.BytesIO()
    palette.save(out, format="PNG")
    return out.getvalue()


# ---------------------------------------------------------------------- Pareto


def pareto_front(cost: np.ndarray, err: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both cost and error, by increasing cost."""
    cost, err = np.asarray(cost, dtype=float), np.asarray(err, dtype=float)
    order = np.lexsort((err, cost))
    front, best = [], np.inf
    for i in order:
        if err[i] < best:
            front.append(int(i))
            best = err[i]
    return np.asarray(front, dtype=int)


def _marker(row: pd.Series) -> dict[str, Any]:
    color = method_color(str(row["method"]))
    if row["grid"]:  # at its best grid step: a bound, drawn open
        return {"marker": "s", "mfc": "white", "mec": color, "mew": 1.6, "ms": 8}
    if row["code"]:
        return {"marker": "D", "color": color, "mec": "black", "mew": 0.6, "ms": 8}
    return {"marker": "o", "color": color, "mec": "black", "mew": 0.6, "ms": 9}


def _pareto_panel(ax: Axes, stats: pd.DataFrame, cost: str, label: str) -> None:
    rows = stats[(stats["rel_count"] > 0) & np.isfinite(stats[cost].to_numpy(dtype=float))]
    x = rows[cost].to_numpy(dtype=float)
    zero = x <= 0
    x = np.where(zero, _ZERO_COST, x)
    err = rows["rel_median"].to_numpy(dtype=float)
    y = np.maximum(err, ERROR_FLOOR)
    front = pareto_front(np.where(zero, 0.0, x), err)
    if front.size:
        fx, fy = x[front], y[front]
        ax.step(
            np.concatenate([fx, [fx[-1] * 30]]),
            np.concatenate([fy, [fy[-1]]]),
            where="post",
            color="0.55",
            lw=1.2,
            ls="--",
            zorder=1,
        )
    # Methods that land within a quarter decade of each other share one label.
    labels: dict[tuple[int, int], list[str]] = {}
    where: dict[tuple[int, int], tuple[float, float]] = {}
    for (_, row), xi, yi in zip(rows.iterrows(), x, y, strict=True):
        ax.plot([xi], [yi], ls="none", zorder=3, **_marker(row))
        key = (round(float(np.log10(xi)) * 4), round(float(np.log10(yi)) * 4))
        labels.setdefault(key, []).append(method_name(row["method"]))
        where.setdefault(key, (float(xi), float(yi)))
    for key, names in labels.items():
        xi, yi = where[key]
        floor = yi <= ERROR_FLOOR  # the crowded row of exact methods: labels slanted up
        ax.annotate(
            " / ".join(names),
            (xi, yi),
            xytext=(4, 7) if floor else (6, 4),
            textcoords="offset points",
            fontsize=7.5,
            color="0.15",
            rotation=35 if floor else 0,
            rotation_mode="anchor",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(label, fontsize=9)
    ax.set_ylabel("median relative error", fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.tick_params(labelsize=8)
    if x.size:
        ax.set_xlim(x.min() / 3, x.max() * 30)
        ax.set_ylim(ERROR_FLOOR / 5, max(float(y.max()) * 30, 1e-6))
    if (err <= 0).any():  # exact zeros: the floor gets its own tick
        ticks = [t for t in ax.get_yticks() if t >= ERROR_FLOOR * 10]
        ax.set_yticks([ERROR_FLOOR, *ticks])
        ax.set_yticklabels(["0", *(f"$10^{{{np.log10(t):.0f}}}$" for t in ticks)])
        ax.set_ylim(ERROR_FLOOR / 5, max(float(y.max()) * 30, 1e-6))
    if zero.any():
        ticks = [t for t in ax.get_xticks() if t > _ZERO_COST * 2]
        ax.set_xticks([_ZERO_COST, *ticks])
        ax.set_xticklabels(["0", *(f"$10^{{{np.log10(t):.0f}}}$" for t in ticks)])
        ax.set_xlim(_ZERO_COST / 3, max(x.max() * 30, 10.0))


def pareto_figure(stats: pd.DataFrame, dtype: str) -> Figure:
    """Median relative error against cost per method: evaluations of f (top), seconds (bottom).

    Filled circles choose their own step, diamonds differentiate f's code, open squares
    are grid rules at their best step (a bound); the dashed staircase is the Pareto
    front; an error of 0 sits at ``ERROR_FLOOR``, a cost of 0 at the axis' "0".
    """
    fig = blank_figure((5.4, 6.0))
    top, bottom = fig.subplots(2, 1)
    _pareto_panel(top, stats, "nfev", "evaluations of f per estimate (median)")
    _pareto_panel(bottom, stats, "seconds", "seconds per estimate (median)")
    fig.suptitle(f"Accuracy against cost, {dtype}, noise-free", fontsize=10)
    handles = [
        Line2D([], [], ls="none", marker="o", color="0.5", mec="black", label="own step"),
        Line2D([], [], ls="none", marker="D", color="0.5", mec="black", label="derivative code"),
        Line2D([], [], ls="none", marker="s", mfc="white", mec="0.3", label="grid rule, best h"),
        Line2D([], [], ls="--", color="0.55", label="Pareto front"),
    ]
    top.legend(handles=handles, fontsize=7, loc="upper right", frameon=False, ncol=2)
    return fig


# ---------------------------------------------------------------------- calibration


def calibration_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with an error estimate and an actual error to set it against (usable, finite truth).

    Adds ``ratio``: actual error / estimate (inf for an estimate of 0 that was wrong).
    """
    if frame.empty or "error_estimate" not in frame:
        return frame.iloc[0:0].assign(ratio=[])
    estimate = frame["error_estimate"].to_numpy(dtype=float)
    actual = frame["abs_err"].to_numpy(dtype=float)
    keep = (
        np.isfinite(estimate)
        & np.isfinite(actual)
        & np.isfinite(frame["truth"].to_numpy(dtype=float))
        & frame["status"].isin(USABLE).to_numpy()
    )
    rows = frame[keep]
    est, act = estimate[keep], actual[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(est > 0, act / np.where(est > 0, est, 1.0), np.where(act > 0, np.inf, 0.0))
    return rows.assign(ratio=ratio)


def calibration_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per method and dtype: estimates, how many held (actual <= estimate), median and worst ratio."""
    records = []
    for method in method_order(rows["method"].unique()):
        mine = rows[rows["method"] == method]
        for dtype, group in mine.groupby("dtype", sort=True):
            worst = group.iloc[int(np.argmax(group["ratio"].to_numpy(dtype=float)))]
            records.append(
                {
                    "method": method_name(method),
                    "dtype": str(dtype),
                    "estimates": len(group),
                    "held": int((group["abs_err"] <= group["error_estimate"]).sum()),
                    "median_ratio": float(group["ratio"].median()),
                    "worst_ratio": float(worst["ratio"]),
                    "worst_at": f"{worst['function']} at {point_text(worst['point'])}"
                    + (f", noise {worst['noise']:g}" if worst.get("noise", 0) else "")
                    + (", a kink" if worst.get("kink", False) else ""),
                }
            )
    return pd.DataFrame.from_records(
        records,
        columns=["method", "dtype", "estimates", "held", "median_ratio", "worst_ratio", "worst_at"],
    )


def calibration_figure(rows: pd.DataFrame) -> Figure:
    """Actual error against the method's own estimate, log-log, with the diagonal y = x.

    Above the diagonal (shaded) the estimate was too small. Markers: circles noise-free
    float64, triangles other dtypes, crosses noisy values; zeros sit at ``ERROR_FLOOR``.
    """
    fig = blank_figure((7.6, 4.6))
    ax = fig.add_subplot()
    est = np.maximum(rows["error_estimate"].to_numpy(dtype=float), ERROR_FLOOR)
    act = np.maximum(rows["abs_err"].to_numpy(dtype=float), ERROR_FLOOR)
    low = float(min(est.min(), act.min())) / 3 if est.size else ERROR_FLOOR
    high = float(max(est.max(), act.max())) * 3 if est.size else 1.0
    ax.fill_between([low, high], [low, high], [high, high], color="#d62728", alpha=0.06, lw=0)
    ax.plot([low, high], [low, high], color="0.3", lw=1.0, label="actual = estimate")
    noise = rows["noise"].to_numpy(dtype=float) if "noise" in rows else np.zeros(len(rows))
    dtype = rows["dtype"].astype(str).to_numpy()
    others = sorted(set(dtype) - {"float64"})
    for method in method_order(rows["method"].unique()):
        mine = (rows["method"] == method).to_numpy()
        color = method_color(str(method))
        kinds = [(mine & (noise == 0) & (dtype == "float64"), "o", "")]
        kinds += [(mine & (noise == 0) & (dtype == d), "^", f" ({d})") for d in others]
        kinds += [(mine & (noise > 0), "x", " (noisy)")]
        for mask, marker, suffix in kinds:
            if mask.any():
                ax.plot(
                    est[mask],
                    act[mask],
                    ls="none",
                    marker=marker,
                    ms=6,
                    color=color,
                    mec=color if marker == "x" else "black",
                    mew=0.5 if marker != "x" else 1.4,
                    alpha=0.85,
                    label=f"{method_name(method)}{suffix}",
                )
    if (rows["abs_err"] <= 0).any() or (rows["error_estimate"] <= 0).any():
        ax.plot([], [], ls="none", label=f"(0 drawn at {ERROR_FLOOR:.0e})")
    ax.text(
        0.03,
        0.95,
        "above the line: the estimate was too small",
        transform=ax.transAxes,
        fontsize=8,
        color="#a40000",
        va="top",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("error estimate the method reported")
    ax.set_ylabel("actual absolute error")
    ax.set_title("Error estimates against actual errors", fontsize=11)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


_CALIBRATION_PATH = "figures/calibration.png"


def calibration_section(frame: pd.DataFrame) -> Section:
    """The calibration section: the chart, the table per method, and what they say."""
    rows = calibration_rows(frame)
    has_estimates = "error_estimate" in frame and bool(frame["error_estimate"].notna().any())
    if rows.empty:
        why = (
            "No method in this report gives an error estimate (Richardson, the contour rule "
            "and the rules run with h='auto' do)."
            if not has_estimates
            else "The estimates this report has cannot be checked: none of their points has an "
            "exact derivative (or a usable value)."
        )
        return Section(
            key="calibration", title="Error estimates against actual errors", paragraphs=(why,)
        )
    table = calibration_table(rows)
    lines = []
    for _, row in table.iterrows():
        head = f"{row['method']} ({row['dtype']}): "
        if row["held"] == row["estimates"]:
            lines.append(
                head + f"the estimate held in all {row['estimates']} rows (the actual error "
                f"at most {_times(row['worst_ratio'])} it, median {_times(row['median_ratio'])})."
            )
        else:
            lines.append(
                head + f"the estimate held (actual error <= estimate) in {row['held']} of "
                f"{row['estimates']} rows; at worst the actual error was "
                f"{_times(row['worst_ratio'])} the estimate ({row['worst_at']})."
            )
    fig = calibration_figure(rows)
    png = page_png(fig)
    fig.clear()
    lead = (
        "A method that estimates its own error can be trusted as far as the estimate holds. "
        "Each point is one derivative value (one gradient component): its reported error "
        "estimate against the actual absolute error, from the rows with an exact derivative. "
        "Points above the diagonal are estimates that were too small."
    )
    return Section(
        key="calibration",
        title="Error estimates against actual errors",
        paragraphs=(lead, *lines),
        tables=(
            Table(
                caption="Calibration per method and dtype (ratio = actual error / estimate)",
                frame=table,
                formats={
                    "estimates": "int",
                    "held": "int",
                    "median_ratio": "sci",
                    "worst_ratio": "sci",
                },
                headers={
                    "held": "held (actual <= estimate)",
                    "median_ratio": "median ratio",
                    "worst_ratio": "worst ratio",
                    "worst_at": "worst at",
                },
            ),
        ),
        images=(
            Image(
                caption="Error estimate against actual error per method; above the diagonal "
                "the estimate was too small",
                path=_CALIBRATION_PATH,
                data=png,
            ),
        ),
    )


def _times(ratio: float) -> str:
    if not np.isfinite(ratio):
        return "infinitely many times (an estimate of 0)"
    return f"{ratio:.2g} times" if ratio >= 1e-3 else f"{fmt_err(ratio)} times"
