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
from . import notebook  # noqa: F401  (IPython shows figures as images; dk.report callable)
from .tables import (
    error_curves,
    error_label,
    method_name,
    method_order,
    point_text,
    predicted_optimum,
    relative_model,
)

__all__ = [
    "ERROR_CAP",
    "ERROR_FLOOR",
    "chartable",
    "error_limits",
    "hidden_note",
    "legend_with_notes",
    "method_color",
    "png_bytes",
    "power_text",
    "vcurve_figure",
]

# Errors of exactly 0 (an exact rule, or a lucky rounding) are drawn here so log axes work.
ERROR_FLOOR = 1e-17
# An error axis stops here (a relative error of 1e4: no digit right, by far), unless the
# chart's typical error is itself that large; points above are counted in a note.
ERROR_CAP = 1e4

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
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
)
_AUTO_METHODS = ("fd-richardson-auto", "fd-central-auto", "fd-complex-auto", "fd-forward-auto")
# The report's usual backends get colors of their own: hashed ones could coincide.
_BACKENDS = ("fd-contour-auto", "reverse", "symbolic", "torch", "jax")
_FIXED_COLORS = {
    method_name(label): _PALETTE[i % len(_PALETTE)]
    for i, label in enumerate([*(m.label for m in FD_METHODS), *_AUTO_METHODS, *_BACKENDS])
}


def method_color(method: str) -> str:
    """The color of ``method`` in every chart: fixed for known methods, a stable hash otherwise.

    A frame's label and its ``method_name`` have the same color.
    """
    name = method_name(method)
    known = _FIXED_COLORS.get(name)
    if known is not None:
        return known
    return _PALETTE[zlib.crc32(name.encode("utf-8")) % len(_PALETTE)]


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
    where = f"x = {point_text(label)}" if not multivariate else f"({point_text(label)})"
    return f"{f.name} at {where}, {dtype}"


def chartable(rows: pd.DataFrame) -> bool:
    """Whether rows (of one function, point and dtype) give a chart anything to draw.

    A point where every estimate failed, or whose derivative is infinite (sqrt at 0),
    has no finite error: ``vcurve_figure`` would draw an empty frame.
    """
    return not error_curves(rows).empty


def power_text(value: float) -> str:
    """A power of ten as a reader writes it: 1e4, 1e-17 (other values in %.1e)."""
    exponent = np.log10(value) if value > 0 else np.nan
    if np.isfinite(exponent) and abs(exponent - round(exponent)) < 1e-9:
        return f"1e{round(exponent)}"
    return f"{value:.1e}"


def error_limits(values: Any, cap: float = ERROR_CAP) -> tuple[float, float, int]:
    """(bottom, top, hidden) of a log error axis, chosen from the errors that matter.

    The axis runs from a little below the least error to a little above the largest
    error at most ``cap`` (or 100 x the median error, when that is larger): a rule's
    error at a step comparable to the scale of f (1e84 for exp(100 x) at h = 1) would
    squash every other curve to a line. ``hidden`` counts the points above, which
    the chart must name (``legend_with_notes``). Errors are drawn at ``ERROR_FLOOR`` or above.
    """
    flat = np.asarray(values, dtype=float).reshape(-1)
    flat = flat[np.isfinite(flat) & (flat > 0)]
    if flat.size == 0:
        return ERROR_FLOOR, 1.0, 0
    top_cap = max(cap, 100.0 * float(np.median(flat)))
    kept = flat[flat <= top_cap]
    hidden = int(flat.size - kept.size)
    if kept.size == 0:
        return ERROR_FLOOR, top_cap, hidden
    low = max(ERROR_FLOOR / 3, float(kept.min()) / 30)
    high = top_cap if hidden else max(min(float(kept.max()) * 30, top_cap), 1e-8)
    return low, max(high, low * 10), hidden


def hidden_note(hidden: int, top: float) -> str:
    """The note naming the points an axis leaves out ("" when none)."""
    if hidden == 0:
        return ""
    return f"{hidden} point{'s' if hidden > 1 else ''} above {power_text(top)} not shown"


def legend_with_notes(
    ax: Axes,
    handles: list[Any] | None = None,
    notes: list[str] | tuple[str, ...] = (),
    *,
    inside: bool = False,
) -> None:
    """The legend right of the axes (``inside``: where it fits best); notes are its title.

    Only what is drawn gets an entry: callers pass the handles of drawn artists (or
    proxies standing for a style that is drawn; None: the axes' labelled artists), and
    their notes (which have no symbol of their own) apart.
    """
    text = "\n".join(n for n in notes if n)
    kwargs: dict[str, Any] = dict(fontsize=8, frameon=False)
    kwargs.update(
        dict(loc="best") if inside else dict(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    )
    if text:
        kwargs.update(title=text, title_fontsize=8, alignment="left")
    if handles is None:
        handles = list(ax.get_legend_handles_labels()[0])
    if handles or text:
        ax.legend(handles=handles, **kwargs)


def vcurve_figure(
    frame: pd.DataFrame,
    f: Function,
    point: Any,
    *,
    dtype: str = "float64",
    ax: Axes | None = None,
) -> Figure:
    """Log-log error against step h for ``f`` at ``point``: one V-curve per FD rule.

    The error is relative, or absolute where the true derivative is 0, and the y label
    says which (``error_label``). Over each observed curve (solid) the theory of
    ``analysis.theory`` is drawn: truncation C h^p and rounding eps sum|w| |f| / h^n
    dashed, their sum thin, with the predicted optimum (h*, minimal error) as an open
    diamond and the observed best as a star. Backends that choose their own step are
    single large dots; those without one step (exact backends, a gradient's step per
    variable) are dotted horizontal lines at their error, one per distinct error.
    ``point`` is a point of ``f`` or the frame's label of it. Rows that are not ok are
    left out; an error of 0 is drawn at ``ERROR_FLOOR``; the y axis stops at
    ``error_limits``' top and the legend's title counts the points above it. Every
    legend entry is drawn (notes are the legend's title). Methods appear under their
    ``method_name``.
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
    diamonds = stars = False

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
        (line,) = ax.plot(
            h, shown, "-", marker=".", ms=3, lw=1.5, color=color, label=method_name(method)
        )
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
        stars = True
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
            diamonds = True

    auto = curves[~curves["grid"].astype(bool)]
    # (error as text, why no step) -> the methods at that level, drawn as one line
    levels: dict[tuple[str, str], list[str]] = {}
    level_color: dict[tuple[str, str], str] = {}
    for method in method_order(auto["method"].unique()):
        point_rows = auto[auto["method"] == method]
        err = point_rows["err"].to_numpy(dtype=float)
        clipped |= bool(np.any(err < ERROR_FLOOR))
        shown = np.maximum(err, ERROR_FLOOR)
        observed.append(shown)
        if not np.isfinite(point_rows["h"].to_numpy(dtype=float)).all():
            # No single step to place it at (exact backends; a gradient's step per variable):
            # its error does not depend on h, so it is a level across the chart.
            largest = float(err.max())
            why = "a step per variable" if str(method).startswith("fd-") else "no step"
            key = ("0" if largest == 0 else f"{largest:.1e}", why)
            levels.setdefault(key, []).append(method_name(method))
            level_color.setdefault(key, method_color(method))
            continue
        (dot,) = ax.plot(
            point_rows["h"],
            shown,
            ls="none",
            marker="o",
            ms=9,
            color=method_color(method),
            mec="black",
            mew=0.8,
            label=f"{method_name(method)} (own h)",
            zorder=5,
        )
        handles.append(dot)
    for (text, why), names in levels.items():
        level = ax.axhline(
            max(float(text), ERROR_FLOOR),
            ls=":",
            lw=1.4,
            color=level_color[(text, why)],
            label=f"{', '.join(names)}: {why}, error {text}",
            zorder=3,
        )
        handles.append(level)

    gray = "0.35"
    if theory_drawn:
        handles += [
            Line2D([], [], ls="--", lw=1.0, label="theory: truncation, rounding", color=gray),
            Line2D([], [], ls="-", lw=0.6, label="theory: their sum", color=gray),
        ]
    if diamonds:
        handles.append(
            Line2D(
                [], [], ls="none", marker="D", mfc="white", mec=gray, label="predicted optimum h*"
            )
        )
    if stars:
        handles.append(
            Line2D(
                [], [], ls="none", marker="*", ms=10, mec="black", label="observed best", color=gray
            )
        )

    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step h")
    ax.set_ylabel(error_label(curves["kind"].unique(), multivariate))
    ax.set_title(_title(f, label, dtype, multivariate), fontsize=11)
    ax.grid(True, which="major", alpha=0.3)
    if observed:
        low, top, hidden = error_limits(np.concatenate(observed))
        ax.set_ylim(low, top)
        ax.set_xlim(h_span[0] / 3, h_span[1] * 3)
        notes = [
            f"error 0 drawn at {power_text(ERROR_FLOOR)}" if clipped else "",
            hidden_note(hidden, top),
        ]
        legend_with_notes(ax, handles, notes)
    else:
        ax.set_xlim(h_span[0], h_span[1])
        ax.set_ylim(ERROR_FLOOR, 1.0)
        ax.text(
            0.5,
            0.5,
            f"no finite error to plot:\n{_why_empty(rows)}",
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
