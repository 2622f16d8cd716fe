"""Charts of the report: each function builds and returns a ``matplotlib.figure.Figure``.

No ``pyplot`` anywhere: figures are created directly and drawn on the Agg canvas, so
building a report leaves no global plotting state behind and works without a display.
Every function that draws on axes takes ``ax=`` to draw into a caller's figure.
"""

from __future__ import annotations

import io
import zlib
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..function import Function
from ..rows import NO_TRUTH
from ..sweep import FD_METHODS, point_label
from .tables import error_curves, method_order, predicted_optimum, relative_model

__all__ = ["ERROR_FLOOR", "method_color", "png_bytes", "vcurve_figure"]

# Errors of exactly 0 (an exact rule, or a lucky rounding) are drawn here so log axes work.
ERROR_FLOOR = 1e-17

_PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)
_AUTO_METHODS = ("fd-richardson-auto", "fd-central-auto", "fd-complex-auto", "fd-forward-auto")
_FIXED_COLORS = {
    label: _PALETTE[i % len(_PALETTE)]
    for i, label in enumerate([*(m.label for m in FD_METHODS), *_AUTO_METHODS])
}


def method_color(method: str) -> str:
    """The color of ``method`` in every chart: fixed for known methods, a stable hash otherwise."""
    known = _FIXED_COLORS.get(method)
    if known is not None:
        return known
    return _PALETTE[zlib.crc32(method.encode("utf-8")) % len(_PALETTE)]


def _figure_and_axes(
    ax: Axes | None, size: tuple[float, float] = (8.6, 4.8)
) -> tuple[Figure, Axes]:
    if ax is not None:
        fig = ax.get_figure(root=True)
        if not isinstance(fig, Figure):
            raise ValueError("ax must belong to a matplotlib Figure")
        return fig, ax
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def png_bytes(fig: Figure, *, dpi: int = 100) -> bytes:
    """The figure as PNG bytes, without the software tag, so equal figures give equal bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _select(frame: pd.DataFrame, f: Function, point: Any, dtype: str) -> pd.DataFrame:
    label = point if isinstance(point, str) else point_label(point)
    mask = (frame["function"] == f.name) & (frame["point"] == label) & (frame["dtype"] == dtype)
    return frame[mask]


def _title(f: Function, label: str, dtype: str, multivariate: bool) -> str:
    where = f"x = {label}" if not multivariate else f"({label})"
    return f"{f.name} at {where}, {dtype}"


def vcurve_figure(
    frame: pd.DataFrame,
    f: Function,
    point: Any,
    *,
    dtype: str = "float64",
    ax: Axes | None = None,
) -> Figure:
    """Log-log relative error against step h for ``f`` at ``point``: one V-curve per FD rule.

    Over each observed curve (solid) the theory of ``analysis.theory`` is drawn:
    truncation C h^p and rounding eps sum|w| |f| / h^n dashed, their sum thin, with the
    predicted optimum (h*, minimal error) as an open diamond and the observed best as
    a star. Backends that choose their own step are single large dots. ``point`` is a
    point of ``f`` or the frame's label of it. Rows that are not ok are left out;
    an error of 0 is drawn at ``ERROR_FLOOR``.
    """
    fig, ax = _figure_and_axes(ax)
    rows = _select(frame, f, point, dtype)
    curves = error_curves(rows)
    label = point if isinstance(point, str) else point_label(point)
    # A plain callable's variables come from its points: the rows know, the Function may not.
    multivariate = f.ndim > 1 or bool((rows["component"] > 0).any())
    observed: list[np.ndarray] = []
    clipped = False
    handles: list[Line2D] = []

    fd = curves[curves["grid"].astype(bool)]
    h_all = fd["h"].to_numpy(dtype=float)
    h_span = (float(h_all.min()), float(h_all.max())) if h_all.size else (1e-16, 1.0)
    theory_drawn = False
    for method in method_order(fd["method"].unique()):
        curve = fd[fd["method"] == method].sort_values("h", kind="mergesort")
        color = method_color(method)
        h = curve["h"].to_numpy(dtype=float)
        err = curve["err"].to_numpy(dtype=float)
        clipped |= bool(np.any(err < ERROR_FLOOR))
        shown = np.maximum(err, ERROR_FLOOR)
        observed.append(shown)
        (line,) = ax.plot(h, shown, "-", marker=".", ms=3, lw=1.5, color=color, label=method)
        handles.append(line)
        best = int(np.argmin(err))
        ax.plot(
            [h[best]],
            [shown[best]],
            ls="none",
            marker="*",
            ms=12,
            color=color,
            mec="black",
            mew=0.6,
            label="_observed best",
            zorder=4,
        )
        found = relative_model(f, curve.iloc[0], dtype)
        if found is None:
            continue
        model, scale = found
        theory_drawn = True
        hs = np.geomspace(h_span[0], h_span[1], 200)
        ax.plot(
            hs,
            model.truncation(hs) / scale,
            "--",
            lw=1.0,
            label="_truncation",
            color=color,
            alpha=0.75,
        )
        ax.plot(
            hs,
            np.broadcast_to(model.rounding(hs), hs.shape) / scale,
            "--",
            lw=1.0,
            label="_rounding",
            color=color,
            alpha=0.75,
        )
        ax.plot(
            hs, model.total(hs) / scale, "-", lw=0.6, label="_theory sum", color=color, alpha=0.75
        )
        h_star, e_star = predicted_optimum(model)
        e_star /= scale
        if np.isfinite(h_star) and np.isfinite(e_star) and e_star > 0:
            ax.plot(
                [h_star],
                [e_star],
                ls="none",
                marker="D",
                ms=7,
                mfc="white",
                mec=color,
                mew=1.5,
                label="_predicted optimum",
                zorder=4,
            )

    auto = curves[~curves["grid"].astype(bool)]
    for method in method_order(auto["method"].unique()):
        point_rows = auto[auto["method"] == method]
        if not np.isfinite(point_rows["h"].to_numpy(dtype=float)).all():
            # No single step to place it at (a gradient takes one per variable): legend only.
            text = ", ".join(f"{e:.1e}" for e in point_rows["err"])
            handles.append(
                Line2D(
                    [],
                    [],
                    ls="none",
                    marker="o",
                    mfc="white",
                    mec=method_color(method),
                    label=f"{method}: error {text} (no single h)",
                )
            )
            continue
        err = point_rows["err"].to_numpy(dtype=float)
        clipped |= bool(np.any(err < ERROR_FLOOR))
        shown = np.maximum(err, ERROR_FLOOR)
        observed.append(shown)
        (dot,) = ax.plot(
            point_rows["h"],
            shown,
            ls="none",
            marker="o",
            ms=9,
            color=method_color(method),
            mec="black",
            mew=0.8,
            label=f"{method} (own h)",
            zorder=5,
        )
        handles.append(dot)

    gray = "0.35"
    if theory_drawn:
        handles += [
            Line2D([], [], ls="--", lw=1.0, label="theory: truncation, rounding", color=gray),
            Line2D([], [], ls="-", lw=0.6, label="theory: their sum", color=gray),
            Line2D(
                [], [], ls="none", marker="D", mfc="white", mec=gray, label="predicted optimum h*"
            ),
        ]
    if observed:
        handles.append(
            Line2D(
                [], [], ls="none", marker="*", ms=10, mec="black", label="observed best", color=gray
            )
        )
    if clipped:
        handles.append(Line2D([], [], ls="none", label=f"(error 0 drawn at {ERROR_FLOOR:.0e})"))

    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error" + (" (normwise, gradient)" if multivariate else ""))
    ax.set_title(_title(f, label, dtype, multivariate), fontsize=11)
    ax.grid(True, which="major", alpha=0.3)
    if observed:
        values = np.concatenate(observed)
        ax.set_ylim(max(ERROR_FLOOR / 3, values.min() / 30), max(values.max() * 30, 1e-8))
        ax.set_xlim(h_span[0] / 3, h_span[1] * 3)
        ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
        )
    else:
        ax.set_xlim(h_span[0], h_span[1])
        ax.set_ylim(ERROR_FLOOR, 1.0)
        ax.text(
            0.5,
            0.5,
            f"no finite relative error to plot:\n{_why_empty(rows)}",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color="0.35",
        )
    return fig


def _why_empty(rows: pd.DataFrame) -> str:
    """Why a chart has no curve, in a few words (the failure table has the details)."""
    truth = rows["truth"].to_numpy(dtype=float)
    if rows.empty:
        return "the frame has no rows for this point"
    if np.all(np.isnan(truth)) and (rows["status"] == NO_TRUTH).any():
        return "no exact derivative to measure against (see No exact reference)"
    if np.any(np.isinf(truth)):
        return "the true derivative is infinite here"
    return "no row has status ok (see the rows not ok)"
